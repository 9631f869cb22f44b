"""The tools generator: a trained generator (``training.fitting.model.Generator``) with a context encoder
beside it, so it can be told what is given (hits, velocities and offsets of some cells; a rhythm; the task)
and fill in the rest. And the critic that also knows the task (so a fill is judged as a fill).

The encoder reads each bar of what is given, ``[known 3*V*S, mask 2*V*S, rhythm S]`` (736 numbers for 9
voices of 16 steps), into a code per bar; a summary of all bars, the task and which sliders are given goes
into every bar code of the generator's trunk, each bar's own code into its decoder, and a linear skip from a
bar's input into its output logits lets a given cell reach its own output directly (Groove needs the exact
hits). Every path from the encoder starts at zero, so before training the tools generator IS the generator
it was made from. Sliders not given arrive as -1 (``companion.runtime.completion.UNKNOWN``): the generator
sees its default 0.5 there and the encoder sees which ones are missing; a style not given is index
``n_styles`` (a learnt embedding of "unknown style").
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from companion.core.pattern import Grid
from training.fitting.config import TrainConfig
from training.fitting.model import N_PLANES, Critic, Generator

log = logging.getLogger(__name__)

GROOVE_TASK = 1  # its column in the task one-hot (companion.runtime.tools_model.TASKS)
GROOVE_KNOTS = 65  # knots of the Groove head's calibration per voice and plane (training/tools/calibrate.py)
PLANE_RANGE = ((0.0, 1.0), (-0.5, 0.5))  # velocity, offset in steps: what the head's outputs can be


class ToolsGenerator(nn.Module):
    groove_x: torch.Tensor  # buffers: the Groove calibration's knots [2, V, K]
    groove_y: torch.Tensor

    def __init__(
        self,
        base: Generator,
        n_tasks: int,
        enc_hidden: int = 256,
        enc_dim: int = 128,
        groove_hidden: int = 512,
    ) -> None:
        super().__init__()
        self.base = base
        self.n_tasks = n_tasks
        self.bars, self.steps, self.voices = base.bars, base.steps_per_bar, base.n_voices
        self.n_conditions, self.n_styles = base.n_conditions, base.n_styles
        bar_in = (
            5 * self.voices * self.steps + self.steps
        )  # known (3 planes) + mask (2) per cell, rhythm per step
        self.bar_in = bar_in
        style_dim = base.style_embedding.embedding_dim if base.style_embedding is not None else 0
        self.unknown_style = nn.Parameter(torch.zeros(style_dim)) if base.n_styles else None
        self.encoder = nn.Sequential(
            nn.Linear(bar_in, enc_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(enc_hidden, enc_dim),
            nn.LeakyReLU(0.2),
        )
        self.summary = nn.Sequential(
            nn.Linear(self.bars * enc_dim + n_tasks + self.n_conditions, enc_hidden), nn.LeakyReLU(0.2)
        )
        # each bar also sees the bar before it and the one two before (a beat repeats every one or two bars:
        # Continue and Fill can play on from what is given there)
        self.to_code = nn.Linear(enc_hidden + 3 * enc_dim, base.bar_dim)  # added to each bar's code
        self.to_hidden = nn.Linear(3 * enc_dim + n_tasks, base.decoder_in.out_features)  # to the decoder
        cells = self.voices * self.steps
        self.skip = nn.Linear(bar_in + 2 * cells, N_PLANES * cells)  # a bar's input + earlier hits -> logits
        # Groove: every given hit of the window -> every cell's velocity and offset logits (a drummer's
        # dynamics depend on the whole pattern: which voices play, how busy it is), on Groove rows only
        window = self.bars * cells
        self.groove = nn.Sequential(
            nn.Linear(window, groove_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(groove_hidden, groove_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(groove_hidden, 2 * window),
        )
        # the Groove head's calibration: a monotone piecewise-linear map per plane and voice from what the
        # head plays to what drummers play (knots [2, V, K]: x the head's quantiles, y the drummers'), fitted
        # on the train split after training (training/tools/calibrate.py); the identity until then
        line = torch.stack([torch.linspace(lo, hi, GROOVE_KNOTS) for lo, hi in PLANE_RANGE])  # [2, K]
        identity = line[:, None, :].expand(2, self.voices, GROOVE_KNOTS).clone()  # [2, V, K]
        self.register_buffer("groove_x", identity.clone())
        self.register_buffer("groove_y", identity.clone())
        for layer in (self.to_code, self.to_hidden, self.skip):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def groove_logits(self, hits: torch.Tensor) -> torch.Tensor:
        """The Groove head: the window's hits [N, V, T] -> velocity and offset logits [N, 2, V, T]."""
        n = hits.shape[0]
        return self.groove(hits.reshape(n, -1)).view(n, 2, self.voices, -1)

    def groove_planes(self, hits: torch.Tensor, calibrated: bool = True) -> torch.Tensor:
        """The Groove head's velocities (0..1) and offsets (steps) for the window's hits [N, V, T] ->
        [N, 2, V, T], through its calibration (``calibrated``)."""
        logits = self.groove_logits(hits)
        planes = torch.stack([torch.sigmoid(logits[:, 0]), 0.5 * torch.tanh(logits[:, 1])], dim=1)
        if not calibrated:
            return planes
        x, y = self.groove_x, self.groove_y  # [2, V, K]
        width = x[..., 1:] - x[..., :-1]  # [2, V, K-1]
        slope = (y[..., 1:] - y[..., :-1]) / width.clamp(min=1e-6)
        start, width, slope = (a.unsqueeze(2) for a in (x[..., :-1], width, slope))  # [2, V, 1, K-1]
        rise = torch.minimum(torch.relu(planes.unsqueeze(-1) - start), width)  # [N, 2, V, T, K-1]
        return y[..., 0].unsqueeze(-1) + (rise * slope).sum(dim=-1)  # [N, 2, V, T]

    def context(self, cond: torch.Tensor, style: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(the generator's context [N, K] with unknown sliders at 0.5 and the unknown style's embedding,
        which sliders are given [N, C])."""
        given = (cond >= 0).to(cond.dtype)  # [N, C]
        cond_in = cond * given + 0.5 * (1 - given)
        base = self.base
        if base.style_embedding is None:
            return cond_in, given
        if style is None:
            raise ValueError("this generator has styles: pass a style index per row (n_styles = unknown)")
        known = (style < self.n_styles).to(cond.dtype).unsqueeze(1)  # [N, 1]
        embedded = base.style_embedding(style.clamp(max=self.n_styles - 1))  # [N, style_dim]
        unknown = self.unknown_style if self.unknown_style is not None else torch.zeros_like(embedded[0])
        embedded = embedded * known + unknown * (1 - known)
        return torch.cat([cond_in, embedded], dim=1), given

    def bar_inputs(self, known: torch.Tensor, mask: torch.Tensor, rhythm: torch.Tensor) -> torch.Tensor:
        """known [N, 3, V, T], mask [N, 2, V, T], rhythm [N, T] -> per bar [N, B, bar_in]."""
        n, b, s = known.shape[0], self.bars, self.steps
        planes = torch.cat([known, mask], dim=1)  # [N, 5, V, T]
        planes = planes.reshape(n, 5, self.voices, b, s).permute(0, 3, 1, 2, 4).reshape(n, b, -1)
        return torch.cat([planes, rhythm.reshape(n, b, s)], dim=2)  # [N, B, 5*V*S + S]

    def given_paths(
        self,
        given: torch.Tensor,
        known: torch.Tensor,
        mask: torch.Tensor,
        rhythm: torch.Tensor,
        task: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the given part adds, for M rows (all of them, or one shared by every row): to the bar codes
        [M, B, bar_dim], to the decoder's hidden layer [M, B, H_dec], to the logits [M, 3, V, T], and the
        Groove head's dynamics [M, 2, V, T]."""
        m = known.shape[0]
        bars_in = self.bar_inputs(known, mask, rhythm)  # [M, B, I]
        enc = self.encoder(bars_in)  # [M, B, E]
        enc_around = torch.cat(
            [enc, earlier(enc, 1, self.bars), earlier(enc, 2, self.bars)], dim=2
        )  # [M, B, 3E]
        summary = self.summary(torch.cat([enc.reshape(m, -1), task, given], dim=1))  # [M, H]
        summary = summary.unsqueeze(1).expand(m, self.bars, summary.shape[1])  # [M, B, H]
        to_code = self.to_code(torch.cat([summary, enc_around], dim=2))  # [M, B, bar_dim]
        task_per_bar = task.unsqueeze(1).expand(m, self.bars, task.shape[1])
        to_hidden = self.to_hidden(torch.cat([enc_around, task_per_bar], dim=2))  # [M, B, H_dec]
        cells = self.voices * self.steps
        given_hits = bars_in[..., :cells]  # [M, B, V*S]: the known hit plane (0 where not given)
        skip_in = torch.cat(
            [bars_in, earlier(given_hits, 1, self.bars), earlier(given_hits, 2, self.bars)], dim=2
        )
        skip = self.skip(skip_in).view(m, self.bars, N_PLANES, self.voices, self.steps)
        skip = skip.permute(0, 2, 3, 1, 4).reshape(m, N_PLANES, self.voices, -1)  # [M, 3, V, T]
        return to_code, to_hidden, skip, self.groove_planes(known[:, 0])

    def forward(
        self,
        z: torch.Tensor,
        cond: torch.Tensor,
        style: torch.Tensor | None,
        known: torch.Tensor,
        mask: torch.Tensor,
        *,
        rhythm: torch.Tensor,
        task: torch.Tensor,
        shared: bool = False,
    ) -> torch.Tensor:
        """The completed patterns [N, 3, V, T]. ``shared``: every row gives the same (``known``, ``mask``,
        ``rhythm``, ``task`` and which sliders are given), as in the daemon's calls, one request each: the
        encoder, its paths and the Groove head run once, on the first row (the exported graph does this;
        only ``z``, the slider values and the style are read per row)."""
        base, n = self.base, z.shape[0]
        ctx, given = self.context(cond, style)  # [N, K], [N, C]
        one = slice(0, 1) if shared else slice(None)  # the rows the given part is read from
        to_code, to_hidden, skip, groove = self.given_paths(
            given[one], known[one], mask[one], rhythm[one], task[one]
        )  # [M, ...], M = 1 or N: broadcast over the rows below
        codes = base.trunk(torch.cat([z, ctx], dim=1)).view(n, self.bars, base.bar_dim) + base.bar_position
        codes = codes + to_code  # [N, B, bar_dim]
        ctx_per_bar = ctx.unsqueeze(1).expand(n, self.bars, ctx.shape[1])  # [N, B, K]
        hidden = base.decoder_in(base.decoder_activation(torch.cat([codes, ctx_per_bar], dim=2)))
        hidden = hidden + to_hidden  # [N, B, H_dec]
        logits = base.decoder_out(base.decoder_hidden_activation(hidden))  # [N, B, 3*V*S]
        logits = logits.view(n, self.bars, N_PLANES, self.voices, self.steps)
        logits = logits.permute(0, 2, 3, 1, 4).reshape(n, N_PLANES, self.voices, -1) + skip  # [N, 3, V, T]
        hit_velocity = torch.sigmoid(logits[:, :2])
        offset = 0.5 * torch.tanh(logits[:, 2:])
        on_groove = task[one][:, GROOVE_TASK].view(-1, 1, 1, 1)  # Groove's dynamics are the Groove head's
        dynamics = torch.cat([hit_velocity[:, 1:], offset], dim=1)  # [N, 2, V, T]
        dynamics = on_groove * groove + (1 - on_groove) * dynamics
        return torch.cat([hit_velocity[:, :1], dynamics], dim=1)  # [N, 3, V, T]


def earlier(x: torch.Tensor, k: int, bars: int) -> torch.Tensor:
    """[N, B, F] -> the same with each bar holding bar b - k's features (zeros for the first k bars);
    ``bars`` = B, a constant of the graph (not read from the tensor: the export traces no shape)."""
    if k >= bars:
        return torch.zeros_like(x)
    return torch.cat([torch.zeros_like(x[:, :k]), x[:, :-k]], dim=1)


class ToolsCritic(nn.Module):
    """The generator's critic with a projection term for the task (Miyato & Koyama), zero at the start: the
    critic it was made from, that learns to tell a fill that is asked for from a beat."""

    def __init__(self, base: Critic, n_tasks: int) -> None:
        super().__init__()
        self.base = base
        score = base.score
        assert isinstance(score, nn.Linear)  # the critic's last layer (training.fitting.model.Critic)
        hidden = score.in_features
        self.task_projection = spectral_norm(nn.Linear(n_tasks, hidden, bias=False))
        self.task_gain = nn.Parameter(torch.zeros(()))  # spectral norm undoes any scaling of the weights

    def forward(
        self,
        pattern: torch.Tensor,
        cond: torch.Tensor,
        style: torch.Tensor | None,
        task: torch.Tensor,
        groups: int = 1,
    ) -> torch.Tensor:
        base, n = self.base, pattern.shape[0]
        bars = pattern.view(n, N_PLANES, -1, base.bars, base.steps_per_bar).permute(0, 3, 1, 2, 4)
        features = base.bar_encoder(bars.reshape(n, base.bars, -1)).reshape(n, -1)  # [N, B*H]
        spread = features.view(groups, n // groups, -1).std(dim=1, unbiased=False).mean(dim=1)
        spread = spread.repeat_interleave(n // groups).unsqueeze(1)  # [N, 1]
        phi = base.joint(torch.cat([features, cond, spread], dim=1))  # [N, H]
        out = base.score(phi).squeeze(1)
        if base.cond_projection is not None:
            out = out + (base.cond_projection(cond) * phi).sum(dim=1)
        if base.style_projection is not None and style is not None:
            out = out + (base.style_projection(style) * phi).sum(dim=1)
        return out + self.task_gain * (self.task_projection(task) * phi).sum(dim=1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def generator_critic(
    config: TrainConfig,
    state: dict[str, torch.Tensor] | None,
    *,
    n_conditions: int,
    n_styles: int,
    n_voices: int,
    grid: Grid,
) -> Critic:
    """The generator's critic, scoring one row at a time (a tools batch mixes tasks and settings, never the
    same-setting groups a grouped critic, ``pack``, was trained on), with the generator run's weights where
    their shapes fit (a grouped critic's joint layer also reads its group's spread: that layer starts
    fresh)."""
    names = {f.name for f in dataclasses.fields(config)}
    single = (("pack", 1), ("pack_critic", "none"), ("diversity_weight", 0.0))  # (diversity needs groups)
    one_row: dict[str, Any] = {k: v for k, v in single if k in names}
    critic = Critic(dataclasses.replace(config, **one_row), n_conditions, n_styles, n_voices, grid)
    if state is not None:
        own = critic.state_dict()
        fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        critic.load_state_dict(fits, strict=False)
        if len(fits) < len(own):
            log.warning("the critic starts fresh in %s (a grouped critic's)", sorted(set(own) - set(fits)))
    return critic
