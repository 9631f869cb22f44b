"""The one note record of Nudge, and the rules between notes and the grid that every path shares.

A note is a row of ``NOTE_DTYPE``: ``pitch``, ``start_beats``, ``duration_beats``, ``velocity`` (1..127) in
the OSC wire order, then ``step``: the grid step the note belongs to (``OFF_GRID``, -1, for a note read
from a clip or a file before it is placed on a grid). Notes travel as arrays of it, from the wire
(``rows_to_notes``) through the daemon to its replies, to ``.mid`` files (``companion.core.midi_file``) and
to the live MIDI timeline, which takes the step from the record instead of rounding it out of the start.

Patterns loop, so a hit whose micro-timing offset pulls it before beat 0 starts at the end of the pattern
(``start_beats`` is always in [0, length_beats)) while its ``step`` stays 0; reading it back puts it on
step 0. The rules, each written once:

- ``quantise_onsets``: onsets -> grid (step = the nearest one, offset = what is left, in steps; the loudest
  hit of a voice on a step wins, the first of equals): ``.mid`` files and notes (``notes_to_pattern``), a
  clip (``clip_to_pattern``) and the training ingest.
- ``pattern_to_notes``: grid -> notes (a hit's note lasts until just before its voice's next hit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from companion.core.drum_map import N_VOICES, OUTPUT_PITCHES, PitchMapper
from companion.core.errors import UsageError
from companion.core.midi_values import midi_to_velocities, velocities_to_midi
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern

NOTE_DTYPE = np.dtype(
    [
        ("pitch", np.int16),  # 0..127
        ("start_beats", np.float64),  # from the pattern's (or clip's) start, micro-timing included
        ("duration_beats", np.float64),
        ("velocity", np.int16),  # 1..127
        ("step", np.int32),  # the grid step it belongs to; OFF_GRID: not placed on a grid
    ]
)
OFF_GRID = -1
DEFAULT_DURATION_STEPS = 0.5  # drum notes are short: half a grid step, capped before the next same-voice hit


def rows_to_notes(rows: np.ndarray | Iterable[Sequence[float]]) -> np.ndarray:
    """Rows (pitch, start_beats, duration_beats, velocity), e.g. the OSC wire's note groups -> notes
    [M] of ``NOTE_DTYPE``, off the grid. Pitch and velocity must be whole numbers already."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 4)  # [M, 4]
    notes = np.empty(len(rows), dtype=NOTE_DTYPE)
    notes["pitch"], notes["start_beats"] = rows[:, 0], rows[:, 1]
    notes["duration_beats"], notes["velocity"] = rows[:, 2], rows[:, 3]
    notes["step"] = OFF_GRID
    return notes


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """``notes`` by start, then pitch, duration and velocity (the order of every note list Nudge writes)."""
    order = np.lexsort((notes["velocity"], notes["duration_beats"], notes["pitch"], notes["start_beats"]))
    return notes[order]


