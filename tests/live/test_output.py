"""companion.live.output: message validation, the "Nudge" port through JACK, port lookup, panic."""

from __future__ import annotations

import os

import pytest

from companion.live.output import (
    MidiPortError,
    find_port,
    open_output,
    resolve_api,
    validate_message,
)
from tests.support.jack import MidiRecorder, jack_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


@pytest.fixture
def nudge_out(jack):
    output = open_output("jack")
    recorder = MidiRecorder(connect_to=output.name)
    yield output, recorder
    output.close()
    recorder.close()


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ([], "MIDI message is empty"),
        ([0x40, 1, 2], "status byte must be in 0x80..0xFF"),
        ([0x90, 60], "takes 2 data bytes, got 1"),
        ([0x90, 60, 128], "data byte 2 must be in 0..127, got 128"),
        ([0x99, 60.0, 100], "byte 1 must be an int"),
        ([0xF0, 1, 0xF7], "0xF0 is not supported"),
        ([0xF8, 0], "takes 0 data bytes"),
    ],
)
def test_validate_message_names_the_fault(message, error):
    with pytest.raises(ValueError, match=error):
        validate_message(message)


def test_validate_message_accepts_channel_and_system_messages():
    assert validate_message([0x99, 36, 100]) == (0x99, 36, 100)
    assert validate_message([0xF2, 0, 1]) == (0xF2, 0, 1)
    assert validate_message([0xFC]) == (0xFC,)


def test_resolve_api_and_find_port():
    assert resolve_api("jack") == ["jack"]
    assert set(resolve_api("auto")) <= {"jack", "alsa", "coremidi", "winmm"}
    with pytest.raises(ValueError, match="MIDI API 'pipewire' is not known; allowed: auto, jack"):
        resolve_api("pipewire")
    names = ["Sink:in", "Other:in", "Loop A", "Loop B"]
    assert find_port(names, "Sink:in") == 0
    assert find_port(names, "other") == 1
    with pytest.raises(MidiPortError, match="'Loop' matches several ports"):
        find_port(names, "Loop")
    with pytest.raises(MidiPortError, match="'Nope' matches no port; ports found: 'Sink:in'"):
        find_port(names, "Nope")


def test_virtual_port_is_called_nudge_and_delivers_exact_bytes_in_order(nudge_out):
    output, recorder = nudge_out
    assert output.name == "Nudge:Nudge"
    output.note_on(10, 36, 100)
    output.note_on(10, 42, 64)
    output.note_off(10, 36)
    output.control_change(3, 7, 90)
    got = [r.message for r in recorder.take(4)]
    assert got == [(0x99, 36, 100), (0x99, 42, 64), (0x89, 36, 0), (0xB2, 7, 90)]
    assert output.sounding(10) == {42}


def test_invalid_message_is_refused_and_nothing_is_sent(nudge_out):
    output, recorder = nudge_out
    with pytest.raises(ValueError, match=r"MIDI channel must be an int in 1\.\.16, got 17"):
        output.note_on(17, 36, 100)
    with pytest.raises(ValueError, match=r"velocity must be an int in 1\.\.127"):
        output.note_on(10, 36, 0)
    with pytest.raises(ValueError, match=r"data byte 1 must be in 0\.\.127, got 200"):
        output.note_on(10, 200, 100)
    output.note_on(10, 38, 1)  # a marker: the first thing that arrives must be it
    assert [r.message for r in recorder.take(1)] == [(0x99, 38, 1)]


def test_panic_ends_sounding_notes_then_all_notes_off(nudge_out):
    output, recorder = nudge_out
    output.note_on(10, 36, 100)
    output.note_on(10, 46, 90)
    output.note_on(2, 60, 90)  # another channel: untouched by a channel-10 panic
    recorder.take(3)
    output.panic(10)
    got = [r.message for r in recorder.take(3)]
    assert got == [(0x89, 36, 0), (0x89, 46, 0), (0xB9, 123, 0)]
    assert output.sounding() == {60}
    output.close()  # closing ends the rest
    got = [r.message for r in recorder.take(2)]
    assert got == [(0x81, 60, 0), (0xB1, 123, 0)]
    with pytest.raises(MidiPortError, match="is closed"):
        output.note_on(10, 36, 100)


def test_connects_to_an_existing_port_by_name(jack):
    recorder = MidiRecorder(client_name="Sink")
    output = open_output("jack", "Sink")
    try:
        assert output.name == "Sink:in"
        output.note_on(10, 51, 77)
        assert [r.message for r in recorder.take(1)] == [(0x99, 51, 77)]
    finally:
        output.close()
        recorder.close()


def test_unknown_port_lists_what_exists(jack):
    with pytest.raises(MidiPortError, match="'No Such Synth' matches no port"):
        open_output("jack", "No Such Synth")


def test_no_jack_server_is_a_clear_error(jack):
    old = os.environ["JACK_DEFAULT_SERVER"]
    os.environ["JACK_DEFAULT_SERVER"] = "nudge-no-such-server"
    try:
        with pytest.raises(MidiPortError, match="cannot open the jack MIDI client"):
            open_output("jack")
    finally:
        os.environ["JACK_DEFAULT_SERVER"] = old
