"""A vary request's clip read onto the model's grid (vectorised), and the notes a pattern cannot hold.

``clip_to_pattern`` is the vectorised equivalent of ``companion.core.notes.notes_to_pattern``;
``fit_notes`` loops or crops the notes passed through; ``merged_pitch_table`` is the input pitch map.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from companion.core.drum_map import GENERAL_MIDI, N_VOICES, ROLAND_GMD, VOICES
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern
from companion.osc.request import Clip
from companion.runtime.model import Model


def fit_notes(rows: np.ndarray, period_beats: float, length_beats: float) -> np.ndarray:
    """Note rows [M, 4] of a clip that loops every ``period_beats``, repeated or cropped to ``length_beats``:
    the notes that start inside the new length (those after the period's end are not repeated)."""
    rows = rows[rows[:, 1] < period_beats]
    copies = [
        rows + np.array([0.0, k * period_beats, 0.0, 0.0])
        for k in range(math.ceil(length_beats / period_beats))
    ]
    looped = np.concatenate(copies) if copies else rows[:0]
    return looped[looped[:, 1] < length_beats]


def merged_pitch_table(output_pitches: tuple[int, ...]) -> dict[int, str]:
    """Input map for clips: the model's own output pitches first, then General MIDI, then the Roland map."""
    return {**ROLAND_GMD, **GENERAL_MIDI, **{pitch: VOICES[i] for i, pitch in enumerate(output_pitches)}}


@functools.lru_cache(maxsize=16)
def _voice_lookup(output_pitches: tuple[int, ...]) -> np.ndarray:
    """[128] pitch -> voice index (-1: unknown) for ``merged_pitch_table``."""
    voice_of = np.full(128, -1, dtype=np.int64)
    for pitch, voice in merged_pitch_table(output_pitches).items():
        voice_of[pitch] = VOICES.index(voice)
    voice_of.setflags(write=False)
    return voice_of


def clip_to_pattern(clip: Clip, model: Model) -> tuple[Pattern, list[int], np.ndarray]:
    """A vary request's clip -> (pattern on the model's grid, output pitch per voice, notes passed through).

    The vectorised equivalent of ``companion.core.notes.notes_to_pattern`` (same quantisation, loudest hit
    wins, the first of equals): pitches are read with the model's own output pitches first, then General
    MIDI and the Roland map. Each voice keeps the clip's most used pitch for it (ties: the lowest) in the
    reply.
    Notes the pattern cannot hold (unknown pitch, start after the clip's end) are passed through unchanged.
    """
    meta = model.meta
    voice_of = _voice_lookup(meta.output_pitches)
    bars = min(8, max(1, math.ceil(clip.length_beats / meta.beats_per_bar - 1e-9)))
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    rows = clip.notes
    pitches_in = rows[:, 0].astype(np.int64)
    voices = voice_of[pitches_in]
    inside = (voices >= 0) & (rows[:, 1] < clip.length_beats)  # the grid may be longer: whole bars
    index = np.flatnonzero(inside)
    positions = rows[index, 1] * grid.steps_per_beat  # in steps
    steps = np.floor(positions + 0.5).astype(np.int64)
    offsets = np.clip(positions - steps, -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS)
    steps %= grid.n_steps
    cells = voices[index] * grid.n_steps + steps
    order = np.lexsort((index, -rows[index, 3], cells))  # per cell: loudest first, then the earliest note
    cells_sorted = cells[order]
    first = order[np.r_[True, cells_sorted[1:] != cells_sorted[:-1]]] if len(order) else order
    hits = np.zeros(N_VOICES * grid.n_steps, dtype=bool)
    velocities = np.zeros(N_VOICES * grid.n_steps, dtype=np.float32)
    offsets_steps = np.zeros(N_VOICES * grid.n_steps, dtype=np.float32)
    kept = cells[first]
    hits[kept] = True
    velocities[kept] = np.minimum(rows[index[first], 3] / 127.0, 1.0)  # velocity may be up to 127.49
    offsets_steps[kept] = offsets[first]
    shape = (N_VOICES, grid.n_steps)
    # bool hits, velocity in (0, 1] and offset in range where a hit is, 0 elsewhere: valid by construction
    pattern = Pattern.unchecked(
        grid, hits.reshape(shape), velocities.reshape(shape), offsets_steps.reshape(shape)
    )
    # the most used pitch of each voice (ties: the lowest, argmax's first), else the model's own
    counts = np.bincount(voices[index] * 128 + pitches_in[index], minlength=N_VOICES * 128)
    counts = counts.reshape(N_VOICES, 128)  # [V, pitch]
    pitches = np.where(counts.any(axis=1), counts.argmax(axis=1), meta.output_pitches).tolist()
    return pattern, pitches, rows[~inside]
