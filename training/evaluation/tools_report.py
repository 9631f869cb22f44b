"""The page of ``nudge-train evaluate-tools``: one table per task (mean ± sd over the repeats), the fill
classifier's figures, the targets of issue 22 beside the figures, and plots. Written into ``DIR``
(``README.md``, ``metrics.json``, ``tools_*.png``), every file atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from companion.core.atomic import atomic_write_bytes, atomic_write_text
from companion.core.drum_map import VOICES
from companion.core.pattern import HIT, VELOCITY
from training.evaluation.figures import png_bytes
from training.evaluation.tools_context import ToolsEvaluation
from training.evaluation.tools_targets import targets_table

# task: (figure, label, format) in column order
COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "groove": (
        ("hits_kept", "hits kept", ".0%"),
        ("velocity_overlap", "vel ov", ".3f"),
        ("offset_overlap", "off ov", ".3f"),
        ("velocity_r", "vel r/clip", ".3f"),
        ("offset_r", "off r/clip", ".3f"),
        ("velocity_mae", "vel MAE", ".1f"),
        ("offset_mae", "off MAE", ".3f"),
    ),
    "drumify": (
        ("onset_f1", "onset F1", ".3f"),
        ("one_nn", "1-NN", ".3f"),
        ("frechet", "Fréchet", ".2f"),
        ("copies", "copies", ".0f"),
        ("hits_per_bar", "hits/bar", ".1f"),
    ),
    "continue": (
        ("input_unchanged", "input kept", ".0%"),
        ("hamming_to_truth", "Hamming to truth", ".1f"),
        ("not_a_copy", "not a copy", ".0%"),
        ("one_nn", "1-NN", ".3f"),
        ("frechet", "Fréchet", ".2f"),
    ),
    "interpolate": (
        ("monotone_steps", "monotone steps", ".0%"),
        ("ends_within_15", "ends within 15%", ".0%"),
        ("largest_step", "largest step", ".2f"),
        ("steps_within_half", "steps <= half", ".0%"),
        ("one_nn_step2", "1-NN step 2", ".3f"),
        ("one_nn_step3", "1-NN step 3", ".3f"),
        ("one_nn_step4", "1-NN step 4", ".3f"),
    ),
    "fill": (("before_unchanged", "bars before kept", ".0%"), ("called_fill", "called a fill", ".0%")),
}
SUMS = {"copies"}  # figures whose total over the repeats is shown (not the mean)


def _cell(evaluation: ToolsEvaluation, task: str, row: str, name: str, fmt: str) -> str:
    figure = evaluation.tasks[task][row].get(name)
    if figure is None or not math.isfinite(figure.mean):
        return "-"
    if name in SUMS:
        return f"{sum(figure.values):{fmt}}"
    text = f"{figure.mean:{fmt}}"
    return text + (f" ± {figure.sd:{fmt}}" if evaluation.config.repeats > 1 and fmt != ".0%" else "")


def table(evaluation: ToolsEvaluation, task: str) -> list[list[str]]:
    columns = [
        c for c in COLUMNS[task] if any(c[0] in figs for figs in evaluation.tasks.get(task, {}).values())
    ]
    rows = [["row", *(label for _, label, _ in columns)]]
    for row in evaluation.tasks.get(task, {}):
        rows.append([row, *(_cell(evaluation, task, row, name, fmt) for name, _, fmt in columns)])
    return rows


def markdown(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def format_stdout(evaluation: ToolsEvaluation) -> str:
    out = [
        f"tools of {evaluation.model_name} (tools graph: {'yes' if evaluation.has_tools else 'no'}), "
        f"{evaluation.config.repeats} repeats of {evaluation.counts.get('clips_per_repeat', 0)} test clips"
    ]
    for task in COLUMNS:
        if task in evaluation.tasks:
            out += ["", task, text_table(table(evaluation, task))]
    c = evaluation.classifier
    out += [
        "",
        f"fill classifier (train split): test balanced accuracy {c['test_accuracy']:.3f}; calls "
        f"{c['test_fills_called_fill']:.0%} of test fills and {c['test_beats_called_fill']:.0%} of test beat "
        "bars fills",
    ]
    return "\n".join(out)


def plot_examples(evaluation: ToolsEvaluation, task: str, per_row: int = 2) -> bytes:
    """Piano rolls (voices x steps, velocity as shade) of a few examples of every row of ``task``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = evaluation.examples.get(task, {})
    if task == "interpolate":  # one path per row: its patterns side by side
        sets = {
            f"{name} {k + 1}": paths[0][k : k + 1]
            for name, paths in sets.items()
            for k in range(len(paths[0]))
        }
    names = list(sets)
    cols = max(1, min(per_row, max((len(p) for p in sets.values()), default=1)))
    figure, axes = plt.subplots(len(names), cols, figsize=(4.2 * cols, 1.3 * len(names) + 0.4), squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks(range(len(VOICES)), VOICES if c == 0 else [""] * len(VOICES), fontsize=6)
            if c < len(sets[name]):
                p = sets[name][c]
                ax.imshow(
                    np.where(p[HIT] > 0.5, 0.25 + 0.75 * p[VELOCITY], 0),
                    aspect="auto",
                    cmap="Greys",
                    vmin=0,
                    vmax=1,
                    origin="lower",
                )
                for x in range(16, p.shape[-1], 16):
                    ax.axvline(x - 0.5, color="tab:red", lw=0.5)
            if c == 0:
                ax.set_title(name, fontsize=8, loc="left")
    figure.tight_layout()
    data = png_bytes(figure)
    plt.close(figure)
    return data


def plot_groove(evaluation: ToolsEvaluation) -> bytes:
    """Per-clip correlation of velocities and of offsets with the drummer's, each row, every repeat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = evaluation.tasks["groove"]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, name, title in ((axes[0], "velocity_r", "velocity"), (axes[1], "offset_r", "offset")):
        labels = list(rows)
        ax.boxplot([rows[r][name].values for r in labels], orientation="horizontal")
        ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=7)
        ax.set_title(f"mean per-clip r, {title} (each point: a repeat)", fontsize=8)
    figure.tight_layout()
    data = png_bytes(figure)
    plt.close(figure)
    return data


def markdown_page(evaluation: ToolsEvaluation, images: dict[str, str]) -> str:
    c = evaluation.classifier
    out = [
        f"# Tools of `{evaluation.model_name}`: Groove, Drumify, Continue, Interpolate, Fill",
        "",
        f"GMD test split, 4-bar windows, {evaluation.config.repeats} repeats of "
        f"{evaluation.counts.get('clips_per_repeat', 0)} clips (one window per test source, drawn afresh "
        f"each repeat); mean ± sd over the repeats (copies: the total). Tools graph: "
        f"{'yes' if evaluation.has_tools else 'no (the plain generator, its search fallback)'}. Definitions "
        "and targets: [docs/evaluation.md](../../../docs/evaluation.md), *Tools*. Command: "
        "`nudge-train evaluate-tools MODEL --data D.npz --fills F.npz --out DIR`.",
        "",
        "## Targets (issue 22)",
        "",
        *targets_table(_clean(evaluation.to_dict())),
    ]
    for task in COLUMNS:
        if task in evaluation.tasks:
            out += ["", f"## {task.capitalize()}", "", markdown(table(evaluation, task))]
            if task in images:
                out += ["", f"![{task}]({images[task]})"]
    out += [
        "",
        f"Fill classifier (logistic regression, train split: {c['train_fill_bars']} fill bars against "
        f"beat bars): balanced accuracy on the test split **{c['test_accuracy']:.3f}** "
        f"({c['test_fills_called_fill']:.0%} of {c['test_fill_bars']} test fill bars called fills, "
        f"{c['test_beats_called_fill']:.0%} of {c['test_beat_bars']} test beat bars).",
        "",
        "Seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in evaluation.seconds.items()) + ".",
    ]
    return "\n".join(out) + "\n"


def write_report(evaluation: ToolsEvaluation, out_dir: str | os.PathLike) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, images = [], {}
    if "groove" in evaluation.tasks:
        written.append(atomic_write_bytes(out / "tools_groove.png", plot_groove(evaluation)))
        images["groove"] = "tools_groove.png"
    for task in ("drumify", "continue", "interpolate", "fill"):
        if evaluation.examples.get(task):
            written.append(atomic_write_bytes(out / f"tools_{task}.png", plot_examples(evaluation, task)))
            images[task] = f"tools_{task}.png"
    written.append(atomic_write_text(out / "README.md", markdown_page(evaluation, images)))
    text = json.dumps(_clean(evaluation.to_dict()), indent=1, allow_nan=False)
    written.append(atomic_write_text(out / "metrics.json", text + "\n"))
    return written


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
