"""MIDI's value rules, written once (companion.core.midi_values) and used wherever a MIDI value is checked."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from companion.core.errors import UsageError
from companion.core.midi_values import (
    CHANNEL,
    DEFAULT_BPM,
    DRUM_CHANNEL,
    MAX_BPM,
    MIN_BPM,
    PITCH,
    VELOCITY,
    channel_to_wire,
    check_bpm,
    midi_to_velocities,
    velocities_to_midi,
    wire_to_channel,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_rules_as_data():
    assert (PITCH.low, PITCH.high, VELOCITY.low, VELOCITY.high) == (0, 127, 1, 127)
    assert (CHANNEL.low, CHANNEL.high, DRUM_CHANNEL) == (1, 16, 10)
    assert (MIN_BPM, MAX_BPM, DEFAULT_BPM) == (20.0, 999.0, 120.0)


@pytest.mark.parametrize(
    ("rule", "value", "field", "message"),
    [
        (PITCH, 128, None, r"pitch must be an int in 0\.\.127, got 128"),
        (PITCH, 36.0, "drum map pitch", r"drum map pitch must be an int in 0\.\.127, got 36\.0"),
        (VELOCITY, 0, "note-on velocity", r"note-on velocity must be an int in 1\.\.127, got 0"),
        (CHANNEL, 0, None, r"MIDI channel must be an int in 1\.\.16, got 0"),
        (CHANNEL, True, None, r"MIDI channel must be an int in 1\.\.16, got True"),
    ],
)
def test_a_check_names_the_field_and_the_range(rule, value, field, message):
    with pytest.raises(UsageError, match=message):
        rule.check(value, field)


def test_checks_pass_numpy_ints_and_masks_flag_fractions_and_nan():
    assert PITCH.check(np.int16(36)) == 36 and VELOCITY.check(127) == 127
    values = np.array([0.0, 127.0, 127.5, -1.0, np.nan, 36.5])
    assert PITCH.outside(values).tolist() == [False, False, True, True, True, True]


def test_one_channel_numbering_and_the_wire_edge():
    assert [channel_to_wire(c) for c in (1, 10, 16)] == [0, 9, 15]
    assert [wire_to_channel(n) for n in (0, 9, 15)] == [1, 10, 16]
    with pytest.raises(UsageError, match="MIDI channel"):
        channel_to_wire(17)


def test_bpm():
    assert check_bpm(120) == 120.0 and isinstance(check_bpm(120), float)
    for bad in (19.9, 1000, float("nan"), float("inf"), True, "120"):
        with pytest.raises(UsageError, match="bpm must be"):
            check_bpm(bad)


def test_velocities_both_ways_exactly():
    every = np.arange(1, 128)
    assert velocities_to_midi(midi_to_velocities(every)).tolist() == every.tolist()
    assert velocities_to_midi(np.array([0.0, 2.0])).tolist() == [1, 127]
    assert midi_to_velocities(np.array([127.4])).tolist() == [1.0]


# A MIDI range written out by hand is the repeated piece this module replaces: "0..127", "1..16", a default
# tempo of 120 or a channel counted from 0 outside this module (docstrings and comments aside).
HAND_WRITTEN = re.compile(
    r"(?<![\w.])(0 <= [\w()]+ <= 127|1 <= \w+ <= 16|0 <= [\w.]+ <= 15|= 120\.0\b|\| *\([\w.()]+ - 1\)"
    r"|[\w\]]+ [<>]=? 127\b)"
)


def test_no_other_module_writes_a_midi_range_by_hand():
    found = []
    for top in ("companion", "training"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == "midi_values.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                code = line.split("#")[0]
                if HAND_WRITTEN.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
