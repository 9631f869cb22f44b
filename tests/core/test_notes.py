"""Pattern <-> note list."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import GENERAL_MIDI, N_VOICES, OUTPUT_PITCHES, VOICE_INDEX, PitchMapper
from companion.core.notes import Note, midi_to_velocity, notes_to_pattern, pattern_to_notes, velocity_to_midi
from companion.core.pattern import Grid, Pattern

KICK, SNARE, HAT = VOICE_INDEX["kick"], VOICE_INDEX["snare"], VOICE_INDEX["closed_hat"]


def pattern_with(grid: Grid, cells: dict[tuple[int, int], tuple[float, float]]) -> Pattern:
    shape = (N_VOICES, grid.n_steps)
    hits, velocities, offsets = (
        np.zeros(shape, bool),
        np.zeros(shape, np.float32),
        np.zeros(shape, np.float32),
    )
    for (v, s), (velocity, offset) in cells.items():
        hits[v, s], velocities[v, s], offsets[v, s] = True, velocity, offset
    return Pattern(grid, hits, velocities, offsets)


def test_hits_become_notes_at_step_plus_offset():
    grid = Grid(4, 4, 1)
    notes = pattern_to_notes(pattern_with(grid, {(KICK, 0): (1.0, 0.0), (SNARE, 4): (0.5, 0.25)}))
    assert [(n.pitch, n.start_beats, n.velocity) for n in notes] == [(36, 0.0, 127), (38, 1.0625, 64)]
    assert all(0 < n.duration_beats <= 0.5 / 4 for n in notes)


def test_every_velocity_round_trips_exactly():
    grid = Grid(4, 4, 8)  # 128 steps: one hat per velocity 1..127
    notes = [Note(step / 4, 42, 0.1, step + 1) for step in range(127)]
    pattern = notes_to_pattern(notes, grid)
    back = pattern_to_notes(pattern, OUTPUT_PITCHES)
    assert [n.velocity for n in back] == list(range(1, 128))
    assert all(velocity_to_midi(midi_to_velocity(v)) == v for v in range(1, 128))
    assert velocity_to_midi(0.0) == 1 and velocity_to_midi(2.0) == 127


def test_offsets_round_trip_and_early_downbeat_wraps():
    grid = Grid(4, 4, 2)
    v = [k / 127 for k in (101, 76, 64, 1)]  # velocities on the MIDI scale round-trip exactly
    cells = {
        (KICK, 0): (v[0], -0.3),
        (SNARE, 4): (v[1], 0.45),
        (HAT, 6): (v[2], -0.125),
        (HAT, 31): (v[3], 0.2),
    }
    pattern = pattern_with(grid, cells)
    notes = pattern_to_notes(pattern)
    kick = next(n for n in notes if n.pitch == 36)
    assert kick.start_beats == pytest.approx(grid.length_beats - 0.3 / 4)  # looped to the end
    assert all(0 <= n.start_beats < grid.length_beats for n in notes)
    back = notes_to_pattern(notes, grid)
    assert back.same_as(pattern, atol=1e-5)


def test_loudest_wins_on_one_step():
    grid = Grid(4, 4, 1)
    notes = [Note(1.0, 38, 0.1, 40), Note(1.05, 38, 0.1, 100), Note(0.98, 40, 0.1, 70)]  # 40 is snare rim too
    pattern = notes_to_pattern(notes, grid)
    assert pattern.n_hits == 1
    assert pattern.velocities[SNARE, 4] == pytest.approx(100 / 127)
    assert pattern.offsets_steps[SNARE, 4] == pytest.approx(0.2, abs=1e-5)


def test_tuples_window_and_mapper():
    grid = Grid(4, 4, 1)
    wire = [
        (36, 4.0, 0.1, 90),
        (36, 3.0, 0.1, 90),
        (35, 5.0, 0.1, 90),
        (99, 6.0, 0.1, 90),
        (36, 8.5, 0.1, 90),
    ]
    mapper = PitchMapper(GENERAL_MIDI)
    pattern = notes_to_pattern(wire, grid, mapper=mapper, start_beats=4.0)
    assert np.flatnonzero(pattern.hits[KICK]).tolist() == [0, 4]  # 3.0 is before, 8.5 after the window
    assert mapper.dropped == {99: 1}


def test_duration_stops_before_the_next_hit_of_the_voice():
    grid = Grid(4, 4, 1)
    notes = pattern_to_notes(
        pattern_with(grid, {(HAT, 0): (0.5, 0.0), (HAT, 1): (0.5, -0.4)}), duration_steps=0.5
    )
    first = min(notes, key=lambda n: n.start_beats)
    assert first.start_beats + first.duration_beats < 0.6 / 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pitch": 128}, r"pitch must be an int in 0\.\.127"),
        ({"velocity": 0}, r"velocity must be an int in 1\.\.127"),
        ({"start_beats": float("nan")}, "start_beats must be finite"),
        ({"duration_beats": 0.0}, "duration_beats must be finite and > 0"),
    ],
)
def test_note_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Note(**{"start_beats": 0.0, "pitch": 36, "duration_beats": 0.1, "velocity": 100, **kwargs})


def test_output_pitch_count_checked():
    with pytest.raises(ValueError, match="9 entries"):
        pattern_to_notes(Pattern.empty(Grid(4, 4, 1)), output_pitches=(36, 38))
