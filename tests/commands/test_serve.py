"""``nudge serve`` as a real process: ready line, OSC over UDP, SIGTERM, and refusals at start."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration
TIMEOUT = 30.0


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "-v", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ready_line(process: subprocess.Popen) -> str:
    """The next line of the daemon's stdout, within TIMEOUT. Read by a thread: a line may already wait in
    the pipe reader's buffer (two lines printed at once arrive in one read), where a select on the pipe
    would not see it and would wait for the daemon's end."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if not line:
        process.kill()
        pytest.fail(f"no ready line within {TIMEOUT} s; stderr: {process.stderr.read()}")
    return line[0]


def test_serves_osc_and_stops_cleanly_on_sigterm(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--port", "0")
    try:
        line = ready_line(process)
        match = re.search(r"listening on 127\.0\.0\.1:(\d+), model default", line)
        assert match, line
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            client.sendto(encode_message("/nudge/ping", "i", (12,)), ("127.0.0.1", int(match.group(1))))
            reply = decode_message(client.recvfrom(65536)[0])
        assert (reply.address, reply.args) == ("/nudge/pong", (12, "0.1.0", "default"))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "served 1 datagrams" in stderr and "ping 1" in stderr


def test_idle_exit_keeps_serving_while_pinged_and_ends_cleanly_after(tmp_path):
    """As the Max for Live device starts it: alive while a device pings (here every 0.3 s for 2.5 s, longer
    than the 1 s limit), then it stops by itself with exit code 0."""
    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--port", "0", "--idle-exit-seconds", "1")
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", ready_line(process)).group(1))
        assert "stops after 1 s without a request" in ready_line(process)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:  # the device's pings, at its own pace
                client.sendto(encode_message("/nudge/ping", "i", (1,)), ("127.0.0.1", port))
                assert decode_message(client.recvfrom(65536)[0]).address == "/nudge/pong"
                time.sleep(0.3)
        assert process.poll() is None, "stopped while pinged"
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "no request for 1 s: stopping" in stderr


def test_missing_default_model_is_explained(tmp_path):
    process = start("--models-dir", str(tmp_path), "--port", "0")
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 2
    assert "default.onnx: model file not found" in stderr and "--model PATH" in stderr


def test_corrupt_model_is_refused(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"not onnx" * 8)
    process = start("--model", str(tmp_path / "bad.onnx"), "--port", "0")
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 2 and "not a loadable ONNX model" in stderr


def test_listening_beyond_loopback_needs_explicit_flags(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--host", "0.0.0.0", "--port", "0")
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 2 and "--allow-remote" in stderr


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--reply-port", "70000", "--reply-port: must be an int in 1..65535, got 70000"),
        ("--reply-port", "0", "--reply-port: must be an int in 1..65535, got 0"),
        ("--port", "-1", "--port: must be an int in 0..65535, got -1"),
        ("--port", "nine", "--port: must be an int in 0..65535, got 'nine'"),
        ("--poll-seconds", "nan", "--poll-seconds: must be a number of seconds in 0.05..3600"),
        ("--idle-exit-seconds", "0", "--idle-exit-seconds: must be a number of seconds in 1..86400, got 0"),
    ],
)
def test_out_of_range_options_are_refused_before_anything_starts(tmp_path, option, value, needle):
    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--port", "0", option, value)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 2 and needle in stderr, stderr
