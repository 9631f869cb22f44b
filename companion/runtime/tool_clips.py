"""The tools on a clip's notes: notes [M] of ``companion.core.notes.NOTE_DTYPE`` in, notes out. One code path
for the OSC API (``companion.osc.tool_handlers``) and the CLI (``nudge groove`` ...).

A drum clip is read onto the model's grid as ``nudge generate --from`` and ``/nudge/vary`` read it (the
model's own pitches, then General MIDI, then the Roland map; each voice keeps the clip's most used pitch for
it). What the tools promise, note by note:

- Groove: every note of the clip comes back, same pitch, same 16th step and length; only its velocity and
  its micro-timing within the step change (notes of other pitches come back as sent).
- Continue and Fill: the notes of the bars kept come back exactly as sent; a note belongs to the bar of its
  nearest 16th step (an early downbeat belongs to the bar it leads into).
- Drumify: any notes (any pitch) are a rhythm; the answer is drums on the model's pitches.
- Interpolate: the first pattern is A and the last B, exactly as sent.

A clip must hold notes, span at least one bar and at most ``MAX_BARS``; every error is one line.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from companion.core.drum_map import clip_voice_lookup
from companion.core.errors import UsageError
from companion.core.notes import OFF_GRID, clip_to_pattern, pattern_to_notes, sort_notes
from companion.core.pattern import CLIP_PARTIAL_BAR, MAX_BARS, Grid, Pattern, whole_bars
from companion.runtime import interpolate, tools
from companion.runtime.model import Model


def clip_bars(notes: np.ndarray, length_beats: float, beats_per_bar: int, what: str = "the clip") -> int:
    """The bars a clip spans (a partial last bar counts); ``ValueError`` for a clip the tools refuse."""
    if len(notes) == 0:
        raise UsageError(f"{what} has no notes")
    if length_beats < beats_per_bar - 1e-9:
        raise UsageError(
            f"{what} is {length_beats:g} beats long, shorter than one bar ({beats_per_bar} beats)"
        )
    bars = whole_bars(length_beats, beats_per_bar, CLIP_PARTIAL_BAR)
    if bars > MAX_BARS:
        raise UsageError(f"{what} is {bars} bars long; the tools take at most {MAX_BARS}")
    return bars


def read_drums(
    model: Model, notes: np.ndarray, length_beats: float, what: str = "the clip"
) -> tuple[Pattern, list[int], np.ndarray]:
    """(pattern on the model's grid over the clip's whole bars, pitch per voice, rows it cannot hold)."""
    meta = model.meta
    bars = clip_bars(notes, length_beats, meta.beats_per_bar, what)
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    pattern, pitches, passthrough = clip_to_pattern(
        notes, length_beats, grid, clip_voice_lookup(meta.output_pitches), meta.output_pitches
    )
    if not pattern.hits.any():
        raise UsageError(f"{what} has no notes of drum pitches (drumify takes any notes)")
    return pattern, pitches, passthrough


def _nearest_steps(notes: np.ndarray, grid: Grid) -> np.ndarray:
    """The nearest grid step [M] of every note (the clip loops: a note just before its end is step 0's)."""
    return np.floor(notes["start_beats"] * grid.steps_per_beat + 0.5).astype(np.int64) % grid.n_steps


def groove_clip(
    model: Model,
    notes: np.ndarray,
    length_beats: float,
    amount: float,
    *,
    style: str | None,
    seed: int,
    n: int,
) -> np.ndarray:
    """Every note of the clip, same pitch, step and length; drum notes with a drummer's dynamics."""
    pattern, _, _ = read_drums(model, notes, length_beats)
    grooved = tools.groove(model, pattern, amount, style=style, seed=seed, n_candidates=n)
    grid = pattern.grid
    voices = clip_voice_lookup(model.meta.output_pitches)[notes["pitch"].astype(np.int64)]
    steps = _nearest_steps(notes, grid)
    drums = (voices >= 0) & (notes["start_beats"] < length_beats)
    out = notes.copy()
    v, s = voices[drums], steps[drums]
    shift = (grooved.offsets_steps[v, s] - pattern.offsets_steps[v, s]) / grid.steps_per_beat
    moved = out["start_beats"][drums] + shift
    out["start_beats"][drums] = np.where(
        moved < 0, moved + length_beats, np.where(moved >= length_beats, moved - length_beats, moved)
    )
    new_velocity = grooved.velocities[v, s] * 127.0
    out["velocity"][drums] = np.clip(
        np.floor((1 - amount) * notes["velocity"][drums] + amount * new_velocity + 0.5), 1, 127
    )
    return sort_notes(out)


def drumify_clip(
    model: Model,
    notes: np.ndarray,
    length_beats: float,
    sliders: Mapping[str, float],
    *,
    style: str | None,
    seed: int,
    n: int,
) -> np.ndarray:
    """Drums (the model's pitches) whose onsets follow every note of the clip, any pitch."""
    meta = model.meta
    bars = clip_bars(notes, length_beats, meta.beats_per_bar)
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    rhythm = tools.rhythm_from_onsets(notes["start_beats"], notes["velocity"], length_beats, grid)
    pattern = tools.drumify(model, rhythm, sliders, style=style, seed=seed, n_candidates=n)
    out = pattern_to_notes(pattern, meta.output_pitches)
    return out[out["start_beats"] < length_beats]


def continue_clip(
    model: Model,
    notes: np.ndarray,
    length_beats: float,
    bars: int,
    *,
    sliders: Mapping[str, float],
    style: str | None,
    seed: int,
    n: int,
) -> tuple[np.ndarray, float]:
    """The clip's notes exactly, then ``bars`` new bars -> (notes, new length in beats)."""
    pattern, pitches, _ = read_drums(model, notes, length_beats)
    result = tools.continue_pattern(model, pattern, bars, sliders, style=style, seed=seed, n_candidates=n)
    new = pattern_to_notes(_only_bars(result, pattern.grid.bars, result.grid.bars), pitches)
    return sort_notes(np.concatenate([_off_grid(notes), new])), result.grid.length_beats


def fill_clip(
    model: Model, notes: np.ndarray, length_beats: float, *, style: str | None, seed: int, n: int
) -> np.ndarray:
    """The clip's notes before its last bar exactly, then a fill in the last bar."""
    pattern, pitches, _ = read_drums(model, notes, length_beats)
    result = tools.fill(model, pattern, {}, style=style, seed=seed, n_candidates=n)
    grid = pattern.grid
    last = (grid.bars - 1) * grid.steps_per_bar
    kept = notes[_nearest_steps(notes, grid) < last]  # every note before the last bar, any pitch
    fill_notes = pattern_to_notes(_only_bars(result, grid.bars - 1, grid.bars), pitches)
    return sort_notes(np.concatenate([_off_grid(kept), fill_notes[fill_notes["start_beats"] < length_beats]]))


def interpolate_clips(
    model: Model,
    a_notes: np.ndarray,
    a_beats: float,
    b_notes: np.ndarray,
    b_beats: float,
    *,
    count: int,
    seed: int,
    n: int,
) -> list[np.ndarray]:
    """``count`` note lists from A (the first, as sent) to B (the last, as sent)."""
    interpolate.check_count(count)
    a, pitches_a, _ = read_drums(model, a_notes, a_beats, "A")
    b, pitches_b, _ = read_drums(model, b_notes, b_beats, "B")
    if a.grid.bars != b.grid.bars:
        raise UsageError(f"A and B must have the same length: A is {a.grid.bars} bars, B {b.grid.bars}")
    path = interpolate.interpolate(model, a, b, count, seed=seed, n_candidates=n)
    # each voice keeps A's pitch where A plays it, else B's
    a_voices = np.asarray(a.hits.any(axis=1)).tolist()  # [V]
    pitches = [pa if used else pb for pa, pb, used in zip(pitches_a, pitches_b, a_voices, strict=True)]
    middle = [pattern_to_notes(p, pitches) for p in path[1:-1]]
    return [sort_notes(a_notes.copy()), *middle, sort_notes(b_notes.copy())]


def _off_grid(notes: np.ndarray) -> np.ndarray:
    """The notes as sent, their step unknown (they were not placed by the tool)."""
    out = notes.copy()
    out["step"] = OFF_GRID
    return out


def _only_bars(pattern: Pattern, first: int, stop: int) -> Pattern:
    """``pattern`` with hits only in bars ``first`` .. ``stop - 1``."""
    spb = pattern.grid.steps_per_bar
    keep = np.zeros(pattern.hits.shape, dtype=bool)
    keep[:, first * spb : stop * spb] = True
    hits = pattern.hits & keep
    return Pattern.unchecked(
        pattern.grid, hits, np.where(hits, pattern.velocities, 0), np.where(hits, pattern.offsets_steps, 0)
    )
