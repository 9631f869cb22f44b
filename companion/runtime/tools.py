"""The tools that start from what the producer has: Groove, Drumify, Continue and Fill (Interpolate:
``companion.runtime.interpolate``).

Every tool works on patterns on the model's grid (a ``Rhythm`` for Drumify) and returns a pattern;
``companion.runtime.tool_clips`` runs them on a clip's notes (OSC and the CLI alike).

- ``groove``: the clip's hits, unchanged, with a drummer's velocities and micro-timing (``amount`` blends
  from the clip's own, 0, to the model's, 1).
- ``drumify``: drums whose onsets follow a rhythm (from any MIDI part, or from audio), under the style and
  sliders.
- ``continue_pattern``: the clip unchanged, then ``bars`` new bars that go on from it.
- ``fill``: the clip with its last bar replaced by a fill that leads back to the downbeat.

Each completes a partly given pattern. With a tools graph (``Model.tools``: the generator trained further to
fill in what is masked, ``training/tools``) the graph is asked for it directly (``completion``); without
one, Groove, Drumify and Continue fall back to a latent search of the plain generator for samples that
already play what is given (``tool_search``), and Fill needs the tools graph. Sliders a request leaves out
are the model's to choose, a style left out too (the tools graph infers them from what is given).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from companion.core.drum_map import N_VOICES
from companion.core.errors import ModelError, UsageError
from companion.core.pattern import HIT, MAX_BARS, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid, Pattern
from companion.runtime import candidates, tool_search
from companion.runtime.completion import (
    Given,
    complete,
    given_bars,
    given_slider_distance,
    measured_indices,
    segments,
    tool_conditions,
    window_of,
)
from companion.runtime.model import Model
from companion.runtime.search_request import DEFAULT_CANDIDATES

DYNAMIC_CONDITIONS = ("swing", "energy", "microtiming_spread")  # measured on velocities or offsets


@dataclass(frozen=True)
class Rhythm:
    """A rhythm on the bar grid, what Drumify follows: ``strengths`` float32 [T], 0 where no onset and the
    onset's loudness (0..1] where one is; ``offsets_steps`` float32 [T], its micro-timing."""

    grid: Grid
    strengths: np.ndarray
    offsets_steps: np.ndarray

    def __post_init__(self) -> None:
        for name in ("strengths", "offsets_steps"):
            plane = np.asarray(getattr(self, name), dtype=np.float32)
            if plane.shape != (self.grid.n_steps,) or not np.isfinite(plane).all():
                raise UsageError(f"{name} must be finite float32 [{self.grid.n_steps}], got {plane.shape}")
            object.__setattr__(self, name, plane)
        if np.any((self.strengths < 0) | (self.strengths > 1)):
            raise UsageError("strengths must be in 0..1")
        if np.any(np.abs(self.offsets_steps) > MAX_OFFSET_STEPS + 1e-6):
            raise UsageError(f"offsets_steps must be in -{MAX_OFFSET_STEPS}..{MAX_OFFSET_STEPS}")

    @property
    def onsets(self) -> np.ndarray:
        return self.strengths > 0


def rhythm_from_onsets(
    onset_beats: np.ndarray, velocities: np.ndarray, length_beats: float, grid: Grid
) -> Rhythm:
    """Onsets in beats from the clip's start (any instrument; chords merge) -> a ``Rhythm`` on ``grid``.

    The entry point for Drumify from any source (a MIDI part, onsets found in audio). Each onset goes to
    its nearest step (the clip loops: one within half a step of the end is the first step's); the loudest
    onset of a step gives its strength (velocity / 127) and micro-timing; onsets outside 0..length_beats
    are left out."""
    onset_beats = np.asarray(onset_beats, dtype=np.float64).ravel()
    velocities = np.asarray(velocities, dtype=np.float64).ravel()
    if onset_beats.shape != velocities.shape:
        raise UsageError("onset_beats and velocities must have the same length")
    if not (np.isfinite(onset_beats).all() and np.isfinite(velocities).all()):
        raise UsageError("onsets and velocities must be finite")
    inside = (onset_beats >= 0) & (onset_beats < length_beats)
    positions = onset_beats[inside] * grid.steps_per_beat
    nearest = np.floor(positions + 0.5)
    steps = nearest.astype(np.int64) % grid.n_steps
    offsets = np.clip(positions - nearest, -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS)
    loudness = np.clip(velocities[inside], 1, 127) / 127.0
    strengths = np.zeros(grid.n_steps, np.float32)
    offsets_steps = np.zeros(grid.n_steps, np.float32)
    order = np.argsort(loudness, kind="stable")  # the loudest of a step is written last: it wins
    strengths[steps[order]] = loudness[order]
    offsets_steps[steps[order]] = offsets[order]
    return Rhythm(grid, strengths, offsets_steps)


