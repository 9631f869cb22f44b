"""One training step (critic update(s), then the generator update), built so a GPU never waits on Python.

``StepRunner.step()`` draws everything random a step needs (its rows, noise, the redrawn sliders) on the
training device from the run's seed and the step number (``training.fitting.batches``), then runs the step
body:

- the dataset is on the device (``Trainer``), batches are gathered there by row indices picked there;
- nothing in a step reads a value back to the host: the losses come back as one device tensor [7]
  (``STAT_NAMES``) that ``StepStats`` adds up on the device; the loop reads it at epoch ends and checkpoints;
- the optimisers are Adam's fused implementation on CUDA (one kernel for all parameters) and, on the CPU,
  the for-loop one torch uses there by default (so the CPU trains bit for bit as before);
- on CUDA, with one process and no float16 scaler, the whole step body (forward, backward and both optimiser
  steps) is captured once as a CUDA graph and replayed: one launch per step instead of hundreds.
  ``cuda_graphs="auto"`` falls back to the plain step with a warning when capture fails; ``"on"`` makes it an
  error; ``"off"`` never captures. The captured body is the same Python the CPU runs every step.
- ``compile=True`` runs the networks and the descriptor loss through ``torch.compile`` (fewer, fused kernels).

The body only uses tensors it is given or that live on the device (no host tensors built per call), so it
can be captured; ``losses.py`` caches its constant tensors per device for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from companion.core.errors import UsageError
from companion.core.pattern import Grid
from training.fitting.batches import BatchSampler, StepNoise
from training.fitting.config import TrainConfig
from training.fitting.distributed import DistContext
from training.fitting.groups import draw_groups
from training.fitting.losses import (
    condition_loss,
    critic_loss,
    diversity_loss,
    dynamics_loss,
    generator_loss,
    gradient_penalty,
    interp,
)
from training.fitting.losses import torch_descriptors as _descriptors
from training.fitting.model import Critic, Generator, harden

log = logging.getLogger(__name__)
STAT_NAMES = (
    "loss_d",
    "d_real",
    "d_fake",
    "loss_g",
    "loss_cond",
    "loss_dyn",
    "loss_div",
)  # a step's stats [7]
GRAPH_WARMUP_STEPS = 3
IMPLEMENTATION_KEYS = ("fused", "capturable", "foreach", "differentiable")  # how Adam runs, not what it knows


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device, capturable: bool):
    """Adam in its fastest form for ``device``: fused on CUDA (capturable when CUDA graphs are used)."""
    if device.type == "cuda":
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, capturable=capturable)
    return torch.optim.Adam(params, lr=lr, betas=betas, foreach=False)  # torch's CPU default: as before


def load_adam_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load an Adam state saved by a run on any device, keeping ``optimizer``'s own implementation.

    A state dict carries its run's ``fused``/``capturable``/``foreach`` flags and torch would adopt them:
    a CUDA-graph run's (capturable) could not step on the CPU, a CPU run's would stop a resumed GPU run from
    being captured. The moments and step counts are what matter; they are placed where this optimiser wants
    them (its step counts on the device when fused or capturable, else where they were loaded)."""
    groups = [
        {**saved, **{key: current[key] for key in IMPLEMENTATION_KEYS if key in current}}
        for saved, current in zip(state["param_groups"], optimizer.param_groups, strict=True)
    ]
    optimizer.load_state_dict({**state, "param_groups": groups})


def wants_graphs(mode: str, device: torch.device, distributed: bool, amp: torch.dtype | None) -> bool:
    """Whether the step will be captured as a CUDA graph (``mode`` is the config's ``cuda_graphs``)."""
    if mode == "off" or device.type != "cuda":
        if mode == "on" and device.type != "cuda":
            raise UsageError("cuda_graphs 'on' needs a CUDA device (use auto or off)")
        return False
    reasons = []
    if distributed:
        reasons.append("DDP runs several processes")
    if amp == torch.float16:
        reasons.append("float16 needs a GradScaler that reads its overflow flag on the host")
    if reasons and mode == "on":
        raise UsageError(f"cuda_graphs 'on' cannot be honoured: {'; '.join(reasons)} (use auto or off)")
    return not reasons


