"""Notes as arrays, and the vectorised rules between notes and the grid that every path shares.

A note row is float64 [4]: (pitch, start_beats, duration_beats, velocity 1..127), the OSC wire order; a clip
is rows [M, 4]. The rules, each written once:

- ``quantise_onsets``: onsets -> grid (step = the nearest one, offset = what is left, in steps; the loudest
  hit of a voice on a step wins, the first of equals). Used for ``.mid`` files and notes
  (``companion.core.notes``), a vary request's clip (``clip_to_pattern``) and the training ingest.
- ``pattern_to_note_rows``: grid -> notes (a hit's note lasts until just before its voice's next hit).
  Used by ``companion.core.notes`` (``.mid`` files, live MIDI) and the OSC note replies.
- ``velocities_to_midi``: 0..1 -> 1..127, for every note written and for the evaluation's dynamics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from companion.core.drum_map import N_VOICES
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern

DEFAULT_DURATION_STEPS = 0.5  # drum notes are short: half a grid step, capped before the next same-voice hit
PITCH, START, DURATION, VELOCITY = 0, 1, 2, 3  # columns of a note row


def velocities_to_midi(velocities: np.ndarray) -> np.ndarray:
    """Velocity 0..1 -> MIDI 1..127 (float64, same shape): the nearest, halves to even, at least 1."""
    return np.clip(np.rint(np.asarray(velocities, dtype=np.float64) * 127.0), 1, 127)


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
    plane_velocities[kept] = np.minimum(loudness[first] / 127.0, 1.0)
    plane_offsets[kept] = offsets[first]
    shape = (N_VOICES, n_steps)
    return hits.reshape(shape), plane_velocities.reshape(shape), plane_offsets.reshape(shape)


def pattern_to_note_rows(
    pattern: Pattern, pitches: Sequence[int], duration_steps: float = DEFAULT_DURATION_STEPS
) -> np.ndarray:
    """Every hit as a note row -> float64 [M, 4], sorted by start, pitch, duration, velocity.

    A hit starts at (step + offset) / steps_per_beat, wrapped into the loop (an early downbeat plays at the
    loop's end); it lasts ``duration_steps``, capped at 95% of the gap to the next hit of its voice (also
    across the loop end), at least 0.01 steps; velocity 0..1 -> 1..127 (nearest, halves to even).
    """
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
    rows = np.empty((len(voices), 4), dtype=np.float64)
    rows[:, PITCH] = np.asarray(pitches, dtype=np.int64)[voices]
    rows[:, START] = (positions % n_steps) / grid.steps_per_beat
    rows[:, DURATION] = np.maximum(np.minimum(duration_steps, (following - positions) * 0.95), 0.01)
    rows[:, DURATION] /= grid.steps_per_beat
    rows[:, VELOCITY] = velocities_to_midi(pattern.velocities[voices, steps])
    order = np.lexsort((rows[:, VELOCITY], rows[:, DURATION], rows[:, PITCH], rows[:, START]))
    return rows[order]


def clip_to_pattern(
    rows: np.ndarray, length_beats: float, grid: Grid, voice_of: np.ndarray, own_pitches: Sequence[int]
) -> tuple[Pattern, list[int], np.ndarray]:
    """A looping clip's note rows [M, 4] -> (pattern on ``grid``, pitch per voice, rows the pattern cannot
    hold: unknown pitch or a start at or after ``length_beats``, passed through unchanged).

    ``voice_of`` int [128] is the pitch -> voice table (``drum_map.voice_lookup``). Each voice keeps the
    clip's most used pitch for it (ties: the lowest), else ``own_pitches``' entry.
    """
    pitches = rows[:, PITCH].astype(np.int64)
    voices = voice_of[pitches]
    inside = (voices >= 0) & (rows[:, START] < length_beats)  # the grid may be longer: whole bars
    hits, velocities, offsets = quantise_onsets(
        rows[inside, START] * grid.steps_per_beat, voices[inside], rows[inside, VELOCITY], grid.n_steps, True
    )
    # bool hits, velocity in (0, 1] and offset in range where a hit is, 0 elsewhere: valid by construction
    pattern = Pattern.unchecked(grid, hits, velocities, offsets)
    # the most used pitch of each voice (ties: the lowest, argmax's first), else the model's own
    counts = np.bincount(voices[inside] * 128 + pitches[inside], minlength=N_VOICES * 128)
    counts = counts.reshape(N_VOICES, 128)  # [V, pitch]
    voice_pitches = np.where(counts.any(axis=1), counts.argmax(axis=1), own_pitches).tolist()
    return pattern, voice_pitches, rows[~inside]


def loop_note_rows(rows: np.ndarray, period_beats: float, length_beats: float) -> np.ndarray:
    """Note rows [M, 4] of a clip that loops every ``period_beats``, repeated or cropped to ``length_beats``:
    the notes that start inside the new length (those after the period's end are not repeated)."""
    rows = rows[rows[:, START] < period_beats]
    copies = [
        rows + np.array([0.0, k * period_beats, 0.0, 0.0])
        for k in range(math.ceil(length_beats / period_beats))
    ]
    looped = np.concatenate(copies) if copies else rows[:0]
    return looped[looped[:, START] < length_beats]


def rows_of_voices(
    rows: np.ndarray, length_beats: float, voice_of: np.ndarray, voices: Sequence[int]
) -> np.ndarray:
    """The note rows [K, 4] of ``voices`` (by the pitch -> voice table ``voice_of``) that start before
    ``length_beats``, as they are."""
    inside = np.isin(voice_of[rows[:, PITCH].astype(np.int64)], voices) & (rows[:, START] < length_beats)
    return rows[inside]