def rhythm_of(pattern: Pattern) -> Rhythm:
    """All of a drum pattern's onsets merged into one part (the evaluation's Drumify input)."""
    strengths = np.where(pattern.hits, pattern.velocities, 0).max(axis=0)  # [T]
    loudest = np.argmax(np.where(pattern.hits, pattern.velocities, -1), axis=0)  # [T]
    offsets = pattern.offsets_steps[loudest, np.arange(pattern.grid.n_steps)]
    hit = pattern.hits.any(axis=0)
    return Rhythm(pattern.grid, np.where(hit, np.maximum(strengths, 1 / 127), 0), np.where(hit, offsets, 0))


# ---- the tools -------------------------------------------------------------------------------------------


def groove(
    model: Model,
    clip: Pattern,
    amount: float = 1.0,
    *,
    style: str | None = None,
    seed: int = 0,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> Pattern:
    """``clip``'s hits exactly, with velocities and micro-timing ``amount`` of the way from its own (0) to a
    drummer's (1): the model's for these hits. The tools graph's Groove head plays a pattern one way (its
    best guess from the whole pattern: one run, whatever the seed); without a tools graph, the dynamics of
    the generator's sample that plays these hits most nearly (``tool_search``, seeded)."""
    _check_amount(amount)
    _check_grid(model, clip.grid)
    if not clip.hits.any():
        raise UsageError("the clip has no notes on the drum voices: nothing to groove")
    played = np.zeros((2, *clip.hits.shape), np.float32)  # [2, V, T]: the model's velocities and offsets
    cond = tool_conditions(model, {})
    for i, (first, start, stop) in enumerate(segments(clip.grid.bars, model.meta.bars)):
        window = window_of(clip, first, model.meta.bars)
        if model.tools is not None:
            given = Given(window.hits.copy(), np.zeros_like(window.hits))
            best = complete(model, "groove", window, given, cond, style=style, seed=seed + i, n=1)[0]
        else:
            defaults = _or_defaults(model, _with_hit_conditions(model, cond, window))
            best = tool_search.search_hits(
                model, window, defaults, style=style, seed=seed + i, n=n_candidates
            )
        _copy_bars(played, best[VELOCITY : OFFSET + 1], first, start, stop, clip.grid)
    velocities = (1 - amount) * clip.velocities + amount * np.clip(played[0], 0, 1)
    offsets = (1 - amount) * clip.offsets_steps + amount * np.clip(
        played[1], -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS
    )
    return Pattern(clip.grid, clip.hits, np.where(clip.hits, velocities, 0), np.where(clip.hits, offsets, 0))


def drumify(
    model: Model,
    rhythm: Rhythm,
    sliders: Mapping[str, float] | None = None,
    *,
    style: str | None = None,
    seed: int = 0,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> Pattern:
    """Drums whose onsets follow ``rhythm``: of the samples, the one whose onsets match it best (F1) and
    that meets the given sliders, its hits played as Groove plays them (``played_by_groove``)."""
    _check_grid(model, rhythm.grid)
    if not rhythm.onsets.any():
        raise UsageError("the rhythm has no onsets: nothing to drumify")
    cond = tool_conditions(model, sliders or {})
    grid = rhythm.grid
    out = np.zeros((3, *_shape(grid)), np.float32)
    planes = np.zeros((3, *_shape(grid)), np.float32)
    planes[HIT] = rhythm.onsets[None]  # a stand-in pattern that carries the rhythm through the windows
    planes[VELOCITY] = rhythm.strengths[None]
    carrier = Pattern(grid, planes[HIT] > 0, planes[VELOCITY], planes[OFFSET])
    for i, (first, start, stop) in enumerate(segments(grid.bars, model.meta.bars)):
        window = window_of(carrier, first, model.meta.bars)
        strengths = window.velocities[0]  # [T]
        if model.tools is not None:
            nothing = np.zeros_like(window.hits)
            raw = complete(
                model,
                "drumify",
                window,
                Given(nothing, nothing, strengths),
                cond,
                style=style,
                seed=seed + i,
                n=n_candidates,
            )
            score = 1 - onset_f1(raw[:, HIT] >= model.meta.hit_threshold, strengths > 0)
            score = score + given_slider_distance(model, raw, cond)
            best = played_by_groove(model, raw[int(np.argmin(score))], cond, style=style, seed=seed + i)
        else:
            defaults = _or_defaults(model, cond)
            best = tool_search.search_rhythm(
                model, strengths > 0, defaults, style=style, seed=seed + i, n=n_candidates
            )
        _copy_bars(out, best, first, start, stop, grid)
    return Pattern.from_array(out, grid, model.meta.hit_threshold)


def played_by_groove(
    model: Model, raw: np.ndarray, cond: np.ndarray, *, style: str | None, seed: int
) -> np.ndarray:
    """A model-length window ``raw`` [3, V, T] with its hits played as a drummer plays them: velocities and
    micro-timing from the tools graph's Groove (as ``groove`` does, amount 1). Drumify chooses hits for a
    rhythm; how they are played is Groove's job (its head learnt a drummer's dynamics for whole patterns).
    Unchanged when the tools graph has no Groove."""
    if model.tools is None or "groove" not in model.tools.meta.tasks:
        return raw
    hits = raw[HIT] >= model.meta.hit_threshold
    window = Pattern(model.meta.grid, hits, np.where(hits, raw[VELOCITY], 0), np.where(hits, raw[OFFSET], 0))
    given = Given(hits.copy(), np.zeros_like(hits))
    played = complete(model, "groove", window, given, cond, style=style, seed=seed, n=1)[0]
    return np.stack([raw[HIT], played[VELOCITY], played[OFFSET]]).astype(np.float32)


def continue_pattern(
    model: Model,
    clip: Pattern,
    bars: int,
    sliders: Mapping[str, float] | None = None,
    *,
    style: str | None = None,
    seed: int = 0,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> Pattern:
    """``clip`` unchanged, followed by ``bars`` new bars that go on from it (at most ``MAX_BARS`` in all).

    The model sees the last bars so far (two, or more when fewer new bars are left) and writes the next
    ones, window by window."""
    _check_grid(model, clip.grid)
    model_bars = model.meta.bars
    if model_bars < 2:
        raise UsageError("continue needs a model of at least 2 bars")
    total = clip.grid.bars + int(bars)
    if isinstance(bars, bool) or not bars >= 1 or total > MAX_BARS:
        raise UsageError(
            f"bars must be 1..{MAX_BARS - clip.grid.bars} for a clip of {clip.grid.bars} bars "
            f"(at most {MAX_BARS} bars in all), got {bars}"
        )
    cond = tool_conditions(model, sliders or {})
    spb = clip.grid.steps_per_bar
    result = np.zeros((3, *_shape(clip.grid.with_bars(total))), np.float32)
    result[..., : clip.grid.n_steps] = clip.to_array()
    have, i = clip.grid.bars, 0
    while have < total:
        left = total - have
        context = max(1, min(have, model_bars - min(left, max(1, model_bars - 2))))
        new = min(left, model_bars - context)
        planes = np.zeros((3, *_shape(model.meta.grid)), np.float32)
        planes[..., : context * spb] = result[..., (have - context) * spb : have * spb]
        window = Pattern(model.meta.grid, planes[HIT] > 0, planes[VELOCITY], planes[OFFSET])
        if model.tools is not None:
            given = given_bars(window, 0, context)
            raw = complete(model, "continue", window, given, cond, style=style, seed=seed + i, n=n_candidates)
            score = given_slider_distance(model, raw, _context_targets(model, cond, window, context))
            best = raw[int(np.argmin(score))]
        else:
            targets = _context_targets(model, cond, window, context)
            best = tool_search.search_bars(
                model, window, context, targets, style=style, seed=seed + i, n=n_candidates
            )
        done = Pattern.from_array(best, model.meta.grid, model.meta.hit_threshold).to_array()
        result[..., have * spb : (have + new) * spb] = done[..., context * spb : (context + new) * spb]
        have, i = have + new, i + 1
    return Pattern(clip.grid.with_bars(total), result[HIT] > 0, result[VELOCITY], result[OFFSET])


def fill(
    model: Model,
    clip: Pattern,
    sliders: Mapping[str, float] | None = None,
    *,
    style: str | None = None,
    seed: int = 0,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> Pattern:
    """``clip`` with its last bar replaced by a fill; the bars before it unchanged. The model sees the bars
    before the fill (looped when the clip is shorter than the model)."""
    _check_grid(model, clip.grid)
    if model.tools is None or "fill" not in model.tools.meta.tasks:
        why = f": {model.tools_problem}" if model.tools_problem else ", which it lacks"
        raise ModelError(f"fill needs the model's tools graph ({model.name}.tools.onnx){why}")
    model_bars = model.meta.bars
    spb = clip.grid.steps_per_bar
    window = _window_ending(clip, model_bars)
    cond = tool_conditions(model, sliders or {})
    given = given_bars(window, 0, model_bars - 1)
    raw = complete(model, "fill", window, given, cond, style=style, seed=seed, n=n_candidates)
    best = raw[int(np.argmin(given_slider_distance(model, raw, cond)))]
    done = Pattern.from_array(best, model.meta.grid, model.meta.hit_threshold).to_array()
    out = clip.to_array()
    out[..., -spb:] = done[..., -spb:]
    return Pattern(clip.grid, out[HIT] > 0, out[VELOCITY], out[OFFSET])


# ---- helpers ---------------------------------------------------------------------------------------------


def onset_f1(hits: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """F1 [N] between the merged onsets of ``hits`` [N, V, T] (any voice) and ``onsets`` bool [T]."""
    played = hits.any(axis=1)  # [N, T]
    both = (played & onsets[None]).sum(axis=1)
    total = played.sum(axis=1) + onsets.sum()
    return np.where(total > 0, 2 * both / np.maximum(total, 1), 1.0)


def _with_hit_conditions(model: Model, cond: np.ndarray, window: Pattern) -> np.ndarray:
    """``cond`` with every condition measured on hits alone set to the window's value (the dynamic ones,
    swing, energy and spread, stay the model's to choose)."""
    out = cond.copy()
    measured = candidates.measure(model, window.to_array()[None], window.grid, 0.5)[0]
    for j, i in enumerate(measured_indices(model)):
        if model.meta.condition_names[i] not in DYNAMIC_CONDITIONS:
            out[i] = measured[j]
    return out


def _context_targets(model: Model, cond: np.ndarray, window: Pattern, context: int) -> np.ndarray:
    """The given sliders, else those the context bars measure (a continuation keeps the clip's character)."""
    out = cond.copy()
    part = window_of(window, 0, context)
    bars = np.tile(part.to_array(), (1, 1, math.ceil(model.meta.bars / context)))[..., : window.grid.n_steps]
    measured = candidates.measure(model, bars[None], window.grid, 0.5)[0]
    for j, i in enumerate(measured_indices(model)):
        if out[i] < 0:
            out[i] = measured[j]
    return out


def _or_defaults(model: Model, cond: np.ndarray) -> np.ndarray:
    """A plain generator's ``cond``: the model's defaults where ``cond`` is unknown."""
    return np.where(cond >= 0, cond, model.meta.defaults()).astype(np.float32)


def _copy_bars(out: np.ndarray, planes: np.ndarray, first: int, start: int, stop: int, grid: Grid) -> None:
    spb = grid.steps_per_bar
    out[..., start * spb : stop * spb] = planes[..., (start - first) * spb : (stop - first) * spb]


def _window_ending(clip: Pattern, model_bars: int) -> Pattern:
    """The model-length window that ends with the clip's last bar (the clip looped before its start when it
    is shorter than the model)."""
    width = model_bars * clip.grid.steps_per_bar
    planes = np.tile(clip.to_array(), (1, 1, math.ceil(model_bars / clip.grid.bars)))[..., -width:]
    return Pattern(clip.grid.with_bars(model_bars), planes[HIT] > 0, planes[VELOCITY], planes[OFFSET])


def _shape(grid: Grid) -> tuple[int, int]:
    return (N_VOICES, grid.n_steps)


def _check_amount(amount: float) -> None:
    if not (isinstance(amount, int | float) and math.isfinite(amount) and 0 <= amount <= 1):
        raise UsageError(f"amount must be a number in 0..1, got {amount!r}")


def _check_grid(model: Model, grid: Grid) -> None:
    meta = model.meta
    if (grid.steps_per_beat, grid.beats_per_bar) != (meta.steps_per_beat, meta.beats_per_bar):
        raise UsageError(
            f"the clip's grid ({grid.beats_per_bar} beats of {grid.steps_per_beat} steps) does not match "
            f"the model's ({meta.beats_per_bar} beats of {meta.steps_per_beat} steps)"
        )
