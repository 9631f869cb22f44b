"""Train the tools graph: the generator of a finished run, taught to fill in what is masked.

The tools generator starts as the run's generator exactly (``training.tools.model``: every new path starts
at zero) and its critic as the run's critic (a fresh one when the checkpoint has none). Each step draws a
batch of real windows (train split only) and fill windows (``training.tools.fills``), a task per row
(``ToolsConfig.task_weights``), hides what the task hides (``training.tools.tasks``) and trains:

- the critic, hinge loss, on real windows against the generator's composites (what is given put back), both
  with the true sliders, style and task;
- the generator: the critic's score, plus the given sliders (Huber, as ``nudge-train fit``), the drummer's
  dynamics (``losses.dynamics_loss`` on the composites), and three losses that tie each task to the real
  window it was cut from: Groove's velocities and offsets at the drummer's hits (L1), Drumify's merged onsets
  against the rhythm (binary cross-entropy), and the hidden hits of Continue and Drumify (binary
  cross-entropy, lightly).

The generator the run started from is kept unchanged in the checkpoint (``base``): it stays the model's
Generate graph; the tools graph is exported beside it (``training.export.tools_export``).
Run folder: ``config.json``, ``last.pt``, ``best.pt`` (best validation score), ``metrics.jsonl``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import io
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from companion.core.atomic import atomic_write_bytes
from companion.core.descriptors import DESCRIPTOR_INDEX
from companion.core.pattern import HIT, OFFSET, VELOCITY
from companion.runtime.tools_model import TASKS
from training.conditions import ConditionError, training_rows
from training.dataset import RhythmDataset
from training.fitting import metrics_log
from training.fitting.checkpoint import (
    CHECKPOINT_FORMAT,
    REQUIRED_KEYS,
    generator_from_checkpoint,
    load_checkpoint,
)
from training.fitting.config import TrainConfig
from training.fitting.losses import (
    critic_loss,
    dynamics_loss,
    generator_loss,
    interp,
    torch_descriptors,
)
from training.tools.calibrate import calibrate_groove
from training.tools.config import ToolsConfig
from training.tools.fills import fill_pairs, splice
from training.tools.model import ToolsCritic, ToolsGenerator, generator_critic
from training.tools.tasks import TASK, ToolInputs, compose, make_inputs
from training.tools.validate import ToolsValidation

log = logging.getLogger(__name__)
LAST, BEST, METRICS = "last.pt", "best.pt", "metrics.jsonl"
TOOLS_KIND = "tools"


class ToolsTrainer:
    def __init__(self, config: ToolsConfig) -> None:
        self.config, self.out = config, Path(config.out)
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.base_state = {
            k: v for k, v in load_checkpoint(config.base).items() if k in (*REQUIRED_KEYS, "critic")
        }
        base, self.space = generator_from_checkpoint(self.base_state)
        self.base_config = TrainConfig.from_dict(self.base_state["config"])
        unmeasured = [n for n in self.space.names if n not in DESCRIPTOR_INDEX]
        if unmeasured:
            raise ConditionError(f"the tools are trained on descriptor sliders only; {unmeasured} are not")
        dataset = RhythmDataset.load(config.data)
        self.grid = dataset.grid
        if self.grid.n_steps != base.bars * base.steps_per_bar:
            raise ValueError(f"the dataset's grid {self.grid} is not the generator's")
        fills = RhythmDataset.load(config.fills)
        if fills.grid.steps_per_bar != self.grid.steps_per_bar or fills.grid.bars != 1:
            raise ValueError(
                f"{config.fills}: fill windows must be 1 bar of the generator's grid, got {fills.grid}"
            )
        train = training_rows(dataset, self.base_config.beat_types)  # never the test split
        self.beats = torch.from_numpy(train.patterns)  # [M, 3, V, T]
        self.beat_style = torch.from_numpy(self.space.style_indices(train))  # [M]
        pairs = fill_pairs(train, fills.of_split("train"), "train")
        if not len(pairs):
            raise ValueError(f"{config.fills}: no train fill pairs with a beat window of {config.data}")
        self.fill_bars = torch.from_numpy(fills.of_split("train").patterns)  # [F, 3, V, S]
        self.pairs = torch.from_numpy(pairs)  # [P, 2] (fill row, beat row)
        names = self.space.names
        self.quantiles = torch.tensor(self.space.normaliser.quantiles, dtype=torch.float32)  # [C, Q]
        self.probs = torch.tensor(self.space.normaliser.probs, dtype=torch.float32).expand(len(names), -1)
        self.scale = torch.from_numpy(self.space.scales())  # [C]
        sample = self.beats[: min(len(self.beats), 4096)]
        self.all_scale = torch_descriptors(sample, self.grid).std(dim=0).clamp(min=1e-3)  # [D]: all of them
        self.n_styles = len(self.space.styles)
        self.G = ToolsGenerator(
            copy.deepcopy(base).train(), len(TASKS), config.enc_hidden, config.enc_dim, config.groove_hidden
        )
        critic = generator_critic(
            self.base_config,
            self.base_state.get("critic"),
            n_conditions=len(names),
            n_styles=self.n_styles,
            n_voices=base.n_voices,
            grid=self.grid,
        )
        self.D = ToolsCritic(critic, len(TASKS))
        betas = (config.beta1, config.beta2)
        base_ids = {id(p) for p in self.G.base.parameters()}
        new = [p for p in self.G.parameters() if id(p) not in base_ids]
        groups: list[dict[str, Any]] = [
            {"params": list(self.G.base.parameters())},
            {"params": new, "lr": config.lr_new},
        ]
        self.opt_g = torch.optim.Adam(groups, lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.gen = torch.Generator().manual_seed(config.seed)
        weights = torch.tensor(config.task_weights)
        self.fill_share = float(weights[TASK["fill"]] / weights.sum())
        beat_weights = weights.clone()
        beat_weights[TASK["fill"]] = 0
        self.beat_tasks = beat_weights / beat_weights.sum()
        self.validation = ToolsValidation(dataset, fills, self.space, self.grid, config.seed)
        self.step, self.best_score = 0, math.inf

    # ---- a batch ----------------------------------------------------------------------------------------
    def encode(self, patterns: torch.Tensor) -> torch.Tensor:
        """Normalised sliders [N, C] of real windows (the generator's own quantiles)."""
        return interp(self.raw_conditions(patterns), self.quantiles, self.probs)

    def raw_conditions(self, patterns: torch.Tensor) -> torch.Tensor:
        return torch_descriptors(patterns, self.grid, self.space.names)  # [N, C]

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(real windows [B, 3, V, T], their sliders [B, C], styles [B], task per row [B])."""
        b, gen = self.config.batch_size, self.gen
        n_fill = round(b * self.fill_share)
        rows = torch.randint(len(self.beats), (b - n_fill,), generator=gen)
        pairs = self.pairs[torch.randint(len(self.pairs), (n_fill,), generator=gen)]
        fills = splice(self.beats[pairs[:, 1]], self.fill_bars[pairs[:, 0]], self.grid.steps_per_bar)
        real = torch.cat([self.beats[rows], fills])  # [B, 3, V, T]
        style = torch.cat([self.beat_style[rows], self.beat_style[pairs[:, 1]]]) if self.n_styles else None
        tasks = torch.multinomial(self.beat_tasks, b - n_fill, True, generator=gen)
        tasks = torch.cat([tasks, torch.full((n_fill,), TASK["fill"], dtype=torch.int64)])
        return real, self.encode(real), style, tasks

    def inputs(self, real, cond, style, tasks) -> ToolInputs:
        return make_inputs(
            real,
            cond,
            style,
            tasks,
            names=self.space.names,
            n_styles=self.n_styles,
            steps_per_bar=self.grid.steps_per_bar,
            gen=self.gen,
        )

    def generate(self, inputs: ToolInputs) -> torch.Tensor:
        z = torch.randn(len(inputs.task), self.G.base.latent_dim, generator=self.gen)  # [B, L]
        return self.G(
            z, inputs.cond, inputs.style, inputs.known, inputs.mask, rhythm=inputs.rhythm, task=inputs.task
        )

    # ---- a step -----------------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        cfg, thr, est = self.config, self.base_config.hit_threshold, self.base_config.hit_estimator
        real, cond, style, tasks = self.batch()
        inputs = self.inputs(real, cond, style, tasks)
        with torch.no_grad():
            fake = compose(self.generate(inputs), inputs, thr, est)
        both_style = torch.cat([style, style]) if style is not None else None
        scores = self.D(
            torch.cat([real, fake]),
            torch.cat([cond, cond]),
            both_style,
            torch.cat([inputs.task, inputs.task]),
            2,
        )
        real_s, fake_s = scores.chunk(2)
        loss_d = critic_loss("hinge", real_s, fake_s)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        real, cond, style, tasks = self.batch()
        inputs = self.inputs(real, cond, style, tasks)
        raw = self.generate(inputs)
        fake = compose(raw, inputs, thr, est)
        self.D.requires_grad_(False)
        loss_adv = generator_loss("hinge", self.D(fake, cond, style, inputs.task))
        self.D.requires_grad_(True)
        losses = {"adv": loss_adv, **self.task_losses(raw, fake, real, inputs)}
        weights = {
            "adv": 1.0,
            "cond": cfg.cond_weight,
            "dyn": cfg.dynamics_weight,
            "groove": cfg.groove_weight,
        }
        weights |= {"onset": cfg.onset_weight, "hit": cfg.hit_weight, "continue": cfg.continue_weight}
        weights |= {"groove_dyn": cfg.groove_dynamics_weight, "drumify_desc": cfg.drumify_descriptor_weight}
        loss_g = torch.stack([weights[k] * v for k, v in losses.items()]).sum()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.step += 1
        stats = {
            "loss_d": loss_d.detach(),
            "d_real": real_s.detach().mean(),
            "d_fake": fake_s.detach().mean(),
        }
        return {
            k: float(v) for k, v in (stats | {f"loss_{k}": v.detach() for k, v in losses.items()}).items()
        }

    def task_losses(self, raw, fake, real, inputs: ToolInputs) -> dict[str, torch.Tensor]:
        thr, zero = self.base_config.hit_threshold, raw.new_zeros(())
        given = inputs.cond >= 0  # [B, C]
        measured = torch_descriptors(fake, self.grid, self.space.names)  # [B, C]
        wanted = torch_descriptors(real, self.grid, self.space.names)
        per_row = F.smooth_l1_loss(measured / self.scale, wanted / self.scale, beta=0.5, reduction="none")
        loss_cond = (per_row * given).sum() / given.sum().clamp(min=1) if given.any() else zero
        loss_dyn = dynamics_loss(fake, real, thr, self.grid)
        hits = real[:, HIT] > 0.5
        groove = (inputs.task_index == TASK["groove"])[:, None, None] & hits  # [B, V, T]
        error = (raw[:, VELOCITY] - real[:, VELOCITY]).abs() + 2 * (raw[:, OFFSET] - real[:, OFFSET]).abs()
        loss_groove = (error * groove).sum() / groove.sum().clamp(min=1)
        drumify = inputs.task_index == TASK["drumify"]
        played = 1 - torch.prod(1 - raw[:, HIT].clamp(1e-6, 1 - 1e-6), dim=1)  # [B, T]
        onsets = hits.any(dim=1).to(raw.dtype)
        bce = F.binary_cross_entropy(played, onsets, reduction="none").mean(dim=1)  # [B]
        loss_onset = (bce * drumify).sum() / drumify.sum().clamp(min=1)
        hit_bce = F.binary_cross_entropy(
            raw[:, HIT].clamp(1e-6, 1 - 1e-6), hits.to(raw.dtype), reduction="none"
        )
        hidden = 1 - inputs.mask[:, 0]  # [B, V, T]
        on_drumify = hidden * drumify.to(raw.dtype)[:, None, None]
        loss_hit = (hit_bce * on_drumify).sum() / on_drumify.sum().clamp(min=1)
        bars = (inputs.task_index == TASK["continue"]) | (inputs.task_index == TASK["fill"])
        on_bars = hidden * bars.to(raw.dtype)[:, None, None]
        loss_continue = (hit_bce * on_bars).sum() / on_bars.sum().clamp(min=1)
        drum_rows = inputs.task_index == TASK["drumify"]  # how a drummer plays it: all his descriptors
        loss_drumify_desc = zero
        if self.config.drumify_descriptor_weight > 0 and drum_rows.sum() > 0:
            mine, his = (torch_descriptors(p[drum_rows], self.grid) / self.all_scale for p in (fake, real))
            loss_drumify_desc = F.smooth_l1_loss(mine, his, beta=0.5)
        rows = inputs.task_index == TASK["groove"]
        loss_groove_dyn = dynamics_loss(fake[rows], real[rows], thr, self.grid) if rows.sum() > 1 else zero
        return {
            "cond": loss_cond,
            "dyn": loss_dyn,
            "groove": loss_groove,
            "groove_dyn": loss_groove_dyn,
            "onset": loss_onset,
            "hit": loss_hit,
            "continue": loss_continue,
            "drumify_desc": loss_drumify_desc,
        }

    # ---- checkpoints and the loop ----------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "kind": TOOLS_KIND,
            "step": self.step,
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "config": self.config.to_dict(),
            "tasks": list(TASKS),
            "base": self.base_state,
            "tools": self.G.state_dict(),
            "critic": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "best": {"score": self.best_score},
        }

    def save(self, name: str) -> Path:
        buffer = io.BytesIO()
        torch.save(self.checkpoint(), buffer)
        return atomic_write_bytes(self.out / name, buffer.getvalue())

    def warm_up_groove(self) -> dict[str, float]:
        """The Groove head alone, ``groove_warmup_steps`` steps on its own losses (L1 to the drummer's
        velocities and offsets at his hits, and their distribution per voice: ``dynamics_loss``), before the
        whole generator trains against the critic: it learns how a drummer plays a pattern quickly, where
        the adversarial game would teach it slowly."""
        cfg, thr = self.config, self.base_config.hit_threshold
        head = self.G.groove
        optimizer = torch.optim.Adam(head.parameters(), lr=cfg.lr_new)
        last = {}
        for _ in range(cfg.groove_warmup_steps):
            rows = torch.randint(len(self.beats), (cfg.batch_size,), generator=self.gen)
            real = self.beats[rows]  # [B, 3, V, T]
            hits = real[:, HIT]
            logits = self.G.groove_logits(hits)  # [B, 2, V, T]
            played = torch.stack([hits, torch.sigmoid(logits[:, 0]), 0.5 * torch.tanh(logits[:, 1])], dim=1)
            mask = hits > 0.5
            error = (played[:, VELOCITY] - real[:, VELOCITY]).abs() + 2 * (
                played[:, OFFSET] - real[:, OFFSET]
            ).abs()
            l1 = (error * mask).sum() / mask.sum().clamp(min=1)
            spread = dynamics_loss(played, real, thr, self.grid)
            loss = cfg.groove_weight * l1 + cfg.groove_dynamics_weight * spread
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            last = {"warmup_l1": float(l1.detach()), "warmup_dyn": float(spread.detach())}
        return last

    def run(self) -> Path:
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        cfg.save(self.out)
        started = time.perf_counter()
        if self.step == 0 and cfg.groove_warmup_steps:
            warm = self.warm_up_groove()
            warm["seconds"] = round(time.perf_counter() - started, 1)
            metrics_log.append_row(self.out / METRICS, {"step": 0, **warm})
            log.info("groove warm-up %s", warm)
        sums: dict[str, float] = {}
        steps = range(self.step, cfg.steps)
        if cfg.progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="fit-tools", unit="step", dynamic_ncols=True)
        for _ in steps:
            stats = self.train_step()
            if not all(math.isfinite(v) for v in stats.values()):
                raise ValueError(f"training diverged at step {self.step}: {stats}; stopped before saving")
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value
            out_of_time = cfg.time_limit_s > 0 and time.perf_counter() - started > cfg.time_limit_s
            last = self.step == cfg.steps or out_of_time
            if self.step % cfg.val_every == 0 or last:
                count = self.step % cfg.val_every or cfg.val_every
                row = {"step": self.step, **{k: round(v / count, 5) for k, v in sums.items()}}
                row["seconds"] = round(time.perf_counter() - started, 1)
                row["groove_calibrated"] = sum(calibrate_groove(self.G, self.beats, cfg.seed).values())
                self.G.eval()
                row.update(self.validation.scores(self.G, self.base_config.hit_threshold))
                self.G.train()
                metrics_log.append_row(self.out / METRICS, row)
                log.info("step %s", row)
                sums = {}
                if row["score"] < self.best_score:
                    self.best_score = row["score"]
                    self.save(BEST)
            if self.step % cfg.checkpoint_every == 0 or last:
                self.save(LAST)
            if out_of_time:
                log.warning(
                    "time limit of %.0f s reached at step %d of %d", cfg.time_limit_s, self.step, cfg.steps
                )
                break
        return self.out / BEST


def fit_tools(config: ToolsConfig) -> Path:
    """Train the tools graph of ``config.base``; returns the best checkpoint's path."""
    return ToolsTrainer(config).run()


def load_tools_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A tools checkpoint (``ToolsTrainer.checkpoint``); ``ValueError`` for anything else."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(state, dict) or state.get("kind") != TOOLS_KIND or "tools" not in state:
        raise ValueError(f"{path}: not a tools checkpoint (from nudge-train fit-tools)")
    return state


def is_tools_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a tools checkpoint (else it may be a generator's, or nothing readable)."""
    try:
        load_tools_checkpoint(path)
    except (ValueError, OSError):
        return False
    return True


__all__ = ["ToolsTrainer", "fit_tools", "is_tools_checkpoint", "load_tools_checkpoint"]
