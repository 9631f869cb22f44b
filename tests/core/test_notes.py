"""The one note record (companion.core.notes): pattern <-> notes, the one quantiser, and the rules beside it
(one pitch -> voice table, one bars rule)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import (
    GENERAL_MIDI,
    N_VOICES,
    OUTPUT_PITCHES,
    ROLAND_GMD,
    VOICE_INDEX,
    PitchMapper,
    UnknownPitchError,
    clip_voice_lookup,
    voice_lookup,
)
from companion.core.errors import UsageError
from companion.core.midi_file import read_drum_take
from companion.core.notes import (
    NOTE_DTYPE,
    OFF_GRID,
    loop_notes,
    notes_to_pattern,
    pattern_to_notes,
    quantise_onsets,
    rows_to_notes,
    sort_notes,
)
from companion.core.pattern import (
    CLIP_PARTIAL_BAR,
    FILE_PARTIAL_BAR,
    MAX_BARS,
    Grid,
    Pattern,
    bars_for_length,
    whole_bars,
)
from tests.support.midi_files import write_midi

KICK, SNARE, HAT = VOICE_INDEX["kick"], VOICE_INDEX["snare"], VOICE_INDEX["closed_hat"]
VOICE_INDEX_OF_PITCH = {pitch: voice for voice, pitch in enumerate(OUTPUT_PITCHES)}


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
    assert notes[["pitch", "start_beats", "velocity", "step"]].tolist() == [
        (36, 0.0, 127, 0),
        (38, 1.0625, 64, 4),
    ]
    assert ((notes["duration_beats"] > 0) & (notes["duration_beats"] <= 0.5 / 4)).all()


def test_every_velocity_round_trips_exactly():
    grid = Grid(4, 4, 8)  # 128 steps: one hat per velocity 1..127
    notes = rows_to_notes([(42, step / 4, 0.1, step + 1) for step in range(127)])
    pattern = notes_to_pattern(notes, grid)
    back = pattern_to_notes(pattern, OUTPUT_PITCHES)
    assert back["velocity"].tolist() == list(range(1, 128))
    assert back["step"].tolist() == list(range(127))


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
    [kick] = notes[notes["pitch"] == 36]
    assert kick["start_beats"] == pytest.approx(grid.length_beats - 0.3 / 4)  # looped to the end
    assert kick["step"] == 0  # and still the downbeat's note
    assert ((notes["start_beats"] >= 0) & (notes["start_beats"] < grid.length_beats)).all()
    back = notes_to_pattern(notes, grid)
    assert back.same_as(pattern, atol=1e-5)


def test_loudest_wins_on_one_step():
    grid = Grid(4, 4, 1)
    notes = rows_to_notes(
        [(38, 1.0, 0.1, 40), (38, 1.05, 0.1, 100), (40, 0.98, 0.1, 70)]
    )  # 40: snare rim too
    pattern = notes_to_pattern(notes, grid)
    assert pattern.n_hits == 1
    assert pattern.velocities[SNARE, 4] == pytest.approx(100 / 127)
    assert pattern.offsets_steps[SNARE, 4] == pytest.approx(0.2, abs=1e-5)


def test_wire_rows_window_and_mapper():
    grid = Grid(4, 4, 1)
    wire = [
        (36, 4.0, 0.1, 90),
        (36, 3.0, 0.1, 90),
        (35, 5.0, 0.1, 90),
        (99, 6.0, 0.1, 90),
        (36, 8.5, 0.1, 90),
    ]
    mapper = PitchMapper(GENERAL_MIDI)
    pattern = notes_to_pattern(rows_to_notes(wire), grid, mapper=mapper, start_beats=4.0)
    assert np.flatnonzero(pattern.hits[KICK]).tolist() == [0, 4]  # 3.0 is before, 8.5 after the window
    assert mapper.dropped == {99: 1}


def test_duration_stops_before_the_next_hit_of_the_voice():
    grid = Grid(4, 4, 1)
    notes = pattern_to_notes(
        pattern_with(grid, {(HAT, 0): (0.5, 0.0), (HAT, 1): (0.5, -0.4)}), duration_steps=0.5
    )
    first = notes[0]  # by start
    assert first["start_beats"] + first["duration_beats"] < 0.6 / 4


def test_output_pitch_count_checked():
    with pytest.raises(UsageError, match="9 entries"):
        pattern_to_notes(Pattern.empty(Grid(4, 4, 1)), pitches=(36, 38))


def test_wire_rows_become_records_off_the_grid():
    notes = rows_to_notes(np.array([[36, 0.5, 0.25, 100.0]]))
    assert notes.tolist() == [(36, 0.5, 0.25, 100, OFF_GRID)] and sort_notes(notes).dtype == NOTE_DTYPE


def test_an_onset_goes_to_the_nearest_step_and_keeps_the_rest_as_offset():
    hits, velocities, offsets = quantise_onsets(
        np.array([3.7, 8.2]), np.array([KICK, HAT]), [64, 127], 16, True
    )
    assert np.flatnonzero(hits[KICK]).tolist() == [4] and np.flatnonzero(hits[HAT]).tolist() == [8]
    assert offsets[KICK, 4] == pytest.approx(-0.3) and offsets[HAT, 8] == pytest.approx(0.2)
    assert velocities[KICK, 4] == np.float32(64 / 127) and velocities[HAT, 8] == 1.0


def test_a_loop_wraps_the_last_half_step_to_the_start_and_a_performance_leaves_it_out():
    looped, _, offsets = quantise_onsets(np.array([15.6]), np.array([KICK]), [100], 16, loop=True)
    assert looped[KICK, 0] and offsets[KICK, 0] == pytest.approx(-0.4)
    straight, _, _ = quantise_onsets(np.array([15.6]), np.array([KICK]), [100], 16, loop=False)
    assert not straight.any()


def test_the_loudest_onset_of_a_step_wins_and_the_first_of_equals():
    positions = np.array([3.9, 4.2, 4.1, 3.8])
    hits, velocities, offsets = quantise_onsets(positions, np.full(4, KICK), [90, 100, 100, 20], 16, True)
    assert hits.sum() == 1 and velocities[KICK, 4] == np.float32(100 / 127)
    assert offsets[KICK, 4] == pytest.approx(0.2)  # the first of the two loudest


def test_notes_of_equal_velocity_on_one_step_keep_the_first():
    # velocity 1: 1/127 rounds down in float32, the tie is decided on the MIDI values
    notes = rows_to_notes([(42, 0.95, 0.1, 1), (44, 1.05, 0.1, 1)])  # both on step 4, both closed hat
    pattern = notes_to_pattern(notes, Grid(4, 4, 1))
    assert pattern.offsets_steps[HAT, 4] == pytest.approx(-0.2)


def test_clip_velocities_above_127_count_as_127():
    _, velocities, _ = quantise_onsets(np.array([0.0]), np.array([KICK]), [127.4], 16, True)
    assert velocities[KICK, 0] == 1.0


def test_a_notes_step_is_the_grid_step_it_was_quantised_to():
    rng = np.random.default_rng(3)
    grid = Grid(4, 4, 2)
    starts = np.round(rng.uniform(0, 8, 60) * 16) / 16  # [60] on 64ths: offsets of a quarter step
    pitches, velocities = rng.choice([36, 38, 42, 46], 60), rng.integers(1, 128, 60)
    pattern = notes_to_pattern(
        rows_to_notes(np.stack([pitches, starts, np.full(60, 0.1), velocities], 1)), grid
    )
    notes = pattern_to_notes(pattern)
    assert notes.dtype == NOTE_DTYPE and (notes["step"] >= 0).all()
    voices = np.array([VOICE_INDEX_OF_PITCH[p] for p in notes["pitch"].tolist()])
    assert pattern.hits[voices, notes["step"]].all()  # every note sits on a hit at its own step
    offsets = notes["start_beats"] * grid.steps_per_beat - notes["step"]
    np.testing.assert_allclose(offsets, pattern.offsets_steps[voices, notes["step"]], atol=1e-6)


def test_loop_notes_repeats_and_crops():
    notes = rows_to_notes([(36, 0.0, 0.1, 100), (38, 3.5, 0.1, 100), (42, 4.5, 0.1, 100)])
    looped = loop_notes(notes, 4.0, 10.0)
    assert looped["start_beats"].tolist() == [0.0, 3.5, 4.0, 7.5, 8.0]
    assert (looped["step"] == OFF_GRID).all()


@pytest.mark.parametrize(
    ("length_beats", "partial", "bars"),
    [
        (16.0, CLIP_PARTIAL_BAR, 4),
        (16.001, CLIP_PARTIAL_BAR, 5),  # a clip keeps every note: any part of a bar is a bar
        (17.9, FILE_PARTIAL_BAR, 4),  # a note-off ringing past the loop end is not a bar
        (18.0, FILE_PARTIAL_BAR, 5),  # half a bar played is
        (0.0, CLIP_PARTIAL_BAR, 1),
        (100.0, FILE_PARTIAL_BAR, MAX_BARS),
    ],
)
def test_bars_for_length(length_beats, partial, bars):
    assert bars_for_length(length_beats, 4, partial) == bars


def test_whole_bars_has_no_limits_and_any_unit():
    assert whole_bars(0.4 * 1920, 1920, FILE_PARTIAL_BAR) == 0
    assert whole_bars(40.5 * 1920, 1920, FILE_PARTIAL_BAR) == 41


def test_voice_lookup_is_the_drum_map_as_a_table():
    lookup = voice_lookup(ROLAND_GMD)
    assert lookup.shape == (128,) and lookup[22] == lookup[42] == HAT and lookup[60] == -1
    assert [PitchMapper(GENERAL_MIDI).voice_of(p) for p in (35, 60)] == [KICK, None]
    with pytest.raises(ValueError, match=r"0\.\.127"):
        voice_lookup({128: "kick"})


def test_clip_lookup_reads_the_models_pitches_first_and_is_read_only():
    lookup = clip_voice_lookup((60, 38, 42, 46, 43, 47, 50, 49, 51))
    assert lookup[60] == KICK and lookup[36] == KICK  # its own pitch, and General MIDI's still
    with pytest.raises(ValueError):
        lookup[0] = 1


def test_voices_of_counts_or_refuses_unknown_and_out_of_range_pitches():
    mapper = PitchMapper(ROLAND_GMD)
    assert mapper.voices_of(np.array([36, 60, -1, 200, 60])).tolist() == [KICK, -1, -1, -1, -1]
    assert mapper.dropped == {60: 2, -1: 1, 200: 1}
    with pytest.raises(UnknownPitchError, match="pitch 60"):
        PitchMapper(ROLAND_GMD, policy="error").voices_of(np.array([36, 60]))


def test_a_file_with_a_zero_tempo_reads_at_the_default_tempo(tmp_path):
    import mido

    path = write_midi(tmp_path / "z.mid", [(0.0, 36, 100)], bpm=None)
    midi = mido.MidiFile(path)
    midi.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=0))
    midi.save(path)
    assert read_drum_take(path).bpm == 120.0
