"""The daemon over real UDP sockets on loopback: every address, error paths, split replies, hot reload."""

from __future__ import annotations

import math
import shutil
import socket
import threading

import numpy as np
import pytest

from companion.core.osc_codec import Message, decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.api import LIVE_OFF_REASON, MAX_DATAGRAM_BYTES
from companion.osc.dispatch import Daemon
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration
TIMEOUT = 10.0


class Client:
    def __init__(self, server_address, bind_host="127.0.0.1"):
        self.server = server_address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind_host, 0))
        self.sock.settimeout(TIMEOUT)

    def send(self, address, tags="", *args):
        self.sock.sendto(encode_message(address, tags, args), self.server)

    def receive(self) -> Message:
        data, _ = self.sock.recvfrom(65536)
        assert len(data) <= MAX_DATAGRAM_BYTES
        return decode_message(data)

    def ask(self, address, tags="", *args) -> Message:
        self.send(address, tags, *args)
        return self.receive()

    def notes(self, address, tags, *args):
        """Send a note request; reassemble its reply -> (begin message, float array [M, 4])."""
        self.send(address, tags, *args)
        begin = self.receive()
        assert begin.address == "/nudge/notes/begin", begin
        parts = {}
        while True:
            message = self.receive()
            if message.address == "/nudge/notes/end":
                break
            parts[message.args[1]] = message.args[2:]
        assert sorted(parts) == list(range(begin.args[1])) and message.args[1] == begin.args[1]
        flat = [x for i in sorted(parts) for x in parts[i]]
        notes = np.array(flat, dtype=np.float64).reshape(-1, 4)
        assert len(notes) == begin.args[2]
        return begin, notes

    def close(self):
        self.sock.close()


class Running:
    def __init__(self, server: UdpServer):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()
        self.server.close()


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_model(tmp_path / "long.onnx", name="long", grid=Grid(4, 4, 8), latent_dim=16)
    return tmp_path


@pytest.fixture
def served(folder):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    yield client, daemon
    client.close()
    running.stop()


def test_ping_info_list(served):
    client, _ = served
    assert client.ask("/nudge/ping", "i", 1).args == (1, "0.1.0", "default")
    info = client.ask("/nudge/model/info", "i", 2)
    assert info.address == "/nudge/model/info" and info.args[1:5] == ("default", 2, 4, 2)
    assert client.ask("/nudge/model/list", "i", 3).args == (3, "default", "default", "long")


def test_generate_with_a_seed_is_deterministic_over_udp(served):
    client, _ = served
    request = ("isfsfsss" + "f", 4, "density", 0.6, "seed", 42.0, "style", "rock", "syncopation", 0.3)
    begin_a, a = client.notes("/nudge/generate", *request)
    _, b = client.notes("/nudge/generate", *request)
    np.testing.assert_array_equal(a, b)
    assert begin_a.args[0] == 4 and begin_a.args[3] == 8.0 and len(a) > 0
    assert np.all((a[:, 1] >= 0) & (a[:, 1] < 8.0)) and set(a[:, 0]) <= {36, 38, 42, 46, 43, 47, 50, 49, 51}


def test_long_replies_are_split_and_reassembled(served):
    client, _ = served
    assert client.ask("/nudge/model/load", "is", 1, "long").args == (1, "long")
    begin, _ = client.notes("/nudge/generate", "isfsi", 2, "density", 1.0, "seed", 1)
    assert begin.args[1] >= 3 and begin.args[3] == 32.0  # several parts, 8 bars


def test_vary_amount_zero_returns_the_input_and_small_amounts_stay_close(served):
    client, _ = served
    _, clip = client.notes("/nudge/generate", "isi", 1, "seed", 5)
    flat = [v for row in clip.tolist() for v in (int(row[0]), row[1], row[2], int(row[3]))]
    tags = "iffi" * len(clip)
    _, same = client.notes("/nudge/vary", "ifsf" + tags, 2, 0.0, "notes", 8.0, *flat)
    np.testing.assert_array_equal(same, clip)
    _, nudged = client.notes("/nudge/vary", "ifsisf" + tags, 3, 0.1, "seed", 9, "notes", 8.0, *flat)
    before = {(int(p), round(s * 4)) for p, s, _, _ in clip}
    after = {(int(p), round(s * 4)) for p, s, _, _ in nudged}
    assert 0 < len(before ^ after) <= 0.15 * (len(before) + len(after))


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"garbage", "multiple of 4"),
        (encode_message("/nudge/unknown", "i", (5,)), "unknown address"),
        (encode_message("/nudge/generate", "isf", (5, "density", math.nan)), "finite"),
        (encode_message("/nudge/generate", "isf", (5, "density", 2.0)), "in 0..1"),
        (encode_message("/nudge/generate", "iss", (5, "style", "polka")), "unknown style"),
        (encode_message("/nudge/generate", "isf", (5, "warmth", 0.5)), "unknown key 'warmth'"),
        (encode_message("/nudge/ping", "s", ("5",)), "request id"),
        (
            encode_message(
                "/nudge/vary", "ifsf" + "iffi" * 2100, (5, 0.5, "notes", 4.0, *[36, 0.0, 0.1, 9] * 2100)
            ),
            "larger than",
        ),
        (encode_message("/nudge/play/start", "i", (5,)), LIVE_OFF_REASON),
    ],
    ids=["garbage", "address", "nan", "range", "style", "key", "id", "oversized", "live-off"],
)
def test_malformed_requests_get_an_error_and_the_daemon_keeps_serving(served, payload, needle):
    client, daemon = served
    model = daemon.model
    client.sock.sendto(payload, client.server)
    reply = client.receive()
    assert reply.address == "/nudge/error" and needle in reply.args[1]
    assert daemon.model is model
    assert client.ask("/nudge/ping", "i", 77).args[0] == 77


