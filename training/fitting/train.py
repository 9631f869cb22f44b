"""The training loop: seeds, checkpoints, ``--resume``, progress bar, per-epoch metrics, model selection.

Run folder (``config.out``): ``config.json`` (the TrainConfig), ``last.pt`` (written every
``checkpoint_every`` steps and at the end), ``best.pt`` (the checkpoint with the best validation score so
far; the one to export), ``metrics.jsonl`` (one line per epoch). Only ``train`` rows are learnt from; the
``validation`` rows (never ``test``) pick ``best.pt``.

Repeatable: the weights come from ``seed``; batch order and noise from generators derived from ``(seed,
epoch)`` and ``(seed, step, rank)``, so a run resumed from a checkpoint continues exactly as if it had not
stopped. Under torchrun every process draws its own slice of each global batch
(``training.fitting.distributed``).
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from companion.core.atomic import atomic_write_bytes
from companion.core.descriptors import describe_batch
from companion.core.drum_map import N_VOICES
from companion.core.errors import TrainingError
from companion.core.pattern import HIT, binarize
from training.conditions import ConditionError, ConditionSpace, training_rows
from training.dataset import RhythmDataset
from training.evaluation import diversity, dynamics
from training.evaluation.metrics import frechet_distance, zscore, zscore_stats
from training.fitting import distributed, metrics_log
from training.fitting.batches import BatchSampler
from training.fitting.checkpoint import CHECKPOINT_FORMAT, RESUME_KEYS, load_checkpoint
from training.fitting.config import TrainConfig
from training.fitting.groups import partner_table
from training.fitting.model import build_models
from training.fitting.run_logs import RunLogs
from training.fitting.step import (
    STAT_NAMES,
    StepRunner,
    StepState,
    StepStats,
    load_adam_state,
    make_adam,
    wants_graphs,
)

log = logging.getLogger(__name__)
LAST, BEST, METRICS = "last.pt", "best.pt", "metrics.jsonl"  # (RunLogs adds curves.png, TensorBoard events)
AGREE_EVERY = 25  # under DDP, processes agree on the time limit every this many steps
DYNAMICS_SCORE_WEIGHT = 10.0  # model selection: one point of dynamics penalty weighs like 10 of Fréchet
# model selection sees the takes at one setting too (training.evaluation.diversity): DIVERSITY_TAKES takes at
# each of DIVERSITY_SETTINGS validation settings; a median hit change below DIVERSITY_TARGET x the real
# reference's (train windows of one style and nearly one setting) costs DIVERSITY_SCORE_WEIGHT per unit
DIVERSITY_SETTINGS, DIVERSITY_TAKES = 32, 8
DIVERSITY_TARGET, DIVERSITY_SCORE_WEIGHT = 1.0, 10.0


@dataclass
class TrainResult:
    out: Path
    steps: int
    last: Path
    best: Path | None
    history: list[dict[str, Any]]
    best_row: dict[str, Any] | None = (
        None  # the epoch row of best.pt (None: no validation, or resumed past it)
    )
    seconds: float = 0.0  # wall time of this call
    stopped_early: bool = False  # the time limit ended it before config.steps


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA only: bf16 where the GPU supports it (auto), else fp16 (needs a GradScaler)."""
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def _dataset_summary(dataset: RhythmDataset, path: str) -> dict[str, Any]:
    counts = {s: int((dataset.split == s).sum()) for s in sorted(set(dataset.split.tolist()))}
    return {
        "source": str(dataset.meta.get("source", Path(path).name)),
        "licence": str(dataset.meta.get("licence", "")),
        "credit": str(dataset.meta.get("credit", "")),
        "counts": counts,
        "file": Path(path).name,
        "ingest": dict(dataset.meta.get("config", {})),  # how the windows were cut (for the model card)
    }


