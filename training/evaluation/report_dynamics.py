"""The dynamics part of the evaluation report: the table of hit-level figures and ``dynamics.png``.

Rows: the reference (the test split's own shares and offsets), the real-vs-real floors (train and validation
split against the test split) and the model (mean ± sd over repeats). Definitions:
``training.evaluation.dynamics``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from companion.core.drum_map import VOICES
from training.evaluation.dynamics import (
    MAIN_VOICES,
    OFFSET_BINS,
    VELOCITY_BINS,
    Dynamics,
    accent_profile,
    hit_values,
)
from training.evaluation.figures import png_bytes

_SHORT = {"kick": "kick", "snare": "snare", "closed_hat": "hat"}
LEGEND = (
    "Hits of every window of the test split against every window of each set; model = as many generated "
    "windows as the test split has, conditions and styles of random train windows, mean ± sd over the "
    "repeats. **vel ov** / **off ov**: overlap of the normalised velocity histograms (16 bins over MIDI "
    "0..127) / offset histograms (20 bins over -0.5..0.5 steps), sum of the bin-wise minimum (1 = same); "
    "**<10** / **>=120**: shares of near-silent and full-force hits (MIDI velocity as written); **|off|**: "
    "mean absolute offset in steps; **accent r**: Pearson correlation of the mean velocity per 16th position "
    "of the bar with the test split's. train and validation rows are the real-vs-real floor."
)


def _fmt(value: float, fmt: str, sd: float | None = None) -> str:
    if not math.isfinite(value):
        return "-"
    text = format(value, fmt)
    return text + (f"±{sd:{fmt}}" if sd is not None and math.isfinite(sd) else "")


def _row(d: Dynamics) -> list[str]:
    own = d.name == "reference"  # its overlaps and correlations with itself are trivially 1

    def cell(value: float, fmt: str, key: str, trivial: bool = own) -> str:
        return "-" if trivial else _fmt(value, fmt, d.sd.get(key))

    return [
        d.name,
        str(d.hits),
        cell(d.velocity_overlap, ".3f", "velocity_overlap"),
        *(cell(d.velocity_overlap_voice[v], ".3f", f"velocity_overlap_voice.{v}") for v in MAIN_VOICES),
        cell(d.offset_overlap, ".3f", "offset_overlap"),
        cell(d.offset_overlap_voice["closed_hat"], ".3f", "offset_overlap_voice.closed_hat"),
        cell(100 * d.quiet_share, ".1f", "quiet_pct", False),
        cell(100 * d.full_share, ".1f", "full_pct", False),
        cell(d.mean_abs_offset, ".3f", "mean_abs_offset", False),
        *(cell(d.accent_correlation[v], ".3f", f"accent_correlation.{v}") for v in MAIN_VOICES),
    ]


def dynamics_table_rows(rows: list[Dynamics]) -> list[list[str]]:
    header = ["set", "hits", "vel ov", *(f"vel ov {_SHORT[v]}" for v in MAIN_VOICES), "off ov", "off ov hat"]
    header += ["<10 %", ">=120 %", "|off|", *(f"accent r {_SHORT[v]}" for v in MAIN_VOICES)]
    return [header, *(_row(d) for d in rows)]


def plot_dynamics(sets: dict[str, np.ndarray], grid, compare: tuple[str, ...] = ("model", "real")) -> bytes:
    """Velocity and offset histograms (all hits and each main voice) and the accent profiles: the test
    split filled grey, the other sets as lines. ``sets``: name -> [N, 3, V, T] (``reference`` too)."""
    from matplotlib.figure import Figure

    compare = tuple(name for name in compare if name in sets)
    figure = Figure(figsize=(14, 9))
    axes = figure.subplots(3, 1 + len(MAIN_VOICES), squeeze=False)
    voices = (None, *(VOICES.index(v) for v in MAIN_VOICES))
    titles = ("all hits", *MAIN_VOICES)
    for row, (bins, label) in enumerate(((VELOCITY_BINS, "MIDI velocity"), (OFFSET_BINS, "offset (steps)"))):
        for column, (voice, title) in enumerate(zip(voices, titles, strict=True)):
            ax = axes[row, column]
            reference = hit_values(sets["reference"], voice)[row]
            ax.hist(
                np.clip(reference, bins[0], bins[-1]), bins=bins, density=True, color="0.75", label="test"
            )
            for name, linestyle in zip(compare, ("-", "--"), strict=False):
                values = hit_values(sets[name], voice)[row]
                if len(values):
                    ax.hist(
                        np.clip(values, bins[0], bins[-1]),
                        bins=bins,
                        density=True,
                        histtype="step",
                        linestyle=linestyle,
                        linewidth=1.4,
                        label=name,
                    )
            ax.set_title(f"{title}: {label}", fontsize=8)
            ax.tick_params(labelsize=6)
    profiles = {name: accent_profile(sets[name], grid) for name in ("reference", *compare)}
    positions = np.arange(grid.steps_per_bar)
    for column, main_voice in enumerate(MAIN_VOICES):
        ax = axes[2, column]
        i = VOICES.index(main_voice)
        for name, (means, counts) in profiles.items():
            shown = np.where(counts[i] > 0, means[i], np.nan)
            style: dict[str, Any] = (
                {"color": "0.4", "linewidth": 3, "alpha": 0.6}
                if name == "reference"
                else {"marker": "o", "ms": 3}
            )
            ax.plot(positions, shown, label="test" if name == "reference" else name, **style)
        ax.set_title(f"{main_voice}: mean velocity per 16th of the bar", fontsize=8)
        ax.set_xticks(positions[:: grid.steps_per_beat])
        ax.set_ylim(0, 127)
        ax.tick_params(labelsize=6)
    axes[2, -1].axis("off")
    axes[0, 0].legend(fontsize=6)
    axes[2, 0].legend(fontsize=6)
    figure.suptitle("Dynamics: hits of the test split (grey) vs generated and other real hits", fontsize=9)
    return png_bytes(figure)
