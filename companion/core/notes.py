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
from companion.core.errors import UsageError
from companion.core.note_rows import (
    DEFAULT_DURATION_STEPS,
    pattern_to_note_rows,
    quantise_onsets,
    velocities_to_midi,
)
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern


@dataclass(frozen=True, order=True)
class Note:
    start_beats: float
    pitch: int
    duration_beats: float
    velocity: int  # 1..127

    def __post_init__(self) -> None:
        if not isinstance(self.pitch, int | np.integer) or not 0 <= self.pitch <= 127:
            raise UsageError(f"pitch must be an int in 0..127, got {self.pitch!r}")
        if not isinstance(self.velocity, int | np.integer) or not 1 <= self.velocity <= 127:
            raise UsageError(f"velocity must be an int in 1..127, got {self.velocity!r}")
        if not math.isfinite(self.start_beats) or self.start_beats < 0:
            raise UsageError(f"start_beats must be finite and >= 0, got {self.start_beats!r}")
        if not math.isfinite(self.duration_beats) or self.duration_beats <= 0:
            raise UsageError(f"duration_beats must be finite and > 0, got {self.duration_beats!r}")


def velocity_to_midi(velocity: float) -> int:
    """0..1 -> 1..127 (``note_rows.velocities_to_midi`` for one value)."""
    return int(velocities_to_midi(float(velocity)))


def midi_to_velocity(velocity: int) -> float:
    """1..127 -> 0..1."""
    return float(velocity) / 127.0


def pattern_to_notes(
    pattern: Pattern,
    output_pitches: Sequence[int] = OUTPUT_PITCHES,
    duration_steps: float = DEFAULT_DURATION_STEPS,
) -> list[Note]:
    """Every hit becomes a note at ``(step + offset) / steps_per_beat``, sorted by start then pitch
    (``note_rows.pattern_to_note_rows``, as ``Note`` objects)."""
    if len(output_pitches) != N_VOICES:
        raise UsageError(f"output_pitches must have {N_VOICES} entries, got {len(output_pitches)}")
    rows = pattern_to_note_rows(pattern, output_pitches, duration_steps)
    return [
        Note(start_beats=start, pitch=int(pitch), duration_beats=duration, velocity=int(velocity))
        for pitch, start, duration, velocity in rows.tolist()
    ]


def notes_to_pattern(
    notes: Iterable[Note] | Iterable[tuple[int, float, float, int]],
    grid: Grid,
    mapper: PitchMapper | None = None,
    start_beats: float = 0.0,
) -> Pattern:
    """Quantise notes onto ``grid`` (``note_rows.quantise_onsets``), keeping each hit's offset from the
    nearest step.

    ``notes`` may be ``Note`` objects or ``(pitch, start_beats, duration_beats, velocity)`` tuples (the OSC
    wire order). Notes are taken from the window ``[start_beats, start_beats + length)``; a note within half a
    step before the window end wraps to step 0. When two hits of one voice land on one step, the loudest wins
    (the first of equals). Pitches of the notes in the window are mapped by ``mapper`` (default: Roland/GMD
    map, dropping and counting unknown pitches).
    """
    mapper = mapper or PitchMapper()
    rows = np.array(
        [(n.pitch, n.start_beats, n.velocity) if isinstance(n, Note) else (n[0], n[1], n[3]) for n in notes],
        dtype=np.float64,
    ).reshape(-1, 3)  # [K, 3]: pitch, start_beats, velocity
    positions = (rows[:, 1] - start_beats) * grid.steps_per_beat  # [K], in steps
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(positions) & (positions >= -MAX_OFFSET_STEPS) & (positions < grid.n_steps)
    voices = mapper.voices_of(rows[inside, 0].astype(np.int64))
    known = voices >= 0
    hits, velocities, offsets = quantise_onsets(
        positions[inside][known], voices[known], rows[inside, 2][known], grid.n_steps, loop=True
    )
    return Pattern(grid, hits, velocities, offsets)
