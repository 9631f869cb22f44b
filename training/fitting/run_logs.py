"""What a training run leaves for the people watching it, besides the checkpoints.

- ``metrics.jsonl``: one row per epoch (``training.fitting.metrics_log``), always.
- TensorBoard event files in the run folder (``tensorboard --logdir runs``) when tensorboard is installed
  (it is part of the ``[train]`` extra); without it a line says how to get them.
- ``curves.png``: the losses and the validation figures over the steps, the best step marked; written at
  every checkpoint and at the end, whatever else is installed (matplotlib is part of ``[train]``).
- On the console: the progress bar's postfix shows the latest losses and validation figures, and each new
  best is printed as a line with its step and score (as Lightning's ModelCheckpoint does with verbose).

Only the main process of a distributed run writes any of this (``Trainer.run`` makes one ``RunLogs`` there).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from companion.core.atomic import atomic_write_bytes
from training.fitting import metrics_log

log = logging.getLogger(__name__)
METRICS, CURVES = "metrics.jsonl", "curves.png"
EVENTS_PREFIX = "events.out.tfevents."  # TensorBoard's event file names
# row key -> TensorBoard tag
TAGS = {
    "loss_d": "loss/critic",
    "loss_g": "loss/generator",
    "loss_cond": "loss/sliders",
    "loss_dyn": "loss/dynamics",
    "d_real": "critic/real",
    "d_fake": "critic/fake",
    "val_fd": "validation/frechet",
    "val_cond_error": "validation/slider_error",
    "val_dynamics": "validation/dynamics_penalty",
    "val_velocity_overlap": "validation/velocity_overlap",
    "val_offset_overlap": "validation/offset_overlap",
    "score": "validation/score",
}
POSTFIX = (
    ("loss_d", "D"),
    ("loss_g", "G"),
    ("val_fd", "val_fd"),
    ("val_cond_error", "val_cond"),
    ("score", "score"),
)


def best_line(row: dict[str, Any]) -> str:
    """``step 1,500: new best score 3.412 (Fréchet 2.91, slider error 0.041, dynamics 0.009) -> best.pt``."""
    nan = float("nan")
    return (
        f"step {row['step']:,}: new best score {row['score']:.3f} (Fréchet {row.get('val_fd', nan):.2f}, "
        f"slider error {row.get('val_cond_error', nan):.3f}, dynamics {row.get('val_dynamics', nan):.3f}) "
        "-> best.pt"
    )


class RunLogs:
    """The run's logs (see the module docstring); ``bar`` is the tqdm bar, or None without one."""

    def __init__(self, out: Path, bar: Any = None, start_step: int = 0, tensorboard: bool = True) -> None:
        self.out, self.bar = Path(out), bar
        self.writer = _summary_writer(self.out, start_step) if tensorboard else None

    def say(self, text: str) -> None:
        """A line on the console that does not tear the progress bar."""
        if self.bar is not None and hasattr(self.bar, "write"):
            self.bar.write(text)
        else:
            print(text, flush=True)

    def epoch(self, row: dict[str, Any], best: bool) -> None:
        metrics_log.append_row(self.out / METRICS, row)
        log.info("epoch %s", row)
        if self.writer is not None:
            for key, tag in TAGS.items():
                if isinstance(row.get(key), int | float):
                    self.writer.add_scalar(tag, row[key], row["step"])
            self.writer.flush()
        if self.bar is not None and hasattr(self.bar, "set_postfix"):
            self.bar.set_postfix(
                {short: f"{row[key]:.3f}" for key, short in POSTFIX if isinstance(row.get(key), int | float)},
                refresh=False,
            )
        if best:
            self.say(best_line(row))

    def checkpoint(self) -> None:
        """Draw ``curves.png`` from every row so far (a resumed run's earlier rows too)."""
        try:
            data = curves_png(metrics_log.read_rows(self.out / METRICS), self.out.name)
        except ImportError:
            log.warning("no %s: matplotlib is not installed (pip install 'nudge[train]')", CURVES)
            return
        if data is not None:
            atomic_write_bytes(self.out / CURVES, data)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _summary_writer(out: Path, start_step: int):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises this when the tensorboard package is missing
        log.warning("no TensorBoard event files: tensorboard is not installed (pip install tensorboard)")
        return None
    # purge_step: a resumed run drops the events past its checkpoint, as metrics.jsonl drops those rows
    return SummaryWriter(log_dir=str(out), purge_step=start_step or None)


def curves_png(rows: list[dict[str, Any]], title: str) -> bytes | None:
    """Losses (left) and validation figures (right) over the steps, the best score's step marked."""
    if not rows:
        return None
    from matplotlib.figure import Figure

    from training.evaluation.figures import png_bytes

    steps = [r["step"] for r in rows]
    figure = Figure(figsize=(12, 4.2), layout="constrained")
    losses, validation = figure.subplots(1, 2)
    for key in ("loss_d", "loss_g", "loss_cond", "loss_dyn"):
        if any(key in r for r in rows):
            losses.plot(steps, [r.get(key, float("nan")) for r in rows], marker=".", label=TAGS[key])
    losses.set_title("training losses (epoch means)", fontsize=10)
    scored = [r for r in rows if isinstance(r.get("score"), int | float)]
    for key in ("score", "val_fd", "val_cond_error", "val_dynamics"):
        if scored:
            validation.plot(
                [r["step"] for r in scored],
                [r.get(key, float("nan")) for r in scored],
                marker=".",
                label=TAGS[key],
            )
    if scored:
        best = min(scored, key=lambda r: r["score"])
        validation.axvline(best["step"], color="0.4", linestyle=":", label=f"best: step {best['step']:,}")
        validation.set_yscale("symlog", linthresh=0.1)  # score and Fréchet are large, the others small
        validation.set_ylim(bottom=0)
        validation.set_title("validation (lower is better; best.pt = lowest score)", fontsize=10)
    else:
        validation.set_title("validation: none (no validation split, or --val-rows 0)", fontsize=10)
    for ax in (losses, validation):
        ax.set_xlabel("step", fontsize=9)
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    figure.suptitle(f"run {title}: losses and validation per epoch", fontsize=11)
    return png_bytes(figure)