class StepStats:
    """Sums of each step's stats and the first non-finite step, on the device; read only when asked."""

    NEVER = 2**62

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums = torch.zeros(len(STAT_NAMES), dtype=torch.float64, device=device)  # [7]
        self.first_bad = torch.full((), self.NEVER, dtype=torch.int64, device=device)
        self.count = 0

    def add(self, stats: torch.Tensor, step: int) -> None:
        """Add one step's ``stats`` [7]; remember ``step`` if any of them is not finite (no host sync)."""
        self.sums += stats.detach().to(torch.float64)
        bad_here = torch.where(torch.isfinite(stats).all(), self.NEVER, step)
        torch.minimum(self.first_bad, bad_here, out=self.first_bad)
        self.count += 1

    def means(self) -> torch.Tensor:
        """Mean of each stat since the last ``reset`` [7] (device)."""
        return self.sums / max(self.count, 1)

    def reset(self) -> None:
        self.sums.zero_()
        self.count = 0


@dataclass
class StepState:
    """What a training step reads and updates, built by ``training.fitting.train.Trainer`` (which holds the
    same objects): the networks (and their DDP wrappers), optimisers, scalers, the data on the device, the
    sliders' quantile tables, and the step counter the step advances."""

    config: TrainConfig
    ctx: DistContext
    grid: Grid
    sampler: BatchSampler
    G: Generator
    D: Critic
    G_ddp: nn.Module  # G, or its DDP wrapper when distributed
    D_ddp: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler_g: torch.amp.GradScaler
    scaler_d: torch.amp.GradScaler
    amp: torch.dtype | None  # autocast dtype on CUDA; None: full precision
    train_patterns: torch.Tensor  # [N, 3, V, T]
    train_cond: torch.Tensor  # [N, C]
    train_style: torch.Tensor | None  # [N]
    measured: list[int]  # the conditions that are descriptors (indices)
    measured_names: list[str]
    quantiles: torch.Tensor  # [C, Q]
    probs: torch.Tensor  # [Q]
    scale: torch.Tensor  # [C]
    partners: torch.Tensor | None = None  # [N, pack_neighbours] same-setting neighbours (pack > 1)
    step: int = 0


