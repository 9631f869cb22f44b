"""Piano rolls you can read: one row per named voice, each hit a bar whose shade is its velocity, drawn
where it was played (its micro-timing offset moves it off the step lines), beats and bars ruled.

One drawing for ``nudge generate --png`` and the evaluation report's sample patterns. matplotlib is
optional (the ``png`` extra, and part of ``train``): ``require_matplotlib`` says how to get it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from companion.core.drum_map import VOICES
from companion.core.errors import UsageError
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid

if TYPE_CHECKING:  # matplotlib is optional: imported inside the functions that draw
    from matplotlib.axes import Axes
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure

LABEL_FONT = 9  # points: readable at 100 % on a laptop screen
HIT_WIDTH_STEPS = 0.8
MATPLOTLIB_HINT = "pip install matplotlib (or: pip install 'nudge[png]')"


class PianoRollError(UsageError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib() -> None:
    """``PianoRollError`` with the install command when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PianoRollError(
            f"piano rolls need matplotlib, which is not installed: {MATPLOTLIB_HINT}"
        ) from None


def voice_labels(output_pitches: Sequence[int] | None = None) -> list[str]:
    """``kick 36``, ``snare 38`` ...: the voice names with their MIDI pitches (when known)."""
    if output_pitches is None:
        return [v.replace("_", " ") for v in VOICES]
    return [f"{v.replace('_', ' ')} {p}" for v, p in zip(VOICES, output_pitches, strict=True)]


def shade_of(velocity: np.ndarray | float) -> np.ndarray:
    """Grey level 0..1 of a velocity 0..1: the softest hit still shows."""
    return 0.15 + 0.85 * np.asarray(velocity)


def draw_piano_roll(
    ax: Axes, planes: np.ndarray, grid: Grid, labels: Sequence[str] | None, threshold: float = 0.5
) -> PatchCollection:
    """Draw one pattern ``planes`` [3, V, T] (hit, velocity 0..1, offset in steps) on the axes ``ax``.

    ``labels`` names the rows (None: no names, for the inner plots of a grid of rolls).
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    n_voices, n_steps = planes.shape[1], planes.shape[2]
    voices, steps = np.nonzero(planes[HIT] >= threshold)  # [K], [K]
    velocity = np.clip(planes[VELOCITY][voices, steps], 0.0, 1.0)
    start = steps + np.clip(planes[OFFSET][voices, steps], -0.5, 0.5)  # where it was played, in steps
    boxes = [Rectangle((x, y - 0.4), HIT_WIDTH_STEPS, 0.8) for x, y in zip(start, voices, strict=True)]
    shade = PatchCollection(boxes, cmap="Greys", linewidths=0)
    shade.set_array(shade_of(velocity))
    shade.set_clim(float(shade_of(0.0)), 1.0)  # the colour scale runs from velocity 0 to full
    for step in range(n_steps + 1):  # a line where each step's time is: steps faint, beats grey, bars dark
        if step % grid.steps_per_bar == 0:
            ax.axvline(step, color="0.2", linewidth=1.0, zorder=0)
        elif step % grid.steps_per_beat == 0:
            ax.axvline(step, color="0.6", linewidth=0.6, zorder=0)
        else:
            ax.axvline(step, color="0.85", linewidth=0.4, zorder=0)
    ax.add_collection(shade)
    ax.set_xlim(-0.6, n_steps + 0.1)
    ax.set_ylim(-0.6, n_voices - 0.4)
    bar_starts = range(0, n_steps, grid.steps_per_bar)
    ax.set_xticks(list(bar_starts), [f"bar {s // grid.steps_per_bar + 1}" for s in bar_starts])
    ax.tick_params(axis="x", labelsize=LABEL_FONT - 1, length=0)
    ax.set_yticks(range(n_voices), list(labels) if labels else [""] * n_voices)
    ax.tick_params(axis="y", labelsize=LABEL_FONT, length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return shade


def piano_roll_png(
    planes: np.ndarray,
    grid: Grid,
    title: str,
    output_pitches: Sequence[int] | None = None,
    threshold: float = 0.5,
) -> bytes:
    """One pattern as a PNG: named rows, velocity as shade (with a scale), micro-timing visible."""
    require_matplotlib()
    from matplotlib.figure import Figure  # (no pyplot: no GUI backend, no global state)

    width = min(22.0, 3.0 + 0.17 * grid.n_steps)
    figure = Figure(figsize=(width, 3.6), layout="constrained")
    ax = figure.add_subplot()
    shade = draw_piano_roll(ax, planes, grid, voice_labels(output_pitches), threshold)
    ax.set_title(title, fontsize=LABEL_FONT + 1, loc="left")
    ax.set_xlabel(
        "each hit starts where it was played: on its step line = on the grid, left = early, right = late",
        fontsize=LABEL_FONT - 1,
    )
    bar = figure.colorbar(shade, ax=ax, fraction=0.025, pad=0.01)
    midi = (1, 32, 64, 96, 127)  # MIDI velocities (the plane holds velocity / 127)
    bar.set_ticks(shade_of(np.array(midi) / 127.0).tolist(), labels=[str(v) for v in midi])
    bar.ax.tick_params(labelsize=LABEL_FONT - 1)
    bar.set_label("MIDI velocity", fontsize=LABEL_FONT - 1)
    return png_bytes(figure)


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    """A matplotlib ``Figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
