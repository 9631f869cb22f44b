"""The evaluation report: a text table for stdout, a Markdown page with plots, and the figures as JSON.

``write_report(evaluation, out_dir)`` writes ``README.md``, ``metrics.json``, ``piano_rolls.png``,
``descriptors.png``, ``dynamics.png`` and ``control.png`` into ``out_dir`` (each atomically). Plots use
matplotlib's object API (no pyplot, no global backend change).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from companion.core.atomic import atomic_write_bytes, atomic_write_text
from companion.core.descriptors import DESCRIPTOR_NAMES
from training.evaluation.control import SWING_NOTE, swing_table_rows
from training.evaluation.diversity import LEGEND as DIVERSITY_LEGEND
from training.evaluation.diversity import diversity_table_rows, plot_diversity
from training.evaluation.evaluate import Evaluation
from training.evaluation.figures import png_bytes
from training.evaluation.report_dynamics import LEGEND, dynamics_table_rows, plot_dynamics
from training.evaluation.summary import comparison_rows, markdown_table
from training.evaluation.vary_eval import VARY_NOTE, vary_table_rows

# column header         attribute            format   meaning (for the page's legend)
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    (
        "1-NN acc",
        "one_nn",
        ".3f",
        "leave-one-out 1-NN two-sample accuracy vs the reference (0.5 = indistinguishable)",
    ),
    (
        "Frechet",
        "frechet",
        ".2f",
        "Fréchet distance of z-scored descriptors to the reference (0 = same Gaussian)",
    ),
    (
        "OA",
        "oa_mean",
        ".3f",
        "mean over descriptors of the overlap of the set's and the reference's distributions",
    ),
    (
        "OA Y&L",
        "oa_intra_inter_mean",
        ".3f",
        "mean Yang & Lerch OA: reference intra-set vs inter-set distances",
    ),
    ("DP@16", "drum_pattern", ".3f", "drum-pattern score: hits on 8ths weigh 1, off-8th 16ths 0.1"),
    ("hits/bar", "hits_per_bar", ".1f", "mean onsets per bar"),
    ("NN-Ham", "nn_hamming", ".1f", "mean Hamming distance (cells) to the nearest training window"),
    (
        "copies",
        "exact_copies",
        "d",
        "patterns (all repeats together) whose hit grid equals a training window's",
    ),
    ("diversity", "diversity", ".1f", "mean pairwise Hamming distance within the set"),
)


def _cell(value: float | int, fmt: str) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return format(value, fmt)


def set_table_rows(evaluation: Evaluation) -> list[list[str]]:
    """Header and one row per set; 1-NN and Fréchet carry "±sd" over repeated draws where there were any."""
    header = ["set", "n", *(c[0] for c in COLUMNS)]
    rows = []
    for r in evaluation.rows:
        cells = [_cell(getattr(r, a), f) + (f"±{r.sd[a]:{f}}" if a in r.sd else "") for _, a, f, _ in COLUMNS]
        rows.append([r.name, str(r.n), *cells])
    return [header, *rows]


def control_table_rows(evaluation: Evaluation) -> list[list[str]]:
    rows = [["slider", "path", "rho", "MAE", "max leak (other sliders)"]]
    for result in evaluation.control:
        for name, rho in result.rho.items():
            onto, leak = result.max_leak.get(name, ("-", math.nan))
            leak_text = "-" if math.isnan(leak) else f"{leak:.3f} ({onto})"
            rows.append([name, result.path, _cell(rho, ".3f"), _cell(result.mae[name], ".3f"), leak_text])
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_stdout(evaluation: Evaluation) -> str:
    counts, config = evaluation.counts, evaluation.config
    parts = [
        f"Nudge evaluation of '{evaluation.model_name}' ({evaluation.model_path}), seed {config.seed}",
        f"reference: {evaluation.reference_label}; {counts['reference']} reference, {counts['real']} real, "
        f"{counts['generated']} generated per set x {config.repeats} repeats, {counts['train']} train",
        "",
        text_table(set_table_rows(evaluation)),
        "(1-NN 0.5 and Frechet 0 = indistinguishable from the reference; 'real' = sampling noise floor)",
        "",
        *(["", text_table(dynamics_table_rows(evaluation.dynamics))] if evaluation.dynamics else []),
        *(
            ["", "takes at one fixed setting:", text_table(diversity_table_rows(evaluation.diversity))]
            if evaluation.diversity
            else []
        ),
        *(["", "vary (nudge):", text_table(vary_table_rows(evaluation.vary))] if evaluation.vary else []),
        "",
        text_table(control_table_rows(evaluation)),
        *(
            ["", text_table(swing_table_rows(evaluation.control))]
            if swing_table_rows(evaluation.control)
            else []
        ),
        *evaluation.control_notes,
        f"evaluation took {evaluation.seconds.get('total', 0.0):.2f} s",
    ]
    return "\n".join(parts)


def markdown_page(evaluation: Evaluation, images: dict[str, str]) -> str:
    per_descriptor = [["descriptor", *(r.name for r in evaluation.rows[1:])]]
    for d in DESCRIPTOR_NAMES:
        per_descriptor.append(
            [d, *(f"{r.oa[d]:.3f} / {r.oa_intra_inter[d]:.3f}" for r in evaluation.rows[1:])]
        )
    legend = "\n".join(f"- **{c[0]}**: {c[3]}" for c in COLUMNS)
    config, grid = evaluation.config, evaluation.grid
    counts = ", ".join(f"{k} {v}" for k, v in evaluation.counts.items())
    lines = [
        f"# Evaluation of `{evaluation.model_name}`",
        "",
        f"Model `{evaluation.model_path}`; grid {grid.bars} bars x {grid.beats_per_bar} beats "
        f"x {grid.steps_per_beat} steps; seed {config.seed}; "
        f"{config.repeats} repeats per row (fresh reference and sets each).",
        f"Reference: {evaluation.reference_label}. Windows: {counts}.",
        "Conditions and styles of the generated sets are those of random training windows; baselines learn "
        "from the train split only. Definitions: `docs/evaluation.md`.",
        "",
        "## Realism, novelty, diversity",
        "",
        markdown_table(set_table_rows(evaluation)),
        "",
        legend,
        "",
        "## Overlapping area per descriptor (direct / Yang & Lerch intra-inter)",
        "",
        markdown_table(per_descriptor),
        "",
        *(
            [
                "## Dynamics: velocities and micro-timing of the hits",
                "",
                markdown_table(dynamics_table_rows(evaluation.dynamics)),
                "",
                LEGEND,
                "",
            ]
            if evaluation.dynamics
            else []
        ),
        *(
            [
                "## Takes at one setting: conditional diversity",
                "",
                markdown_table(diversity_table_rows(evaluation.diversity)),
                "",
                DIVERSITY_LEGEND,
                "",
            ]
            if evaluation.diversity
            else []
        ),
        *(
            [
                "## Nudge (vary) on real and made clips",
                "",
                markdown_table(vary_table_rows(evaluation.vary)),
                "",
                VARY_NOTE,
                "",
            ]
            if evaluation.vary
            else []
        ),
        "## Control (sweep of each slider 0..1, others at their defaults)",
        "",
        f"{config.sweep_levels} levels x {config.sweep_samples} samples per slider; rho = Spearman between "
        "requested and measured normalised value; MAE = mean |measured - requested|; leak = largest |rho| of "
        "the requested value with another slider's descriptor. raw = generator alone; search = "
        f"`companion.runtime.engine.generate` ({config.n_candidates} candidates); "
        "retrieval = nearest train window.",
        "",
        markdown_table(control_table_rows(evaluation)),
        "",
        *(
            [markdown_table(swing_table_rows(evaluation.control)), "", SWING_NOTE, ""]
            if swing_table_rows(evaluation.control)
            else []
        ),
        *(f"- {note}" for note in evaluation.control_notes),
        "",
        *(
            [
                "## Compared with other models (same data, seed and settings, same run)",
                "",
                markdown_table(
                    comparison_rows(
                        [
                            (evaluation.model_name, json_ready(evaluation.to_dict())),
                            *evaluation.compared.items(),
                        ]
                    )
                ),
                "",
            ]
            if evaluation.compared
            else []
        ),
        "## Plots",
        "",
        *(f"![{title}]({name})\n" for title, name in images.items()),
        "Runtime: " + ", ".join(f"{k} {v:.2f} s" for k, v in evaluation.seconds.items()) + ".",
        "",
    ]
    return "\n".join(lines)


# --- plots -------------------------------------------------------------------------------------------------


def plot_piano_rolls(evaluation: Evaluation, per_set: int = 3) -> bytes:
    """A row of example patterns per set, drawn as ``nudge generate --png`` draws them: named voices,
    velocity as shade, hits where they were played."""
    from matplotlib.figure import Figure

    from companion.core.piano_roll import LABEL_FONT, draw_piano_roll, voice_labels

    names = list(evaluation.examples)
    grid = evaluation.grid
    figure = Figure(figsize=(5.2 * per_set + 1.2, 2.3 * len(names) + 0.6), layout="constrained")
    axes = figure.subplots(len(names), per_set, squeeze=False)
    for row, name in enumerate(names):
        examples = evaluation.examples[name]
        for column in range(per_set):
            ax = axes[row, column]
            labels = voice_labels() if column == 0 else None
            if column < len(examples):
                draw_piano_roll(ax, examples[column], grid, labels)
            else:
                ax.axis("off")
            ax.set_title(f"{name}, example {column + 1}", fontsize=LABEL_FONT + 1, loc="left")
    figure.suptitle(
        "Sample patterns of each set: shade = velocity (black = 127), hits drawn where played "
        "(off the step lines by their micro-timing)",
        fontsize=LABEL_FONT + 2,
    )
    return png_bytes(figure)


def plot_descriptors(evaluation: Evaluation, compare: tuple[str, ...] = ("model", "real")) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 5.5))
    axes = figure.subplots(2, math.ceil(len(DESCRIPTOR_NAMES) / 2)).ravel()
    reference = evaluation.descriptors["reference"]
    for i, (ax, name) in enumerate(zip(axes, DESCRIPTOR_NAMES, strict=False)):
        values = [reference[:, i], *(evaluation.descriptors[s][:, i] for s in compare)]
        low, high = min(v.min() for v in values), max(v.max() for v in values)
        bins = np.linspace(low, high if high > low else low + 1, 21)
        ax.hist(reference[:, i], bins=bins, density=True, color="0.75", label="reference")
        for set_name, style in zip(compare, ("-", "--"), strict=False):
            ax.hist(
                evaluation.descriptors[set_name][:, i],
                bins=bins,
                density=True,
                histtype="step",
                linestyle=style,
                linewidth=1.4,
                label=set_name,
            )
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    figure.suptitle("Descriptor distributions: reference (held-out real) vs generated", fontsize=9)
    return png_bytes(figure)


def plot_control(evaluation: Evaluation) -> bytes:
    from matplotlib.figure import Figure

    names = sorted({name for result in evaluation.control for name in result.measured})
    figure = Figure(figsize=(3.2 * max(1, len(names)), 3.6), layout="constrained")
    axes = figure.subplots(1, max(1, len(names)), squeeze=False, sharey=True)[0]
    for ax, name in zip(axes, names, strict=False):
        ax.plot([0, 1], [0, 1], ":", color="0.5")
        for result in evaluation.control:
            if name in result.measured:
                measured = result.measured[name]  # [L, M]
                q25, q50, q75 = np.percentile(measured, [25, 50, 75], axis=1)
                ax.plot(
                    result.levels,
                    q50,
                    marker="o",
                    markersize=3,
                    label=f"{result.path} (rho {result.rho[name]:.2f})",
                )
                ax.fill_between(result.levels, q25, q75, alpha=0.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("requested (slider 0..1)", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("measured (median, IQR band)", fontsize=8)
    figure.suptitle(
        "Slider control: each slider swept 0..1 with the others fixed; measured value of its descriptor "
        "(dotted: perfect control)",
        fontsize=10,
    )
    return png_bytes(figure)


def write_report(evaluation: Evaluation, out_dir: str | os.PathLike) -> list[Path]:
    """Write the page, the figures and the plots into ``out_dir``; returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = {"Sample patterns": "piano_rolls.png", "Descriptor histograms": "descriptors.png"}
    written = [
        atomic_write_bytes(out / "piano_rolls.png", plot_piano_rolls(evaluation)),
        atomic_write_bytes(out / "descriptors.png", plot_descriptors(evaluation)),
    ]
    if evaluation.dynamics_sets:
        images["Dynamics"] = "dynamics.png"
        written.append(
            atomic_write_bytes(out / "dynamics.png", plot_dynamics(evaluation.dynamics_sets, evaluation.grid))
        )
    if evaluation.diversity:
        images["Takes at one setting"] = "diversity.png"
        written.append(atomic_write_bytes(out / "diversity.png", plot_diversity(evaluation.diversity)))
    if any(result.measured for result in evaluation.control):
        images["Control sweeps"] = "control.png"
        written.append(atomic_write_bytes(out / "control.png", plot_control(evaluation)))
    written.append(
        atomic_write_text(out / "metrics.json", json.dumps(json_ready(evaluation.to_dict()), indent=1))
    )
    written.append(atomic_write_text(out / "README.md", markdown_page(evaluation, images)))
    return written


def json_ready(value):
    """JSON-ready: numpy scalars to Python, NaN to null (strict JSON has no NaN), tuples to lists."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