def test_hot_reload_good_and_corrupt_models_over_udp(served, folder):
    client, _ = served
    shutil.copy(folder / "long.onnx", folder / "fresh.onnx")  # a new file appears while serving
    assert "fresh" in client.ask("/nudge/model/list", "i", 1).args
    assert client.ask("/nudge/model/load", "is", 2, "fresh").args == (2, "fresh")
    (folder / "corrupt.onnx").write_bytes(b"\x0a\x05hello" * 20)
    error = client.ask("/nudge/model/load", "is", 3, "corrupt")
    assert error.address == "/nudge/error" and error.args[0] == 3 and "corrupt.onnx" in error.args[1]
    assert client.ask("/nudge/ping", "i", 4).args[2] == "fresh"
    begin, _ = client.notes("/nudge/generate", "isi", 5, "seed", 1)
    assert begin.args[3] == 32.0  # still the 8-bar model


def test_reply_port_and_allow_list(folder):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder))
    listener = Client(("127.0.0.1", 1))
    running = Running(UdpServer(daemon, "127.0.0.1", 0, reply_port=listener.sock.getsockname()[1]))
    sender = Client(running.server.address)
    try:
        sender.send("/nudge/ping", "i", 8)
        assert listener.receive().args[0] == 8
    finally:
        sender.close(), listener.close(), running.stop()

    with pytest.raises(ValueError, match="needs --allow-remote"):
        UdpServer(daemon, "0.0.0.0", 0)
    with pytest.raises(ValueError, match="at least one --allow"):
        UdpServer(daemon, "0.0.0.0", 0, allow_remote=True)
    running = Running(UdpServer(daemon, "0.0.0.0", 0, allow=["127.0.0.2"], allow_remote=True))
    port = running.server.address[1]
    stranger, friend = Client(("127.0.0.1", port)), Client(("127.0.0.1", port), bind_host="127.0.0.2")
    try:
        stranger.send("/nudge/ping", "i", 1)
        assert friend.ask("/nudge/ping", "i", 2).args[0] == 2  # served in order: the stranger's came first
        stranger.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            stranger.sock.recvfrom(65536)
    finally:
        stranger.close(), friend.close(), running.stop()


def test_a_bug_in_handling_one_datagram_does_not_stop_the_server(folder, caplog):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    real = daemon.handle_routed

    def buggy(data, defer=False, sender=None):
        if data == encode_message("/nudge/ping", "i", (99,)):
            raise OverflowError("a bug")  # e.g. one that Daemon's own guard did not foresee
        return real(data, defer, sender)

    daemon.handle_routed = buggy  # before the server takes the method
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    try:
        client.send("/nudge/ping", "i", 99)  # no reply: the server logs the traceback and goes on
        assert client.ask("/nudge/ping", "i", 1).args[0] == 1
    finally:
        client.close()
        running.stop()
    assert any("internal error on a datagram" in r.message for r in caplog.records)


def test_the_models_poller_survives_an_unexpected_error(folder, caplog):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    polled = threading.Event()
    calls = []

    def poll():
        calls.append(1)
        if len(calls) == 1:
            raise TypeError("an unforeseen bug")
        polled.set()

    daemon.poll_models = poll
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=0.05))
    try:
        assert polled.wait(TIMEOUT), "the poller stopped after the first error"
    finally:
        running.stop()
    assert any("polling the models folder failed" in r.message for r in caplog.records)


def test_the_server_polls_the_models_folder_and_serves_a_changed_model_without_a_restart(folder):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=0.05))
    client = Client(running.server.address)
    try:
        assert client.ask("/nudge/model/info", "i", 1).args[2] == 2  # bars of the default model
        write_tiny_model(folder / "default.onnx", grid=Grid(4, 4, 1), seed=3)  # rewritten in place
        bars, asked = 2, 0
        while bars != 1 and asked < 2000:  # each question is a real round trip; the poller runs meanwhile
            asked += 1
            bars = client.ask("/nudge/model/info", "i", 1 + asked).args[2]
        assert bars == 1, "the changed model was never picked up"
    finally:
        client.close()
        running.stop()
