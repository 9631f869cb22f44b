"""Generator and critic of the conditional GAN.

Generator: (z, cond, style) -> pattern [N, 3, V, T]. A trunk MLP turns [z, cond, style embedding] into one
code per bar (so bars are drawn jointly and can repeat or vary together); one shared per-bar decoder turns
each code (+ bar position, cond, style) into that bar's hit/velocity/offset logits. Small and fast: a
batch of 64 takes well under a millisecond in onnxruntime on one CPU core (bench/bench_train.py).

Critic: (pattern, cond, style) -> score [N]. A shared per-bar encoder, a joint layer over all bars plus the
condition, minibatch standard deviation (so a collapsed generator is visible) and a projection term for the
style (Miyato & Koyama 2018). Spectral norm on every weight keeps it 1-Lipschitz-ish for the hinge loss.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from companion.core.errors import UsageError
from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid
from training.fitting.config import TrainConfig

N_PLANES = 3


class Generator(nn.Module):
    def __init__(
        self, config: TrainConfig, n_conditions: int, n_styles: int, n_voices: int, grid: Grid
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_conditions, self.n_styles = config.latent_dim, n_conditions, n_styles
        self.n_voices, self.bars, self.steps_per_bar = n_voices, grid.bars, grid.steps_per_bar
        self.bar_dim = config.bar_dim
        style_dim = config.style_dim if n_styles else 0
        self.style_embedding = nn.Embedding(n_styles, style_dim) if n_styles else None
        context = n_conditions + style_dim
        self.trunk = nn.Sequential(
            nn.Linear(config.latent_dim + context, config.g_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(config.g_hidden, config.g_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(config.g_hidden, grid.bars * config.bar_dim),
        )
        self.bar_position = nn.Parameter(torch.zeros(grid.bars, config.bar_dim))
        self.decoder = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.Linear(config.bar_dim + context, config.bar_hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(config.bar_hidden, N_PLANES * n_voices * grid.steps_per_bar),
        )
        with torch.no_grad():  # start sparse, as drum patterns are: hit probability ~0.1 everywhere
            bias = self.decoder_out.bias.view(N_PLANES, n_voices, grid.steps_per_bar)
            bias[HIT].fill_(-2.0)

    # Named parts (the export rearranges the graph by them). The layers stay in the two Sequentials, so that
    # the state-dict keys (trunk.0.weight, decoder.1.bias, ...) of saved checkpoints keep loading.

    @property
    def trunk_hidden(self) -> nn.Sequential:
        """[N, L + K] -> [N, G]: the trunk up to its output layer (Linear, LeakyReLU, Linear, LeakyReLU)."""
        return cast(nn.Sequential, self.trunk[:-1])

    @property
    def trunk_out(self) -> nn.Linear:
        """[N, G] -> [N, B*E]: one code per bar."""
        return cast(nn.Linear, self.trunk[-1])

    @property
    def decoder_activation(self) -> nn.LeakyReLU:
        """The decoder's input activation (on the bar codes and the context alike)."""
        return cast(nn.LeakyReLU, self.decoder[0])

    @property
    def decoder_in(self) -> nn.Linear:
        """[N*B, E + K] -> [N*B, H]: a bar's code and the context."""
        return cast(nn.Linear, self.decoder[1])

    @property
    def decoder_hidden_activation(self) -> nn.LeakyReLU:
        return cast(nn.LeakyReLU, self.decoder[2])

    @property
    def decoder_out(self) -> nn.Linear:
        """[N*B, H] -> [N*B, 3*V*S]: a bar's hit, velocity and offset logits."""
        return cast(nn.Linear, self.decoder[-1])

    def context(self, cond: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        if self.style_embedding is None:
            return cond  # [N, C]
        if style is None:
            raise ValueError("this generator has styles: pass a style index per row")
        return torch.cat([cond, self.style_embedding(style)], dim=1)  # [N, C + style_dim]

    def forward(
        self,
        z: torch.Tensor,
        cond: torch.Tensor,
        style: torch.Tensor | None = None,
        with_logits: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The pattern [N, 3, V, T]; ``with_logits``: also the hit plane's logits [N, V, T] (before the
        sigmoid: the diversity floor's handle on cells the sigmoid has saturated)."""
        n = z.shape[0]
        ctx = self.context(cond, style)  # [N, K]
        codes = self.trunk(torch.cat([z, ctx], dim=1)).view(n, self.bars, self.bar_dim)  # [N, B, E]
        codes = codes + self.bar_position  # [N, B, E]
        ctx_per_bar = ctx.unsqueeze(1).expand(n, self.bars, ctx.shape[1])  # [N, B, K]
        logits = self.decoder(torch.cat([codes, ctx_per_bar], dim=2))  # [N, B, 3*V*S]
        logits = logits.view(n, self.bars, N_PLANES, self.n_voices, self.steps_per_bar)  # [N, B, 3, V, S]
        logits = logits.permute(0, 2, 3, 1, 4).reshape(n, N_PLANES, self.n_voices, -1)  # [N, 3, V, T]
        hit_velocity = torch.sigmoid(logits[:, :OFFSET])  # [N, 2, V, T]
        offset = MAX_OFFSET_STEPS * torch.tanh(logits[:, OFFSET:])  # [N, 1, V, T]
        pattern = torch.cat([hit_velocity, offset], dim=1)  # [N, 3, V, T]
        return (pattern, logits[:, HIT]) if with_logits else pattern


def harden(pattern: torch.Tensor, hit_threshold: float, estimator: str = "straight-through") -> torch.Tensor:
    """Generator output -> what the critic compares with real patterns: velocity and offset masked by hits.

    ``straight-through``: hits are 0/1 at ``hit_threshold`` (as the daemon decodes) in the forward pass, and
    the hit plane passes its gradient to the probability unchanged in the backward pass.
    ``soft``: the hit plane is the probabilities themselves (the critic pushes the generator towards 0/1
    outputs); velocity and offset are still masked by the decoded 0/1 hits, so the critic judges exactly the
    velocities and offsets the daemon will play (masking them by p would let the generator inflate them).
    """
    prob = pattern[:, HIT]  # [N, V, T]
    hard = (prob >= hit_threshold).to(prob.dtype)
    mask = hard + prob - prob.detach()  # [N, V, T], value 0/1, straight-through gradient
    if estimator == "soft":
        hits = prob
    elif estimator == "straight-through":
        hits = mask
    else:
        raise UsageError(f"unknown hit estimator {estimator!r}; allowed: soft, straight-through")
    return torch.stack([hits, pattern[:, VELOCITY] * mask, pattern[:, OFFSET] * mask], dim=1)  # [N, 3, V, T]


class Critic(nn.Module):
    def __init__(
        self, config: TrainConfig, n_conditions: int, n_styles: int, n_voices: int, grid: Grid
    ) -> None:
        super().__init__()
        self.bars, self.steps_per_bar = grid.bars, grid.steps_per_bar
        grouped = config.pack > 1 and config.pack_critic != "none"
        self.pack = config.pack if grouped else 1  # rows per same-setting group (training.fitting.groups)
        self.mode = config.pack_critic if grouped else "none"
        h = config.d_hidden
        self.bar_encoder = nn.Sequential(
            spectral_norm(nn.Linear(N_PLANES * n_voices * grid.steps_per_bar, h)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(h, h)),
            nn.LeakyReLU(0.2),
        )
        width = grid.bars * h  # one pattern's features
        if self.mode == "joint":
            width *= self.pack  # a group's patterns side by side
        elif self.mode == "spread":
            width += grid.bars  # and its group's spread per bar
        self.joint = nn.Sequential(
            spectral_norm(nn.Linear(width + n_conditions + 1, h)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(h, h)),
            nn.LeakyReLU(0.2),
        )
        self.score = spectral_norm(nn.Linear(h, 1))
        self.cond_projection = spectral_norm(nn.Linear(n_conditions, h, bias=False)) if n_conditions else None
        self.style_projection = spectral_norm(nn.Embedding(n_styles, h)) if n_styles else None

    def forward(
        self, pattern: torch.Tensor, cond: torch.Tensor, style: torch.Tensor | None = None, groups: int = 1
    ) -> torch.Tensor:
        """Scores for ``pattern`` [N, 3, V, T]; ``groups`` equal parts (real, fake) get separate minibatch
        statistics, so one forward pass can score both without leaking between them.

        With ``pack`` > 1 every ``pack`` consecutive rows are one same-setting group
        (``training.fitting.groups``): "spread" scores each row [N], which also sees its group's spread per
        bar; "joint" scores each group [N / pack] from its rows' features side by side (Lin et al. 2018,
        PacGAN), under the condition and style of its first row (the anchor)."""
        n = pattern.shape[0]
        if n % (self.pack * groups):
            raise ValueError(f"the critic scores groups of {self.pack} rows; got a batch of {n}")
        bars = pattern.view(n, N_PLANES, -1, self.bars, self.steps_per_bar).permute(
            0, 3, 1, 2, 4
        )  # [N,B,3,V,S]
        features = self.bar_encoder(bars.reshape(n, self.bars, -1)).reshape(n, -1)  # [N, B*H]
        spread = features.view(groups, n // groups, -1).std(dim=1, unbiased=False).mean(dim=1)  # [groups]
        if self.mode == "joint":
            p = self.pack
            features = features.view(n // p, -1)  # [N/p, p*B*H]
            cond = cond[::p]  # [N/p, C]: the anchor's
            style = style[::p] if style is not None else None
            n //= p
        parts = [features, cond, spread.repeat_interleave(n // groups).unsqueeze(1)]  # [N', *]
        if self.mode == "spread":
            per_bar = features.view(n // self.pack, self.pack, self.bars, -1)  # [N/p, p, B, H]
            group_spread = per_bar.std(dim=1, unbiased=False).mean(dim=2)  # [N/p, B]
            parts.append(group_spread.repeat_interleave(self.pack, dim=0))  # [N, B]
        phi = self.joint(torch.cat(parts, dim=1))  # [N', H]
        out = self.score(phi).squeeze(1)  # [N']
        if self.cond_projection is not None:
            out = out + (self.cond_projection(cond) * phi).sum(dim=1)
        if self.style_projection is not None and style is not None:
            out = out + (self.style_projection(style) * phi).sum(dim=1)
        return out


def build_models(
    config: TrainConfig, n_conditions: int, n_styles: int, n_voices: int, grid: Grid
) -> tuple[Generator, Critic]:
    return (
        Generator(config, n_conditions, n_styles, n_voices, grid),
        Critic(config, n_conditions, n_styles, n_voices, grid),
    )


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