def quantise_onsets(
    positions_steps: np.ndarray, voices: np.ndarray, velocities: np.ndarray, n_steps: int, loop: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onsets onto a grid of ``n_steps``: (hits bool, velocities float32 0..1, offsets float32) [V, n_steps].

    ``positions_steps`` float [K] from the grid's start, ``voices`` int [K] (0..V-1), ``velocities`` [K] MIDI
    1..127 (fractions allowed, above 127 counts as 127). Each onset goes to the nearest step and keeps the
    rest as its offset; ``loop``: a step past the end wraps to the start (a clip loops), else onsets past the
    end are left out (a performance goes on). Per (voice, step) the loudest onset wins, the first of equals.
    """
    positions = np.asarray(positions_steps, dtype=np.float64)
    steps = np.floor(positions + 0.5).astype(np.int64)  # [K]
    offsets = np.clip(positions - steps, -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS)
    voices = np.asarray(voices, dtype=np.int64)
    loudness = np.asarray(velocities, dtype=np.float64)
    if loop:
        steps %= n_steps
    else:
        keep = (steps >= 0) & (steps < n_steps)
        steps, offsets, voices, loudness = steps[keep], offsets[keep], voices[keep], loudness[keep]
    cells = voices * n_steps + steps  # [K]
    order = np.lexsort((np.arange(len(cells)), -loudness, cells))  # per cell: loudest, then first
    ordered = cells[order]
    first = order[np.r_[True, ordered[1:] != ordered[:-1]]] if len(order) else order
    hits = np.zeros(N_VOICES * n_steps, dtype=bool)
    plane_velocities = np.zeros(N_VOICES * n_steps, dtype=np.float32)
    plane_offsets = np.zeros(N_VOICES * n_steps, dtype=np.float32)
    kept = cells[first]
    hits[kept] = True
    plane_velocities[kept] = midi_to_velocities(loudness[first])
    plane_offsets[kept] = offsets[first]
    shape = (N_VOICES, n_steps)
    return hits.reshape(shape), plane_velocities.reshape(shape), plane_offsets.reshape(shape)


def pattern_to_notes(
    pattern: Pattern,
    pitches: Sequence[int] = OUTPUT_PITCHES,
    duration_steps: float = DEFAULT_DURATION_STEPS,
) -> np.ndarray:
    """Every hit as a note [M] of ``NOTE_DTYPE`` with its step, sorted by start, pitch, duration, velocity.

    A hit starts at (step + offset) / steps_per_beat, wrapped into the loop (an early downbeat plays at the
    loop's end); it lasts ``duration_steps``, capped at 95% of the gap to the next hit of its voice (also
    across the loop end), at least 0.01 steps; velocity 0..1 -> 1..127 (nearest, halves to even).
    """
    if len(pitches) != N_VOICES:
        raise UsageError(f"pitches must have {N_VOICES} entries, one per voice, got {len(pitches)}")
    grid = pattern.grid
    n_steps = grid.n_steps
    voices, steps = np.nonzero(pattern.hits)  # [M], sorted by voice, then step
    positions = steps + pattern.offsets_steps[voices, steps].astype(np.float64)  # [M], in steps
    following = np.empty_like(positions)
    following[:-1] = positions[1:]
    last = np.ones(len(voices), dtype=bool)  # the last hit of each voice wraps to its first hit
    last[:-1] = voices[1:] != voices[:-1]
    first_of_voice = np.searchsorted(voices, voices[last])
    following[last] = positions[first_of_voice] + n_steps
    notes = np.empty(len(voices), dtype=NOTE_DTYPE)
    notes["pitch"] = np.asarray(pitches, dtype=np.int64)[voices]
    notes["start_beats"] = (positions % n_steps) / grid.steps_per_beat
    duration_steps_each = np.maximum(np.minimum(duration_steps, (following - positions) * 0.95), 0.01)
    notes["duration_beats"] = duration_steps_each / grid.steps_per_beat
    notes["velocity"] = velocities_to_midi(pattern.velocities[voices, steps])
    notes["step"] = steps
    return sort_notes(notes)


def notes_to_pattern(
    notes: np.ndarray, grid: Grid, mapper: PitchMapper | None = None, start_beats: float = 0.0
) -> Pattern:
    """Quantise notes onto ``grid`` (``quantise_onsets``), keeping each hit's offset from the nearest step.

    Notes are taken from the window ``[start_beats, start_beats + length)``; a note within half a step
    before the window end wraps to step 0. When two hits of one voice land on one step, the loudest wins
    (the first of equals). Pitches are mapped by ``mapper`` (default: the Roland/GMD map, dropping and
    counting unknown pitches).
    """
    mapper = mapper or PitchMapper()
    positions = (notes["start_beats"] - start_beats) * grid.steps_per_beat  # [K], in steps
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(positions) & (positions >= -MAX_OFFSET_STEPS) & (positions < grid.n_steps)
    voices = mapper.voices_of(notes["pitch"][inside].astype(np.int64))
    known = voices >= 0
    hits, velocities, offsets = quantise_onsets(
        positions[inside][known], voices[known], notes["velocity"][inside][known], grid.n_steps, loop=True
    )
    return Pattern(grid, hits, velocities, offsets)


def clip_to_pattern(
    notes: np.ndarray, length_beats: float, grid: Grid, voice_of: np.ndarray, own_pitches: Sequence[int]
) -> tuple[Pattern, list[int], np.ndarray]:
    """A looping clip's notes [M] -> (pattern on ``grid``, pitch per voice, the notes the pattern cannot
    hold: unknown pitch or a start at or after ``length_beats``, passed through unchanged).

    ``voice_of`` int [128] is the pitch -> voice table (``drum_map.voice_lookup``). Each voice keeps the
    clip's most used pitch for it (ties: the lowest), else ``own_pitches``' entry.
    """
    pitches = notes["pitch"].astype(np.int64)
    voices = voice_of[pitches]
    starts = notes["start_beats"]
    inside = (voices >= 0) & (starts < length_beats)  # the grid may be longer: whole bars
    hits, velocities, offsets = quantise_onsets(
        starts[inside] * grid.steps_per_beat, voices[inside], notes["velocity"][inside], grid.n_steps, True
    )
    # bool hits, velocity in (0, 1] and offset in range where a hit is, 0 elsewhere: valid by construction
    pattern = Pattern.unchecked(grid, hits, velocities, offsets)
    # the most used pitch of each voice (ties: the lowest, argmax's first), else the model's own
    counts = np.bincount(voices[inside] * 128 + pitches[inside], minlength=N_VOICES * 128)
    counts = counts.reshape(N_VOICES, 128)  # [V, pitch]
    voice_pitches = np.where(counts.any(axis=1), counts.argmax(axis=1), own_pitches).tolist()
    return pattern, voice_pitches, notes[~inside]


def loop_notes(notes: np.ndarray, period_beats: float, length_beats: float) -> np.ndarray:
    """The notes of a clip that loops every ``period_beats``, repeated or cropped to ``length_beats``: those
    that start inside the new length (the notes after the period's end are not repeated). For the notes
    off the grid (a clip's unread notes): their ``step`` stays ``OFF_GRID``."""
    notes = notes[notes["start_beats"] < period_beats]
    copies = []
    for k in range(math.ceil(length_beats / period_beats)):
        copy = notes.copy()
        copy["start_beats"] += k * period_beats
        copies.append(copy)
    looped = np.concatenate(copies) if copies else notes[:0]
    return looped[looped["start_beats"] < length_beats]


def notes_of_voices(
    notes: np.ndarray, length_beats: float, voice_of: np.ndarray, voices: Sequence[int]
) -> np.ndarray:
    """The notes [K] of ``voices`` (by the pitch -> voice table ``voice_of``) that start before
    ``length_beats``, as they are."""
    of_voices = np.isin(voice_of[notes["pitch"].astype(np.int64)], voices)
    return notes[of_voices & (notes["start_beats"] < length_beats)]
