"""Issue 26 (defects 1, 5, 6): no message hangs ``nudge serve --midi``, a stuck player process is treated
like a dead one, a restart keeps the JACK connections of the default virtual port, the player process
never outlives the daemon, and SIGTERM always ends it. A real daemon process, real UDP, a real JACK server
(dummy backend); waits are on replies, MIDI messages and process ends, never sleeps."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.commands.test_serve import TIMEOUT
from tests.commands.test_serve_live import _generate, _request, live_daemon
from tests.support.jack import MidiRecorder, is_on, jack_or_skip
from tests.support.procs import alive, children, ended_within

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CC123 = (0xB9, 123, 0)


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


def live_child(daemon: subprocess.Popen) -> int:
    (pid,) = children(daemon.pid, "companion.live.child")
    return pid


def transport(client: socket.socket, port: int, beat: float, playing: int = 1) -> None:
    client.sendto(encode_message("/nudge/transport", "ffi", (120.0, beat, playing)), ("127.0.0.1", port))


def test_a_transport_beyond_any_song_is_refused_and_the_daemon_plays_on(jack, tmp_path):
    """The outside test's reproduction: generate, play, then `/nudge/transport 120.0 3e38 1`, twice."""
    with live_daemon(tmp_path, "SinkHuge", "--clock", "osc") as (process, port, recorder, client):
        _generate(client, port)
        assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
        transport(client, port, 0.0)
        recorder.wait_for(is_on, TIMEOUT)
        for _ in range(2):
            transport(client, port, 3e38)
            error = decode_message(client.recvfrom(65536)[0])
            assert error.address == "/nudge/error" and "beat must be in 0..1048576" in error.args[1]
        assert _request(client, port, "/nudge/ping", "i", (2,))[0].args[0] == 2
        transport(client, port, 8.0)  # plays on
        recorder.wait_for(is_on, TIMEOUT)
        assert _request(client, port, "/nudge/play/stop", "i", (3,))[0].args == (3,)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0 and "Traceback" not in stderr, stderr


def test_a_stuck_player_process_never_stalls_a_ping_and_is_restarted_like_a_dead_one(jack, tmp_path):
    with live_daemon(tmp_path, "SinkStuck", "--clock", "osc") as (process, port, recorder, client):
        _generate(client, port)
        assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
        stuck = live_child(process)
        os.kill(stuck, signal.SIGSTOP)  # it answers nothing from now on, as the spinning one did
        for i in range(20):  # the device goes on streaming its transport; pings are answered meanwhile
            transport(client, port, i * 0.05)
            assert _request(client, port, "/nudge/ping", "i", (100 + i,))[0].args[0] == 100 + i
        assert ended_within(stuck, TIMEOUT), "the watchdog did not kill the stuck player process"
        reply = _request(client, port, "/nudge/play/panic", "i", (4,))[0]  # answered by the new one
        assert reply.address == "/nudge/ok", reply
        assert live_child(process) != stuck and recorder.wait_for(lambda r: r.message == CC123, TIMEOUT)
        assert "killing it" in process_log(process)


def process_log(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=TIMEOUT)
    return stderr


def test_a_restart_keeps_the_connections_of_the_default_virtual_port(jack, tmp_path):
    """Without --midi-out the daemon plays into its virtual port "Nudge:Nudge"; the producer (here a JACK
    client) connects it to a synth. A restarted player process makes a new port: the watchdog connects it
    as the old one was, and panic reaches the synth."""
    recorder = MidiRecorder(client_name="Synth")
    from tests.commands.test_serve import ready_line, start
    from tests.support.tiny_onnx import write_tiny_model

    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--port", "0", "--midi", "--midi-api", "jack",
                    "--bpm", "240")  # fmt: skip
    try:
        port = int(ready_line(process).split("listening on 127.0.0.1:")[1].split(",")[0])
        subprocess.run(["jack_connect", "Nudge:Nudge", recorder.port_name], check=True, timeout=TIMEOUT)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            _generate(client, port)
            assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
            recorder.wait_for(is_on, TIMEOUT)
            _request(client, port, "/nudge/ping", "i", (2,))  # (the watchdog has seen the connection)
            old = live_child(process)
            os.kill(old, signal.SIGKILL)
            recorder.wait_for(lambda r: r.message == CC123, TIMEOUT)  # the new process's all-notes-off
            recorder.wait_for(is_on, TIMEOUT)  # and its notes: it plays on, through the same connection
            reply = _request(client, port, "/nudge/play/panic", "i", (3,))[0]
            assert reply.address == "/nudge/ok"
            recorder.wait_for(lambda r: r.message == CC123, TIMEOUT)
            assert live_child(process) != old
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
        recorder.close()


def test_the_player_process_dies_with_the_daemon_even_when_its_pipe_stays_open(jack, tmp_path):
    """SIGKILL of the daemon: the kernel tells the player process (PR_SET_PDEATHSIG), even when the end of
    its pipe never comes (here this test holds the pipe open, as a stuck command loop never reads it)."""
    with live_daemon(tmp_path, "SinkOrphan") as (process, port, recorder, client):
        _generate(client, port)
        assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
        recorder.wait_for(is_on, TIMEOUT)
        child = live_child(process)
        holder = os.open(f"/proc/{child}/fd/0", os.O_WRONLY | os.O_NONBLOCK)  # a second writer
        try:
            process.kill()
            process.wait()
            assert ended_within(child, TIMEOUT), "the player process outlived the daemon"
        finally:
            os.close(holder)
            if alive(child):
                os.kill(child, signal.SIGKILL)


def test_sigterm_ends_the_daemon_even_with_a_stuck_player_process(jack, tmp_path):
    with live_daemon(tmp_path, "SinkTerm", "--clock", "osc") as (process, port, _recorder, client):
        assert _request(client, port, "/nudge/play/start", "i", (1,))[0].args == (1,)
        child = live_child(process)
        os.kill(child, signal.SIGSTOP)
        transport(client, port, 0.0)  # the next call into the child finds it stuck
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0 and "Traceback" not in stderr, stderr
        assert ended_within(child, TIMEOUT)
