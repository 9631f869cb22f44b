"""Issue 26 (defect 3): ``nudge serve --host`` with IPv6 loopback, as a real process: it starts, says where
it listens, and answers over that family."""

from __future__ import annotations

import re
import signal
import socket

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.commands.test_serve import TIMEOUT, ready_line, start
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("host", "family", "send_to"),
    [
        ("::1", socket.AF_INET6, "::1"),
        ("[::1]", socket.AF_INET6, "::1"),
        ("::ffff:127.0.0.1", socket.AF_INET, "127.0.0.1"),  # an IPv4-mapped address: IPv4 clients reach it
    ],
)
def test_serve_listens_on_ipv6_loopback(tmp_path, host, family, send_to):
    write_tiny_model(tmp_path / "default.onnx")
    process = start("--models-dir", str(tmp_path), "--port", "0", "--host", host)
    try:
        line = ready_line(process)
        match = re.search(r"listening on \[([0-9a-f:.]+)\]:(\d+)", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        with socket.socket(family, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            client.sendto(encode_message("/nudge/ping", "i", (3,)), (send_to, int(match.group(2))))
            reply = decode_message(client.recvfrom(65536)[0])
        assert (reply.address, reply.args[0]) == ("/nudge/pong", 3)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
