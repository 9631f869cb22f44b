"""companion.core.note_rows and the rules beside it: one quantiser, one pitch -> voice table, one bars
rule."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import (
    GENERAL_MIDI,
    ROLAND_GMD,
    VOICE_INDEX,
    PitchMapper,
    UnknownPitchError,
    clip_voice_lookup,
    voice_lookup,
)
from companion.core.midi_file import read_drum_take
from companion.core.note_rows import loop_note_rows, pattern_to_note_rows, quantise_onsets
from companion.core.notes import Note, notes_to_pattern, pattern_to_notes
from companion.core.pattern import (
    CLIP_PARTIAL_BAR,
    FILE_PARTIAL_BAR,
    MAX_BARS,
    Grid,
    bars_for_length,
    whole_bars,
)
from tests.support.midi_files import write_midi

KICK, HAT = VOICE_INDEX["kick"], VOICE_INDEX["closed_hat"]


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
    notes = [Note(0.95, 42, 0.1, 1), Note(1.05, 44, 0.1, 1)]  # both on step 4, both closed hat
    pattern = notes_to_pattern(notes, Grid(4, 4, 1))
    assert pattern.offsets_steps[HAT, 4] == pytest.approx(-0.2)


def test_clip_velocities_above_127_count_as_127():
    _, velocities, _ = quantise_onsets(np.array([0.0]), np.array([KICK]), [127.4], 16, True)
    assert velocities[KICK, 0] == 1.0


def test_note_rows_equal_the_note_objects():
    rng = np.random.default_rng(3)
    grid = Grid(4, 4, 2)
    notes = [
        Note(float(s), int(p), 0.1, int(v))
        for s, p, v in zip(
            np.round(rng.uniform(0, 8, 60) * 16) / 16,
            rng.choice([36, 38, 42, 46], 60),
            rng.integers(1, 128, 60),
            strict=True,
        )
    ]
    pattern = notes_to_pattern(notes, grid)
    rows = pattern_to_note_rows(pattern, (36, 38, 42, 46, 43, 47, 50, 49, 51))
    objects = pattern_to_notes(pattern)
    assert [[n.pitch, n.start_beats, n.duration_beats, n.velocity] for n in objects] == rows.tolist()


def test_loop_note_rows_repeats_and_crops():
    rows = np.array([[36, 0.0, 0.1, 100], [38, 3.5, 0.1, 100], [42, 4.5, 0.1, 100]], dtype=np.float64)
    looped = loop_note_rows(rows, 4.0, 10.0)
    assert looped[:, 1].tolist() == [0.0, 3.5, 4.0, 7.5, 8.0]


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