class Trainer:
    """One training run; ``run()`` trains to ``config.steps`` and returns the result."""

    def __init__(self, config: TrainConfig, resume: bool = False) -> None:
        self.config, self.out = config, Path(config.out)
        self.ctx = distributed.setup(config.device)
        torch.manual_seed(config.seed)
        dataset = RhythmDataset.load(config.data)
        self.grid = dataset.grid
        self.dataset_info = _dataset_summary(dataset, config.data)
        train = training_rows(dataset, config.beat_types)  # never the test split
        self.space = ConditionSpace.fit(train, config.conditions, config.styles and bool(train.styles))
        cond, style = self.space.encode(train)
        if self.space.styles and np.any(style < 0):
            raise ConditionError(
                f"{int((style < 0).sum())} training rows have no style label; use --no-styles"
            )
        dev = self.ctx.device
        self.train_patterns = torch.from_numpy(train.patterns).to(dev)  # [N, 3, V, T]
        self.train_cond = torch.from_numpy(cond).to(dev)  # [N, C]
        self.train_style = torch.from_numpy(style).to(dev) if self.space.styles else None  # [N]
        self.quantiles = torch.tensor(
            self.space.normaliser.quantiles, dtype=torch.float32, device=dev
        )  # [C, Q]
        self.probs = torch.tensor(self.space.normaliser.probs, dtype=torch.float32, device=dev)  # [Q]
        self.scale = torch.from_numpy(self.space.scales()).to(dev)  # [C]
        self.measured = list(self.space.measured)
        self.measured_names = [self.space.names[i] for i in self.measured]
        self._prepare_validation(dataset, train)
        self.n_rows = len(train)
        n_styles = len(self.space.styles)
        self.G, self.D = build_models(config, len(self.space.names), n_styles, N_VOICES, self.grid)
        self.G.to(dev), self.D.to(dev)
        self.amp = amp_dtype(config.amp, dev)
        graphs = wants_graphs(config.cuda_graphs, dev, self.ctx.distributed, self.amp)
        betas = (config.beta1, config.beta2)
        self.opt_g = make_adam(self.G.parameters(), config.lr_g, betas, dev, capturable=graphs)
        self.opt_d = make_adam(self.D.parameters(), config.lr_d, betas, dev, capturable=graphs)
        use_scaler = self.amp == torch.float16
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.partners = None  # [N, pack_neighbours]: each window's nearest same-style windows of other files
        if config.pack > 1:
            self.partners = partner_table(
                cond, style if self.space.styles else None, train.source, config.pack_neighbours
            ).to(dev)
        self.sampler = BatchSampler(  # with groups it draws their anchors: batch_size / pack per batch
            self.n_rows,
            config.batch_size // config.pack,
            config.seed,
            self.ctx.rank,
            self.ctx.world_size,
            device=dev,
        )
        self.best_score, self.best_step = math.inf, -1
        start = self.load(self.out / LAST) if resume else 0
        self.G_ddp, self.D_ddp = distributed.wrap(self.G, self.ctx), distributed.wrap(self.D, self.ctx)
        self.state = StepState(
            config=config,
            ctx=self.ctx,
            grid=self.grid,
            sampler=self.sampler,
            G=self.G,
            D=self.D,
            G_ddp=self.G_ddp,
            D_ddp=self.D_ddp,
            opt_g=self.opt_g,
            opt_d=self.opt_d,
            scaler_g=self.scaler_g,
            scaler_d=self.scaler_d,
            amp=self.amp,
            train_patterns=self.train_patterns,
            train_cond=self.train_cond,
            train_style=self.train_style,
            measured=self.measured,
            measured_names=self.measured_names,
            quantiles=self.quantiles,
            probs=self.probs,
            scale=self.scale,
            partners=self.partners,
            step=start,
        )
        self.runner = StepRunner(self.state, graphs, config.compile)

    # ---- data -----------------------------------------------------------------------------------------
    def _prepare_validation(self, dataset: RhythmDataset, train: RhythmDataset) -> None:
        self.train_stats = zscore_stats(describe_batch(train.patterns, self.grid))
        cond, style = self.space.encode(train)
        rng = np.random.default_rng(self.config.seed + 29)
        anchors = rng.choice(len(train), size=min(512, len(train)), replace=False)
        real = diversity.real_changes(
            train.patterns[:, HIT] > 0.5, cond, style, train.source, anchors=anchors, per_anchor=4, rng=rng
        )
        self.real_diversity = float(np.median(real)) if len(real) else math.nan
        if not len(real):
            log.warning(
                "no two train windows of one style from different files have every slider within %.1f of "
                "each other: model selection cannot compare takes at one setting with real ones",
                diversity.SLIDER_TOLERANCE,
            )
        val = dataset.of_split("validation")
        if self.config.beat_types:
            val = val.select(np.isin(val.beat_type, self.config.beat_types))
        self.val = None
        if self.config.val_rows and len(val) >= 2:
            rows = np.random.default_rng(self.config.seed).permutation(len(val))[: self.config.val_rows]
            val = val.select(np.sort(rows))
            cond, style = self.space.encode(val)
            known = style >= 0 if self.space.styles else np.ones(len(val), dtype=bool)
            if not known.all():  # a style the train split lacks has no embedding: leave those rows out
                log.warning(
                    "%d of %d validation windows have styles the train split lacks (%s); model selection "
                    "leaves them out",
                    int((~known).sum()),
                    len(val),
                    ", ".join(sorted(set(val.style[~known].tolist()))),
                )
            if known.sum() >= 2:
                val = val.select(known)
                self.val = (describe_batch(val.patterns, self.grid), cond[known], style[known])
                self.val_patterns = val.patterns  # [M, 3, V, T]: their hits' velocities and offsets
                self.val_dynamics = dynamics.dynamics("validation", val.patterns, val.patterns, self.grid)

    # ---- one step (training.fitting.step) ---------------------------------------------------------------
    def train_step(self) -> tuple[torch.Tensor, bool]:
        """One generator update (after ``n_critic`` critic updates): stats [7] (``STAT_NAMES``, on the
        device; not read back here) and whether the step ended an epoch."""
        return self.runner.step()

    # ---- validation (model selection) -----------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Fréchet distance of z-scored descriptors, generated vs validation windows, the mean slider error
        and the dynamics penalty (``training.evaluation.dynamics.selection_penalty``: velocity and offset
        histograms, shares of near-silent and full-force hits, accent profiles); ``score`` (lower is better)
        picks ``best.pt``."""
        if self.val is None:
            return {}
        real_desc, cond, style = self.val
        gen = torch.Generator().manual_seed(self.config.seed + 17)
        z = torch.randn(len(cond), self.config.latent_dim, generator=gen)
        self.G.eval()
        out = self.G(
            z.to(self.ctx.device),
            torch.from_numpy(cond).to(self.ctx.device),
            torch.from_numpy(style).to(self.ctx.device) if self.space.styles else None,
        )
        self.G.train()
        fake = binarize(out.float().cpu().numpy(), self.config.hit_threshold)
        fake_desc = describe_batch(fake, self.grid)
        fd = frechet_distance(zscore(real_desc, self.train_stats), zscore(fake_desc, self.train_stats))
        got = self.space.normaliser.transform(self.space.raw_from_descriptors(fake_desc), extrapolate=True)
        error = float(np.abs(got - cond)[:, list(self.space.measured)].mean()) if self.space.measured else 0.0
        played = dynamics.dynamics("model", fake, self.val_patterns, self.grid)
        penalty = dynamics.selection_penalty(played, self.val_dynamics)
        takes = self._validation_takes(cond, style)
        ratio = takes["val_diversity"] / self.real_diversity if self.real_diversity > 0 else 1.0
        shortfall = max(0.0, DIVERSITY_TARGET - ratio)
        return {
            **takes,
            "val_fd": fd,
            "val_cond_error": error,
            "val_velocity_overlap": _or_zero(played.velocity_overlap),  # NaN: no hits at all
            "val_offset_overlap": _or_zero(played.offset_overlap),
            "val_dynamics": penalty,
            "score": fd + 10.0 * error + DYNAMICS_SCORE_WEIGHT * penalty + DIVERSITY_SCORE_WEIGHT * shortfall,
        }

    def _validation_takes(self, cond: np.ndarray, style: np.ndarray) -> dict[str, float]:
        """Median pairwise hit change (and near-duplicate share) of DIVERSITY_TAKES takes at each of the first
        DIVERSITY_SETTINGS validation settings (fixed noise)."""
        n, k = min(DIVERSITY_SETTINGS, len(cond)), DIVERSITY_TAKES
        gen = torch.Generator().manual_seed(self.config.seed + 23)
        z = torch.randn(n * k, self.config.latent_dim, generator=gen)  # [n*k, L]
        rows = np.repeat(np.arange(n), k)
        dev = self.ctx.device
        self.G.eval()
        out = self.G(
            z.to(dev),
            torch.from_numpy(cond[rows]).to(dev),
            torch.from_numpy(style[rows]).to(dev) if self.space.styles else None,
        )
        self.G.train()
        hits = (out[:, HIT].float().cpu().numpy() >= self.config.hit_threshold).reshape(n, k, N_VOICES, -1)
        changes = np.concatenate([diversity.pairwise_changes(h) for h in hits])
        return {
            "val_diversity": float(np.median(changes)),
            "val_near_duplicates": float((changes < diversity.NEAR_DUPLICATE).mean()),
        }

    # ---- checkpoints ----------------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "sampler": self.sampler.state_dict(),
            "config": self.config.to_dict(),
            "conditions": self.space.to_dict(),
            "grid": {
                "steps_per_beat": self.grid.steps_per_beat,
                "beats_per_bar": self.grid.beats_per_bar,
                "bars": self.grid.bars,
            },
            "n_voices": N_VOICES,
            "dataset": self.dataset_info,
            "generator": self.G.state_dict(),
            "critic": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "best": {"score": self.best_score, "step": self.best_step},
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def save(self, name: str) -> Path:
        buffer = io.BytesIO()
        torch.save(self.checkpoint(), buffer)
        return atomic_write_bytes(self.out / name, buffer.getvalue())

    @property
    def step(self) -> int:
        """The steps trained so far (the step state's counter, which the step advances)."""
        return self.state.step

    def load(self, path: Path) -> int:
        """Resume from the checkpoint at ``path``: weights, optimisers, scalers, sampler; -> its step."""
        if not path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint {path} (train without --resume first)")
        state = load_checkpoint(path, str(self.ctx.device))  # ValueError for a corrupt or foreign file
        missing = [key for key in RESUME_KEYS if key not in state]
        if missing:
            raise TrainingError(f"--resume: {path} lacks {', '.join(missing)}: not a training checkpoint")
        if state.get("conditions") != self.space.to_dict():
            raise TrainingError(
                f"{path}: checkpoint was trained with other conditions/styles than this dataset gives"
            )
        try:
            self.G.load_state_dict(state["generator"])
            self.D.load_state_dict(state["critic"])
        except RuntimeError as error:  # e.g. --latent-dim changed since: the weights have other shapes
            first = str(error).strip().splitlines()[-1].strip()[:300]
            raise TrainingError(f"--resume: {path} was trained with another architecture ({first})") from None
        load_adam_state(self.opt_g, state["opt_g"])  # a GPU run's state resumes on the CPU and back
        load_adam_state(self.opt_d, state["opt_d"])
        for scaler, saved in ((self.scaler_g, state["scaler_g"]), (self.scaler_d, state["scaler_d"])):
            if scaler.is_enabled() and saved:  # a float16 run's; a bf16/CPU run saves none: start afresh
                scaler.load_state_dict(saved)
        self.sampler.load_state_dict(state["sampler"])
        step = int(state["step"])
        self.best_score, self.best_step = float(state["best"]["score"]), int(state["best"]["step"])
        if self.ctx.is_main:
            metrics_log.trim_rows(self.out / METRICS, step)  # the resumed run writes the rest again
        return step

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg, main = self.config, self.ctx.is_main
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            cfg.save(self.out)
        history: list[dict[str, Any]] = []
        stats, started = StepStats(self.ctx.device), time.perf_counter()
        bar = _progress(range(self.step, cfg.steps), enabled=main and cfg.progress)
        logs = RunLogs(self.out, bar if hasattr(bar, "write") else None, self.step) if main else None
        best_row, stopped_early = None, False
        for _ in bar:
            step_stats, epoch_ended = self.train_step()
            stats.add(step_stats, self.step)  # on the device: no per-step host sync
            checkpoint_due = self.step % cfg.checkpoint_every == 0
            out_of_time = cfg.time_limit_s > 0 and time.perf_counter() - started > cfg.time_limit_s
            if self.ctx.distributed and cfg.time_limit_s > 0:  # all processes stop at the same step
                agree = epoch_ended or checkpoint_due or self.step % AGREE_EVERY == 0
                agree = agree or self.step == cfg.steps
                out_of_time = agree and distributed.any_over_processes(out_of_time, self.ctx)
            last_step = self.step == cfg.steps or out_of_time
            if not (epoch_ended or checkpoint_due or last_step):
                continue
            self._check_finite(stats)  # before anything of this state is saved
            if epoch_ended or last_step:
                names = sorted(STAT_NAMES)
                means = distributed.mean_over_processes(
                    stats.means()[[STAT_NAMES.index(k) for k in names]], self.ctx
                ).tolist()
                row = {
                    "epoch": round(self.sampler.epoch + self.sampler.position / self.n_rows, 3),
                    "step": self.step,
                    **{k: round(float(v), 5) for k, v in zip(names, means, strict=True)},
                    "seconds": round(time.perf_counter() - started, 2),
                }
                scores = distributed.from_main(self.validate() if main else None, self.ctx)
                row.update({k: round(v, 5) for k, v in scores.items()})
                is_best = row.get("score", math.inf) < self.best_score  # every process keeps the same best
                if is_best:
                    self.best_score, self.best_step, best_row = row["score"], self.step, row
                    if main:
                        self.save(BEST)
                if logs is not None:
                    logs.epoch(row, is_best)
                history.append(row)
                stats.reset()
            if main and (checkpoint_due or last_step):
                self.save(LAST)
                if logs is not None:
                    logs.checkpoint()
            if out_of_time:
                stopped_early = self.step < cfg.steps
                log.warning(
                    "time limit of %.0f s reached at step %d of %d", cfg.time_limit_s, self.step, cfg.steps
                )
                break
        if main and (cfg.steps == 0 or self.step == 0):
            self.save(LAST)
        if logs is not None:
            logs.close()
        distributed.barrier(self.ctx)
        best = self.out / BEST
        return TrainResult(
            self.out,
            self.step,
            self.out / LAST,
            best if best.exists() else None,
            history,
            best_row if best_row is not None else _row_of_step(self.out / METRICS, self.best_step),
            time.perf_counter() - started,
            stopped_early,
        )

    def _check_finite(self, stats: StepStats) -> None:
        """Stop before saving if any step since the start (of any process) gave a non-finite loss."""
        first_bad = int(distributed.min_over_processes(stats.first_bad, self.ctx))
        if first_bad != StepStats.NEVER:
            raise TrainingError(
                f"training diverged at step {first_bad}: a loss or critic score (of this or another process) "
                f"is not finite; stopped before saving this state ({LAST} is the last checkpoint saved "
                "before). Check the data for NaN, or lower the learning rates"
            )


def _row_of_step(path: Path, step: int) -> dict[str, Any] | None:
    """The metrics row of ``step`` (a resumed run's best may come from before the resume)."""
    return next((r for r in metrics_log.read_rows(path) if r.get("step") == step), None)


def _or_zero(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _progress(iterable, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc="fit", unit="step", dynamic_ncols=True)


def train(config: TrainConfig, resume: bool = False) -> TrainResult:
    """Train (or continue with ``resume``) the GAN described by ``config``; see the module docstring."""
    trainer = Trainer(config, resume=resume)
    try:
        return trainer.run()
    finally:
        distributed.teardown(trainer.ctx)


__all__ = ["TrainResult", "Trainer", "train"]
