"""The whole product path for live MIDI: ``nudge serve --midi`` as a real process, OSC over real UDP,
a real ONNX model, notes arriving on a real JACK MIDI port (dummy backend)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.commands.test_serve import TIMEOUT, ready_line, start
from tests.support.jack import MidiRecorder, assert_paired, is_on, jack_or_skip
from tests.support.tiny_onnx import write_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


def _request(client: socket.socket, port: int, address: str, tags: str, args: tuple) -> list:
    client.sendto(encode_message(address, tags, args), ("127.0.0.1", port))
    return [decode_message(client.recvfrom(65536)[0])]


def _generate(client: socket.socket, port: int) -> list[tuple[int, float, int]]:
    """Ask for a pattern; reassemble the note reply -> [(pitch, start_beats, velocity)]."""
    client.sendto(
        encode_message("/nudge/generate", "isisf", (7, "seed", 3, "density", 0.6)), ("127.0.0.1", port)
    )
    begin = decode_message(client.recvfrom(65536)[0])
    assert begin.address == "/nudge/notes/begin", begin
    n_parts, n_notes = begin.args[1], begin.args[2]
    flat: list = []
    for _ in range(n_parts):
        part = decode_message(client.recvfrom(65536)[0])
        assert part.address == "/nudge/notes" and part.args[0] == 7
        flat.extend(part.args[2:])
    end = decode_message(client.recvfrom(65536)[0])
    assert end.address == "/nudge/notes/end"
    notes = [(flat[i], flat[i + 1], flat[i + 3]) for i in range(0, len(flat), 4)]
    assert len(notes) == n_notes > 0
    return notes


@contextmanager
def live_daemon(tmp_path, sink: str, *args: str) -> Iterator[tuple]:
    """``nudge serve --midi`` on JACK into a recorder named ``sink`` (channel 10), a tiny model in
    ``tmp_path`` -> (process, port, recorder, client socket); everything stopped afterwards."""
    write_tiny_model(tmp_path / "default.onnx")
    recorder = MidiRecorder(client_name=sink)
    process = start(
        "--models-dir", str(tmp_path), "--port", "0", *args,
        "--midi", "--midi-api", "jack", "--midi-out", sink, "--midi-channel", "10",
    )  # fmt: skip
    try:
        match = re.search(r"listening on 127\.0\.0\.1:(\d+).*live MIDI on", ready_line(process))
        assert match, process.stderr.read()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            yield process, int(match.group(1)), recorder, client
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        recorder.close()


def test_generated_pattern_plays_on_a_jack_port_and_stops_without_hanging_notes(jack, tmp_path):
    with live_daemon(tmp_path, "Sink", "--bpm", "300") as (process, port, recorder, client):
        notes = _generate(client, port)
        assert _request(client, port, "/nudge/play/start", "i", (8,))[0].args == (8,)
        played = recorder.wait_for(lambda r: sum(map(is_on, recorder.received)) >= len(notes), TIMEOUT)
        first_loop = [r for r in played if is_on(r)][: len(notes)]
        # one loop of the pattern: exactly the notes the daemon replied with, on channel 10
        assert {r.message[0] for r in first_loop} == {0x99}
        assert Counter((r.message[1], r.message[2]) for r in first_loop) == Counter(
            (pitch, velocity) for pitch, _, velocity in notes
        )
        assert _request(client, port, "/nudge/play/stop", "i", (9,))[0].args == (9,)
        recorder.drain(0.3)
        assert_paired(recorder.received)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr


def test_an_echoed_clip_plays_from_a_transport_start_a_hair_after_its_downbeat(jack, tmp_path):
    """Issue 17 (findings 1 and 3): /nudge/vary amount 0 is queued too, and a start at beat 0.001 keeps
    the notes at beats 0 and 0.03 (the OSC clock, as the Max for Live device drives it)."""
    with live_daemon(tmp_path, "SinkEcho", "--clock", "osc") as (_, port, recorder, client):
        clip = (36, 0.0, 0.25, 100, 42, 0.03, 0.25, 80)
        client.sendto(
            encode_message("/nudge/vary", "ifsf" + "iffi" * 2, (5, 0.0, "notes", 4.0, *clip)),
            ("127.0.0.1", port),
        )
        replies = [decode_message(client.recvfrom(65536)[0]) for _ in range(3)]
        assert [m.address for m in replies][-1] == "/nudge/notes/end", replies
        assert _request(client, port, "/nudge/play/start", "i", (6,))[0].args == (6,)
        client.sendto(encode_message("/nudge/transport", "ffi", (120.0, 0.001, 1)), ("127.0.0.1", port))
        ons = []
        while len(ons) < 2:
            ons += [r for r in recorder.wait_for(is_on, 3.0) if is_on(r)]
        assert [r.message[:2] for r in ons] == [(0x99, 36), (0x99, 42)]
        assert _request(client, port, "/nudge/play/stop", "i", (7,))[0].args == (7,)
        recorder.drain(0.3)
        assert_paired(recorder.received)


def test_play_start_before_anything_was_generated_plays_the_first_pattern_made(jack, tmp_path):
    """What docs/osc-api.md says of /nudge/play/start (issue 25): it starts, nothing sounds, and the first
    pattern generated plays as soon as it is made; -v says it waits."""
    with live_daemon(tmp_path, "Early", "--bpm", "300") as (process, port, recorder, client):
        assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
        recorder.drain(0.5)
        assert not [r for r in recorder.received if is_on(r)], "nothing to play yet"
        notes = _generate(client, port)
        played = recorder.wait_for(lambda r: sum(map(is_on, recorder.received)) >= len(notes), TIMEOUT)
        assert Counter((r.message[1], r.message[2]) for r in played if is_on(r)) >= Counter(
            (pitch, velocity) for pitch, _, velocity in notes
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    assert "nothing generated yet; the first pattern generated will play" in stderr
