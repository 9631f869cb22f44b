"""Asking the tools graph to complete a pattern: its inputs for one model-length window, seeded samples, and
the windows a clip of another length is cut into (``companion.runtime.tools`` uses these).

A window is a ``Pattern`` exactly as long as the model; what is given in it is a ``Given``: which cells'
hits and which cells' velocities and offsets the graph must take as they are, and the rhythm its hits must
follow (Drumify). Sliders that are not given reach the graph as ``UNKNOWN`` (-1), a style that is not
given as the graph's "unknown" style: the graph was trained to infer both from what is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX
from companion.core.drum_map import N_VOICES
from companion.core.errors import UsageError
from companion.core.pattern import HIT, Pattern
from companion.runtime import candidates
from companion.runtime.model import Model
from companion.runtime.search_request import MAX_CANDIDATES, MIN_CANDIDATES

UNKNOWN = -1.0  # a slider the tools graph is to choose itself


@dataclass(frozen=True)
class Given:
    """What a window gives the graph: ``hits`` and ``dynamics`` bool [V, T] (cells whose hit / velocity and
    offset are given), ``rhythm`` float32 [T] onset strengths or None."""

    hits: np.ndarray
    dynamics: np.ndarray
    rhythm: np.ndarray | None = None


def given_bars(window: Pattern, first: int, stop: int) -> Given:
    """Bars ``first`` .. ``stop - 1`` of the window given whole (hits, velocities, offsets)."""
    cells = np.zeros(window.hits.shape, dtype=bool)
    cells[:, first * window.grid.steps_per_bar : stop * window.grid.steps_per_bar] = True
    return Given(cells, cells)


def tool_conditions(model: Model, sliders: Mapping[str, float]) -> np.ndarray:
    """The ``cond`` row [C] of a tool request: the given sliders, ``UNKNOWN`` for every other condition."""
    cond = np.full(len(model.meta.conditions), UNKNOWN, dtype=np.float32)
    candidates.condition_vector(model, sliders)  # names and ranges: the same errors as generate
    for name, value in sliders.items():
        cond[model.meta.condition_names.index(name)] = value
    return cond


def style_index(model: Model, style: str | None) -> int:
    """The tools graph's style index: the style's, or the "unknown" one for None."""
    meta = model.meta
    if style is None:
        return len(meta.styles)
    if style not in meta.styles:
        raise UsageError(f"unknown style {style!r}; allowed: {list(meta.styles)}")
    return meta.styles.index(style)


def complete(
    model: Model,
    task: str,
    window: Pattern,
    given: Given,
    cond: np.ndarray,
    *,
    style: str | None,
    seed: int,
    n: int,
) -> np.ndarray:
    """``n`` seeded completions of one model-length window by the tools graph -> raw float32 [n, 3, V, T].

    ``cond`` [C] may hold ``UNKNOWN``. The given cells are not pasted in here (callers keep the clip's)."""
    tools = model.tools
    if tools is None:
        raise UsageError(f"model {model.name} has no tools graph ({model.name}.tools.onnx)")
    if window.grid != model.meta.grid:
        raise UsageError(f"a window must be the model's {model.meta.grid}, got {window.grid}")
    rng = np.random.default_rng(seed)
    if not MIN_CANDIDATES <= n <= MAX_CANDIDATES:
        raise UsageError(f"n_candidates must be in {MIN_CANDIDATES}..{MAX_CANDIDATES}, got {n}")
    z = rng.standard_normal((n, model.meta.latent_dim), dtype=np.float32)  # [N, L]
    t = window.grid.n_steps
    known = window.to_array()  # [3, V, T]
    known[:, ~(given.hits | given.dynamics)] = 0
    known[1:, ~given.dynamics] = 0
    known[HIT, ~given.hits] = 0
    mask = np.stack([given.hits, given.dynamics]).astype(np.float32)  # [2, V, T]
    rhythm = np.zeros(t, np.float32) if given.rhythm is None else given.rhythm.astype(np.float32)
    styles = None
    if model.meta.has_styles:
        styles = np.full(n, style_index(model, style), dtype=np.int64)
    return tools.run(
        z,
        np.broadcast_to(cond.astype(np.float32), (n, len(cond))).copy(),
        styles,
        np.broadcast_to(known, (n, 3, N_VOICES, t)).copy(),
        np.broadcast_to(mask, (n, 2, N_VOICES, t)).copy(),
        rhythm=np.broadcast_to(rhythm, (n, t)).copy(),
        task=tools.task_vector(task, n),
    )


def measured_indices(model: Model) -> list[int]:
    """The indices of the model's conditions that are descriptors (measurable on a pattern), in order."""
    return [i for i, name in enumerate(model.meta.condition_names) if name in DESCRIPTOR_INDEX]


def given_slider_distance(model: Model, batch: np.ndarray, cond: np.ndarray) -> np.ndarray:
    """Mean squared distance [N] of the measured sliders of ``batch`` [N, 3, V, T] (model-length windows)
    from the given ones in ``cond`` [C] (0 for every row when none is given)."""
    targets = cond[measured_indices(model)].astype(np.float64)
    given = targets >= 0
    if not given.any():
        return np.zeros(len(batch))
    measured = candidates.measure(model, batch, model.meta.grid)  # [N, M], hits at the model's threshold
    return np.mean((measured[:, given] - targets[None, given]) ** 2, axis=1)


# ---- clips of other lengths ----------------------------------------------------------------------------


def segments(bars: int, model_bars: int) -> list[tuple[int, int, int]]:
    """The model-length windows a clip of ``bars`` is completed in: (first bar of the window, first and
    stop bar taken from it). Shorter clips loop to fill one window; longer ones get windows at every
    ``model_bars``, the last one ending with the clip (overlapping the one before, so it has real context)."""
    if bars <= model_bars:
        return [(0, 0, bars)]
    out, start = [], 0
    while start < bars:
        first = min(start, bars - model_bars)
        stop = min(bars, first + model_bars)
        out.append((first, start, stop))
        start = stop
    return out


def window_of(clip: Pattern, first_bar: int, model_bars: int) -> Pattern:
    """``model_bars`` bars of ``clip`` from ``first_bar``, the clip looped where it ends first."""
    spb = clip.grid.steps_per_bar
    planes = clip.to_array()[..., first_bar * spb :]  # [3, V, rest]
    reps = math.ceil(model_bars * spb / planes.shape[-1])
    planes = np.tile(planes, (1, 1, reps))[..., : model_bars * spb]
    return Pattern(clip.grid.with_bars(model_bars), planes[HIT] > 0, planes[1], planes[2])
