"""tests.support.jack's MidiRecorder: its port in a child process, closed while messages still arrive."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.jack import CLOSE_TIMEOUT_S, MidiRecorder, jack_or_skip

pytestmark = pytest.mark.integration

SEND_EVERY_S = 0.0005


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


class Sender:
    """An rtmidi JACK output ``Sender:out`` that, while ``running``, sends note-ons without a pause."""

    def __init__(self) -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="Sender")
        self.out.open_virtual_port("out")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        i = 0
        while not self.stop.wait(SEND_EVERY_S):  # the pace of the stream, not synchronisation
            self.out.send_message([0x90, i % 128, 100])
            i += 1

    def input_ports(self) -> list[str]:
        return self.out.get_ports()


@pytest.fixture
def sender(jack) -> Iterator[Sender]:
    sender = Sender()
    yield sender
    sender.stop.set()
    if sender.thread.is_alive():
        sender.thread.join()
    sender.out.delete()


def test_closing_while_messages_arrive_neither_hangs_nor_crashes(sender):
    sender.thread.start()
    for _ in range(10):
        recorder = MidiRecorder("Sink", connect_to="Sender:out")
        # the same client name every time: each close waits until JACK has dropped the previous client
        assert recorder.port_name == "Sink:in"
        assert [p for p in sender.input_ports() if p.startswith("Sink")] == ["Sink:in"]
        assert len(recorder.take(20)) == 20  # the stream is flowing into the child
        started = time.monotonic()
        recorder.close()
        assert time.monotonic() - started < CLOSE_TIMEOUT_S  # it left when told to, not killed
        assert recorder._process.returncode == 0
        recorder.close()  # idempotent


def test_buffered_recorder_keeps_everything_until_drain(sender):
    recorder = MidiRecorder("Sink", connect_to="Sender:out", buffered=True)
    try:
        for pitch in range(100):
            sender.out.send_message([0x90, pitch, 1 + pitch])
        got = recorder.drain(0.3)
        assert [r.message for r in got] == [(0x90, pitch, 1 + pitch) for pitch in range(100)]
        assert got[0].jack_time_s == 0.0
        assert all(a.jack_time_s <= b.jack_time_s for a, b in itertools.pairwise(got))
        assert recorder.received == got
        sender.out.send_message([0x80, 1, 0])
        assert [r.message for r in recorder.drain(0.3)] == [(0x80, 1, 0)]
    finally:
        recorder.close()


def test_a_missing_port_is_a_lookup_error(jack):
    with pytest.raises(LookupError, match="JACK MIDI port 'Nowhere:out' not found"):
        MidiRecorder("Sink", connect_to="Nowhere:out")
