"""Pattern <-> note list (pitch, start_beats, duration_beats, velocity 1..127).

Patterns loop, so a hit whose micro-timing offset pulls it before beat 0 is written at the end of the
pattern (``start_beats`` is always in [0, length_beats)), and read back onto step 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from companion.core.drum_map import N_VOICES, OUTPUT_PITCHES, PitchMapper
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern

DEFAULT_DURATION_STEPS = 0.5  # drum notes are short: half a grid step, capped before the next same-voice hit


@dataclass(frozen=True, order=True)
class Note:
    start_beats: float
    pitch: int
    duration_beats: float
    velocity: int  # 1..127

    def __post_init__(self) -> None:
        if not isinstance(self.pitch, int | np.integer) or not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be an int in 0..127, got {self.pitch!r}")
        if not isinstance(self.velocity, int | np.integer) or not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be an int in 1..127, got {self.velocity!r}")
        if not math.isfinite(self.start_beats) or self.start_beats < 0:
            raise ValueError(f"start_beats must be finite and >= 0, got {self.start_beats!r}")
        if not math.isfinite(self.duration_beats) or self.duration_beats <= 0:
            raise ValueError(f"duration_beats must be finite and > 0, got {self.duration_beats!r}")


def velocity_to_midi(velocity: float) -> int:
    """0..1 -> 1..127."""
    return int(min(127, max(1, round(float(velocity) * 127))))


def midi_to_velocity(velocity: int) -> float:
    """1..127 -> 0..1."""
    return float(velocity) / 127.0


def pattern_to_notes(
    pattern: Pattern,
    output_pitches: Sequence[int] = OUTPUT_PITCHES,
    duration_steps: float = DEFAULT_DURATION_STEPS,
) -> list[Note]:
    """Every hit becomes a note at ``(step + offset) / steps_per_beat``, sorted by start then pitch."""
    if len(output_pitches) != N_VOICES:
        raise ValueError(f"output_pitches must have {N_VOICES} entries, got {len(output_pitches)}")
    grid = pattern.grid
    spb = grid.steps_per_beat
    length_steps = grid.n_steps
    notes: list[Note] = []
    for voice, step in zip(*np.nonzero(pattern.hits), strict=True):
        position = (step + float(pattern.offsets_steps[voice, step])) % length_steps  # loop wrap
        row = np.flatnonzero(pattern.hits[voice])
        following = row[row > step]
        next_step = following[0] if len(following) else row[0] + length_steps
        next_position = next_step + float(pattern.offsets_steps[voice, next_step % length_steps])
        gap = next_position - (step + float(pattern.offsets_steps[voice, step]))
        duration = max(min(duration_steps, gap * 0.95), 0.01)
        notes.append(
            Note(
                start_beats=position / spb,
                pitch=int(output_pitches[voice]),
                duration_beats=duration / spb,
                velocity=velocity_to_midi(pattern.velocities[voice, step]),
            )
        )
    notes.sort()
    return notes


def notes_to_pattern(
    notes: Iterable[Note] | Iterable[tuple[int, float, float, int]],
    grid: Grid,
    mapper: PitchMapper | None = None,
    start_beats: float = 0.0,
) -> Pattern:
    """Quantise notes onto ``grid``, keeping each hit's offset from the nearest step.

    ``notes`` may be ``Note`` objects or ``(pitch, start_beats, duration_beats, velocity)`` tuples (the OSC
    wire order). Notes are taken from the window ``[start_beats, start_beats + length)``; a note within half a
    step before the window end wraps to step 0. When two hits of one voice land on one step, the loudest wins.
    Pitches are mapped by ``mapper`` (default: Roland/GMD map, dropping and counting unknown pitches).
    """
    mapper = mapper or PitchMapper()
    spb = grid.steps_per_beat
    n_steps = grid.n_steps
    hits = np.zeros((N_VOICES, n_steps), dtype=bool)
    velocities = np.zeros((N_VOICES, n_steps), dtype=np.float32)
    offsets = np.zeros((N_VOICES, n_steps), dtype=np.float32)
    for note in notes:
        if isinstance(note, Note):
            pitch, start, velocity = note.pitch, note.start_beats, note.velocity
        else:
            pitch, start, _duration, velocity = note
        position = (float(start) - start_beats) * spb  # in steps
        if not math.isfinite(position) or position < -MAX_OFFSET_STEPS or position >= n_steps:
            continue
        step = math.floor(position + 0.5)
        offset = position - step
        step %= n_steps
        voice = mapper.voice_of(int(pitch))
        if voice is None:
            continue
        value = midi_to_velocity(int(velocity))
        if hits[voice, step] and velocities[voice, step] >= value:
            continue  # keep the loudest
        hits[voice, step] = True
        velocities[voice, step] = value
        offsets[voice, step] = min(max(offset, -MAX_OFFSET_STEPS), MAX_OFFSET_STEPS)
    return Pattern(grid, hits, velocities, offsets)