class StepRunner:
    """The step of a ``StepState``: ``step()`` trains one generator update -> (stats [7], epoch ended)."""

    def __init__(self, trainer: StepState, use_graphs: bool, compile_models: bool = False) -> None:
        """``trainer``: the state (networks, optimisers, data) it steps."""
        self.t = trainer
        cfg, dev = trainer.config, trainer.ctx.device
        self.noise = StepNoise(cfg.seed, trainer.ctx.rank, dev)
        self.measured = torch.tensor(trainer.measured, dtype=torch.int64, device=dev)  # [Cm]
        self.n_conditions = trainer.train_cond.shape[1]
        self.quantiles = trainer.quantiles.index_select(0, self.measured)  # [Cm, Q]
        self.probs = trainer.probs.expand(len(trainer.measured), -1)  # [Cm, Q]
        self.scale = trainer.scale.index_select(0, self.measured)  # [Cm]
        self.use_graphs = use_graphs
        # the networks as called: the DDP wrappers when distributed, compiled when asked
        self.G: Callable[..., Any] = trainer.G_ddp
        self.D: Callable[..., Any] = trainer.D_ddp
        self.D_plain: Callable[..., Any] = trainer.D
        self.descriptors: Callable = _descriptors
        if compile_models:
            self.G, self.D, self.D_plain = (
                torch.compile(m, dynamic=False) for m in (self.G, self.D, self.D_plain)
            )
            self.descriptors = torch.compile(_descriptors, dynamic=False)
        self._graph: _CapturedStep | None = None
        self._graph_failed = False

    @property
    def captured(self) -> bool:
        """Whether the step runs as a captured CUDA graph."""
        return self._graph is not None

    # ---- what a step draws ----------------------------------------------------------------------------
    def draw(self) -> tuple[dict[str, torch.Tensor], bool]:
        """Rows and noise of step ``trainer.step`` (device tensors), and whether an epoch ends in it.

        The draw order is the one of the CPU loop before (z and alpha per critic update, then the slider
        redraw and z of the generator update), so a CPU run draws the same numbers it always did."""
        t, cfg, dev = self.t, self.t.config, self.t.ctx.device
        gen = self.noise.at(t.step)
        b, inputs, ends = cfg.batch_size, {}, False
        for i in range(cfg.n_critic):
            rows, ended = self._rows(gen)
            ends |= ended
            inputs[f"rows_d{i}"], inputs[f"settings_d{i}"] = rows
            inputs[f"z_d{i}"] = torch.randn(b, cfg.latent_dim, generator=gen, device=dev)  # [B, L]
            if cfg.loss == "wgan-gp":
                inputs[f"alpha{i}"] = torch.rand(b, 1, 1, 1, generator=gen, device=dev)  # [B, 1, 1, 1]
        rows, ended = self._rows(gen)
        ends |= ended
        inputs["rows_g"], inputs["settings_g"] = rows
        a = b // cfg.pack  # settings: one per group of takes
        mix = torch.zeros(a, self.n_conditions, dtype=torch.bool, device=dev)  # [A, C]
        new = torch.zeros(a, device=dev)  # [A]
        if cfg.cond_mix > 0 and len(self.measured):
            chosen = torch.rand(a, generator=gen, device=dev) < cfg.cond_mix  # [A]
            pick = torch.randint(len(self.measured), (a,), generator=gen, device=dev)
            column = self.measured[pick]  # [A]
            new = torch.rand(a, generator=gen, device=dev)
            mix = chosen[:, None] & (column[:, None] == torch.arange(self.n_conditions, device=dev))
        if cfg.pack > 1:  # the takes of a group share the redrawn slider too
            mix, new = mix.repeat_interleave(cfg.pack, dim=0), new.repeat_interleave(cfg.pack)
        inputs["mix"], inputs["new"] = mix, new
        inputs["z_g"] = torch.randn(b, cfg.latent_dim, generator=gen, device=dev)  # [B, L]
        return inputs, ends

    def _rows(self, gen: torch.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor], bool]:
        """((real rows [B], setting rows [B]), epoch ended): the rows themselves without groups; with
        ``pack`` > 1, groups of an anchor and its neighbours, and the anchor as every take's setting."""
        anchors, ended = self.t.sampler.next()
        partners = self.t.partners  # None exactly when pack == 1 (the Trainer builds the table otherwise)
        if partners is None:
            return (anchors, anchors), ended
        return draw_groups(anchors, partners, self.t.config.pack, gen), ended

    # ---- the step -------------------------------------------------------------------------------------
    def step(self) -> tuple[torch.Tensor, bool]:
        inputs, ends = self.draw()
        stats = None
        if self.use_graphs and not self._graph_failed:
            stats = self._replay(inputs)
        if stats is None:
            stats = self.body(inputs)
        self.t.step += 1
        return stats, ends

    def _replay(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if self._graph is None:
            try:
                self._graph = _CapturedStep(self, inputs)
            except Exception as error:  # capture is all or nothing: the plain step is the same function
                if self.t.config.cuda_graphs == "on":
                    raise RuntimeError(f"CUDA graph capture of the training step failed: {error}") from error
                log.warning("CUDA graph capture failed (%s); training with the plain step", error)
                self._graph_failed = True
                return None
        return self._graph.replay(inputs)

    def body(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Critic update(s), then the generator update; the stats [7] (float32, device). No host syncs."""
        for i in range(self.t.config.n_critic):
            loss_d, d_real, d_fake = self._critic_update(
                inputs[f"rows_d{i}"], inputs[f"settings_d{i}"], inputs[f"z_d{i}"], inputs.get(f"alpha{i}")
            )
        loss_g, loss_cond, loss_dyn, loss_div = self._generator_update(
            inputs["rows_g"], inputs["settings_g"], inputs["z_g"], inputs["mix"], inputs["new"]
        )
        return torch.stack([loss_d, d_real, d_fake, loss_g, loss_cond, loss_dyn, loss_div]).float()

    def _autocast(self):
        t = self.t
        if t.amp is None:
            return contextlib.nullcontext()
        # a graph replays the casts it captured: autocast's weight cache would hold stale copies
        return torch.autocast(device_type="cuda", dtype=t.amp, cache_enabled=not self.use_graphs)

    def _batch(self, rows: torch.Tensor):
        t = self.t
        cond = t.train_cond.index_select(0, rows)  # [B, C]
        style = t.train_style.index_select(0, rows) if t.train_style is not None else None  # [B]
        return cond, style

    def _critic_update(
        self, rows: torch.Tensor, settings: torch.Tensor, z: torch.Tensor, alpha: torch.Tensor | None
    ):
        """``rows`` [B]: the real windows; ``settings`` [B]: the windows whose setting each fake takes (the
        same rows without groups; each group's anchor with them, ``training.fitting.groups``)."""
        t, cfg = self.t, self.t.config
        real = t.train_patterns.index_select(0, rows)  # [B, 3, V, T]
        cond, style = self._batch(rows)
        fake_cond, fake_style = self._batch(settings)  # a group's style is its anchor's: the same
        with torch.no_grad(), self._autocast():
            fake = harden(self.G(z, fake_cond, fake_style), cfg.hit_threshold, cfg.hit_estimator)  # [B,3,V,T]
        with self._autocast():
            both_style = torch.cat([style, fake_style]) if style is not None else None
            scores = self.D(
                torch.cat([real, fake.to(real.dtype)]), torch.cat([cond, fake_cond]), both_style, 2
            )
            real_s, fake_s = scores.float().chunk(2)
            loss_d = critic_loss(cfg.loss, real_s, fake_s)
            if cfg.loss == "wgan-gp":
                loss_d = loss_d + cfg.gp_weight * gradient_penalty(
                    t.D, real, fake.float(), cond, style, alpha=alpha
                )
        t.opt_d.zero_grad(set_to_none=True)
        t.scaler_d.scale(loss_d).backward()
        t.scaler_d.step(t.opt_d)
        t.scaler_d.update()
        return loss_d.detach(), real_s.detach().mean(), fake_s.detach().mean()

    def _generator_update(
        self,
        rows: torch.Tensor,
        settings: torch.Tensor,
        z: torch.Tensor,
        mix: torch.Tensor,
        new: torch.Tensor,
    ):
        """Fakes at the setting of ``settings`` [B] (some with one slider redrawn: ``mix``, ``new``); the real
        windows ``rows`` [B] are the dynamics loss's reference."""
        t, cfg, dev = self.t, self.t.config, self.t.ctx.device
        cond, style = self._batch(settings)
        cond = torch.where(mix, new[:, None], cond)  # one slider of some rows redrawn uniformly
        t.D.requires_grad_(False)
        with self._autocast():
            out, hit_logits = self.G(z, cond, style, with_logits=True)  # [B, 3, V, T], [B, V, T]
            fake = harden(out, cfg.hit_threshold, cfg.hit_estimator)
            loss_adv = generator_loss(cfg.loss, self.D_plain(fake, cond, style).float())
        loss_cond = torch.zeros((), device=dev)
        if len(self.measured) and cfg.cond_weight > 0:
            with torch.autocast(device_type=dev.type, enabled=False):
                decoded = harden(out.float(), cfg.hit_threshold, cfg.hit_estimator)
                measured = self.descriptors(decoded, t.grid, t.measured_names)  # [B, Cm]
                wanted = cond.index_select(1, self.measured)  # [B, Cm]
                target = interp(wanted, self.probs, self.quantiles, mirror=True)  # raw [B, Cm]
                loss_cond = condition_loss(measured, target, self.scale)
        loss_dyn = torch.zeros((), device=dev)
        if cfg.dynamics_weight > 0:  # velocities and offsets as a drummer plays them (per voice, position)
            with torch.autocast(device_type=dev.type, enabled=False):
                real = t.train_patterns.index_select(0, rows)  # [B, 3, V, T]
                loss_dyn = dynamics_loss(out.float(), real, cfg.hit_threshold, t.grid)
        loss_div = torch.zeros((), device=dev)
        if cfg.diversity_weight > 0:  # takes of one setting must differ (groups of pack rows share it)
            with torch.autocast(device_type=dev.type, enabled=False):
                loss_div = diversity_loss(
                    hit_logits.float(), cfg.pack, cfg.diversity_floor, cfg.diversity_temperature
                )
        loss_g = (
            loss_adv
            + cfg.cond_weight * loss_cond
            + cfg.dynamics_weight * loss_dyn
            + cfg.diversity_weight * loss_div
        )
        t.opt_g.zero_grad(set_to_none=True)
        t.scaler_g.scale(loss_g).backward()
        t.scaler_g.step(t.opt_g)
        t.scaler_g.update()
        t.D.requires_grad_(True)
        return loss_adv.detach(), loss_cond.detach(), loss_dyn.detach(), loss_div.detach()


class _CapturedStep:
    """The step body captured as one CUDA graph; ``replay`` copies a step's draws in and launches it.

    Capture needs a few warm-up steps (they allocate the optimiser state and let cuDNN/cuBLAS pick
    kernels). They train for real, so every weight, buffer and optimiser state is put back afterwards:
    the run goes on exactly from where it was."""

    def __init__(self, runner: StepRunner, example: dict[str, torch.Tensor]) -> None:
        t = runner.t
        self.static = {key: value.clone() for key, value in example.items()}
        saved = _Snapshot([t.G, t.D], [t.opt_g, t.opt_d])
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(side):
                for _ in range(GRAPH_WARMUP_STEPS):
                    runner.body(self.static)
            torch.cuda.current_stream().wait_stream(side)
            t.opt_g.zero_grad(set_to_none=True)
            t.opt_d.zero_grad(set_to_none=True)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.stats = runner.body(self.static)  # [7], lives in the graph's memory pool
        finally:  # captured or not (then the plain step takes over), the warm-up steps are undone
            torch.cuda.current_stream().wait_stream(side)
            if not hasattr(self, "stats"):  # no gradient may point into a failed capture's memory
                t.opt_g.zero_grad(set_to_none=True)
                t.opt_d.zero_grad(set_to_none=True)
                t.D.requires_grad_(True)  # a body that stopped inside the generator update left it off
            saved.restore()

    def replay(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        for key, value in inputs.items():
            self.static[key].copy_(value)
        self.graph.replay()
        return self.stats  # overwritten by the next replay: the caller adds it up at once


class _Snapshot:
    """Copies of modules' parameters and buffers and optimisers' states, restored in place."""

    def __init__(self, modules: list[torch.nn.Module], optimizers: list[torch.optim.Optimizer]) -> None:
        self.tensors = [(x, x.detach().clone()) for m in modules for x in [*m.parameters(), *m.buffers()]]
        self.optimizers = optimizers
        self.states = {
            id(p): {k: v.detach().clone() for k, v in opt.state[p].items() if torch.is_tensor(v)}
            for opt in optimizers
            for p in opt.state
        }

    @torch.no_grad()
    def restore(self) -> None:
        for live, copy in self.tensors:
            live.copy_(copy)
        for opt in self.optimizers:
            for p, state in opt.state.items():
                before = self.states.get(id(p))
                for key, value in state.items():
                    if not torch.is_tensor(value):
                        continue
                    if before is None:  # created by the warm-up: a fresh Adam state is all zeros
                        value.zero_()
                    else:
                        value.copy_(before[key])


__all__ = ["STAT_NAMES", "StepRunner", "StepStats", "load_adam_state", "make_adam", "wants_graphs"]
