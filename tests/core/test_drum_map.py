"""Voices, the Roland (GMD) and General MIDI input maps, output pitches, the unknown-pitch policy."""

from __future__ import annotations

import pytest

from companion.core.drum_map import (
    GENERAL_MIDI,
    N_VOICES,
    OUTPUT_PITCHES,
    ROLAND_GMD,
    VOICE_GROUPS,
    VOICE_INDEX,
    VOICES,
    PitchMapper,
    UnknownPitchError,
    UnknownPitchPolicy,
    drum_map_by_name,
    output_pitches_from,
)


def test_nine_voices_each_in_one_group():
    assert VOICES == (
        "kick",
        "snare",
        "closed_hat",
        "open_hat",
        "low_tom",
        "mid_tom",
        "high_tom",
        "crash",
        "ride",
    )
    assert sorted(i for group in VOICE_GROUPS.values() for i in group) == list(range(N_VOICES))


def test_roland_edge_pitches_are_hats():
    assert ROLAND_GMD[22] == "closed_hat" and ROLAND_GMD[26] == "open_hat"
    mapper = PitchMapper(ROLAND_GMD)
    assert mapper.voice_of(22) == mapper.voice_of(42) == VOICE_INDEX["closed_hat"]
    assert mapper.voice_of(26) == mapper.voice_of(46) == VOICE_INDEX["open_hat"]
    assert mapper.n_dropped == 0


def test_roland_table_is_the_gmd_authors_mapping():
    expected = {
        "kick": {36}, "snare": {38, 37, 40}, "closed_hat": {42, 22, 44}, "open_hat": {46, 26},
        "low_tom": {43, 58}, "mid_tom": {47, 45}, "high_tom": {50, 48}, "crash": {49, 52, 55, 57},
        "ride": {51, 53, 59},
    }  # fmt: skip
    assert {v: {p for p, w in ROLAND_GMD.items() if w == v} for v in VOICES} == expected


def test_general_midi_both_bass_drums_are_kick():
    mapper = PitchMapper(GENERAL_MIDI)
    assert mapper.voice_of(35) == mapper.voice_of(36) == VOICE_INDEX["kick"]
    assert mapper.voice_of(39) == VOICE_INDEX["snare"] and mapper.voice_of(41) == VOICE_INDEX["low_tom"]


@pytest.mark.parametrize("table", [ROLAND_GMD, GENERAL_MIDI], ids=["roland", "gm"])
def test_output_pitches_read_back_as_their_voice(table):
    mapper = PitchMapper(table)
    assert [mapper.voice_of(p) for p in OUTPUT_PITCHES] == list(range(N_VOICES))


def test_drop_policy_counts_every_unknown_pitch():
    mapper = PitchMapper(ROLAND_GMD)
    assert mapper.voice_of(35) is None and mapper.voice_of(60) is None and mapper.voice_of(60) is None
    assert mapper.dropped == {35: 1, 60: 2} and mapper.n_dropped == 3


def test_error_policy_names_the_pitch():
    mapper = PitchMapper(GENERAL_MIDI, policy="error")
    assert mapper.policy is UnknownPitchPolicy.ERROR
    with pytest.raises(UnknownPitchError, match="pitch 22 is not in the drum map"):
        mapper.voice_of(22)
    assert mapper.n_dropped == 0
    with pytest.raises(ValueError):
        PitchMapper(GENERAL_MIDI, policy="ignore")


def test_bad_tables_and_names():
    with pytest.raises(ValueError, match="unknown voices"):
        PitchMapper({36: "cowbell"})
    with pytest.raises(ValueError, match=r"unknown drum map 'tr808'; allowed: \['gm', 'roland'\]"):
        drum_map_by_name("tr808")
    assert drum_map_by_name("gm") is GENERAL_MIDI


def test_output_pitch_overrides():
    pitches = output_pitches_from({"kick": 35, "ride": 59})
    assert pitches[0] == 35 and pitches[-1] == 59 and pitches[1:-1] == OUTPUT_PITCHES[1:-1]
    with pytest.raises(ValueError, match="unknown voice 'cowbell'"):
        output_pitches_from({"cowbell": 56})
    with pytest.raises(ValueError, match=r"0\.\.127"):
        output_pitches_from({"kick": 128})
