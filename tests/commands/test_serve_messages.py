"""``nudge serve`` talks to its user (issue 25): how to stop it, a taken port, live options that would do
nothing, no MIDI system, a model change, one line per request with ``-v`` (after the command too)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import uuid

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.commands.test_serve import TIMEOUT, ready_line
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration


def serve(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()


def ended(process: subprocess.Popen) -> tuple[str, str]:
    """What a serve that must end by itself (a refusal at start) printed."""
    try:
        return process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()


def ask(client: socket.socket, port: int, address: str, tags: str, args: tuple) -> list:
    client.sendto(encode_message(address, tags, args), ("127.0.0.1", port))
    first = decode_message(client.recvfrom(65536)[0])
    replies = [first]
    if first.address == "/nudge/notes/begin":
        replies += [decode_message(client.recvfrom(65536)[0]) for _ in range(first.args[1] + 1)]
    return replies


def test_verbose_after_the_command_logs_one_line_per_request_and_a_model_change_is_printed(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    write_tiny_model(tmp_path / "other.onnx")
    process = serve("--models-dir", str(tmp_path), "--port", "0", "-v")
    try:
        line = ready_line(process)
        assert "press Ctrl+C to stop" in line, line
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            assert (
                ask(client, port, "/nudge/generate", "isi", (5, "bars", 2))[-1].address == "/nudge/notes/end"
            )
            assert ask(client, port, "/nudge/generate", "isi", (6, "bars", 20))[0].address == "/nudge/error"
            assert ask(client, port, "/nudge/model/load", "is", (7, "other"))[0].args == (7, "other")
        out, err = finish(process)
    finally:
        finish(process)
    assert re.search(
        r"\d\d:\d\d:\d\d,\d{3} .*/nudge/generate id 5 -> \d+ notes \(\d+ datagrams\) in [\d.]+ ms", err
    )
    assert re.search(r"\d\d:\d\d:\d\d,\d{3} .*/nudge/generate id 6 -> /nudge/error .*bars must be", err), err
    assert "nudge serve: now serving model other (" in out and "was default; /nudge/model/load)" in out, out


def test_a_taken_port_says_who_may_hold_it_and_names_port(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        process = serve("--models-dir", str(tmp_path), "--port", str(port))
        _, err = ended(process)
    assert process.returncode == 2, err
    assert f"127.0.0.1:{port} is taken: another nudge serve or another program holds it" in err
    assert "--port" in err and "Errno" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--clock", "midi"], "--clock does nothing without --midi (live MIDI is off)"),
        (["--bpm", "100"], "--bpm does nothing without --midi"),
        (["--bpm", "100", "--switch", "now"], "--bpm, --switch do nothing without --midi"),
        (["--midi", "--clock", "midi", "--bpm", "100"], "--bpm sets the internal clock's tempo"),
        (["--midi", "--clock-in", "Port"], "--clock-in names the MIDI clock input: it needs --clock midi"),
    ],
)
def test_live_options_that_would_do_nothing_are_refused(tmp_path, args, needle):
    write_tiny_model(tmp_path / "default.onnx")
    out, err = ended(serve("--models-dir", str(tmp_path), "--port", "0", *args))
    assert needle in err, err
    assert "listening" not in out


def test_a_bad_bpm_names_the_flag_once(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "companion.cli", "serve", "--bpm", "5"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "argument --bpm: bpm must be in 20..999, got 5.0" in done.stderr
    assert "--bpm: --bpm:" not in done.stderr and len(done.stderr.splitlines()) == 2


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has an ALSA sequencer")
def test_midi_without_alsa_or_jack_keeps_the_library_noise_off_and_says_what_to_do(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    env = {
        **os.environ,
        "JACK_DEFAULT_SERVER": f"nudge-none-{uuid.uuid4().hex[:8]}",  # no such JACK server
        "JACK_NO_START_SERVER": "1",  # and libjack must not start one
    }
    _, err = ended(serve("--models-dir", str(tmp_path), "--port", "0", "--midi", env=env))
    assert "no MIDI system to play into: " in err
    assert "no JACK server runs" in err and "the ALSA sequencer cannot be opened" in err
    assert "start a JACK server" in err and "snd-seq" in err and "--midi-out" in err
    for noise in (
        "ALSA lib",
        "Cannot connect to server",
        "JackShmReadWritePtr",
        "jack server is not running",
    ):
        assert noise not in err, err
