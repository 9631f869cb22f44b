"""Issue 17 over real UDP: a bad model never replaces a good one, loads in the background, the work one
datagram buys is bounded and clients take turns, error ids, refused senders bounded, IPv6 loopback."""

from __future__ import annotations

import os
import socket

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from companion.core.osc_codec import decode_message, encode_bundle, encode_message
from companion.core.pattern import Grid
from companion.osc.api import MAX_PENDING_PER_SENDER
from companion.osc.dispatch import Daemon
from companion.osc.server import MAX_REFUSED_REMEMBERED, UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_server import TIMEOUT, Client, Running
from tests.support.tiny_onnx import tiny_meta, tiny_model_bytes, write_tiny_model

pytestmark = pytest.mark.integration

MAXIMAL = ("/nudge/generate", "isisi", (0, "bars", 8, "candidates", 1024))


def write_model_declaring_an_extra_style(path) -> None:
    """Metadata lists three styles; the network's one-hot table has two rows (finding 4)."""
    proto = onnx.load_from_string(tiny_model_bytes(tiny_meta(name=path.stem, styles=("funk", "rock"))))
    del proto.metadata_props[:]
    onnx.helper.set_model_props(
        proto, {"nudge": tiny_meta(name=path.stem, styles=("funk", "rock", "jazz")).to_json()}
    )
    path.write_bytes(proto.SerializeToString())


def write_heavy_model(path, pad_floats: int = 40_000_000) -> None:
    """A valid model with 160 MB of unused weights: it takes a while to load."""
    proto = onnx.load_from_string(tiny_model_bytes(tiny_meta(name=path.stem)))
    proto.graph.initializer.append(numpy_helper.from_array(np.zeros(pad_floats, np.float32), "pad"))
    path.write_bytes(proto.SerializeToString())


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    return tmp_path


@pytest.fixture
def served(folder):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    yield client, daemon, running.server
    client.close()
    running.stop()


def generate_ok(client: Client, request_id: int, *extra) -> bool:
    client.send("/nudge/generate", "isi" + "".join("s" if isinstance(x, str) else "i" for x in extra),
                request_id, "seed", 1, *extra)  # fmt: skip
    first = client.receive()
    if first.address != "/nudge/notes/begin":
        return False
    while client.receive().address != "/nudge/notes/end":
        pass
    return True


def test_a_model_with_more_styles_than_its_network_never_replaces_the_serving_one(served, folder):
    client, daemon, _ = served
    write_model_declaring_an_extra_style(folder / "broken.onnx")
    reply = client.ask("/nudge/model/load", "is", 1, "broken")
    assert reply.address == "/nudge/error" and reply.args[0] == 1
    assert "style indices 0..2" in reply.args[1]
    assert client.ask("/nudge/ping", "i", 2).args[2] == "default"
    for style in ("funk", "rock"):
        assert generate_ok(client, 3, "style", style)
    # the same file in place of the serving one: the poller's reload refuses it too
    os.replace(folder / "broken.onnx", folder / "default.onnx")
    daemon.poll_models()
    assert daemon.model.meta.styles == ("funk", "rock") and generate_ok(client, 4, "style", "rock")


def test_a_model_loads_in_the_background_while_the_old_one_serves(served, folder):
    client, _, _ = served
    write_heavy_model(folder / "heavy.onnx")
    client.send("/nudge/model/load", "is", 10, "heavy")
    pong = client.ask("/nudge/ping", "i", 11)  # answered while the load runs, by the old model
    assert (pong.address, pong.args[0], pong.args[2]) == ("/nudge/pong", 11, "default")
    assert generate_ok(client, 12)
    busy = client.ask("/nudge/model/load", "is", 13, "default")  # one load at a time
    assert busy.address == "/nudge/error" and "'heavy' is being loaded" in busy.args[1]
    loaded = client.receive()
    assert (loaded.address, loaded.args) == ("/nudge/model/loaded", (10, "heavy"))
    assert client.ask("/nudge/ping", "i", 14).args[2] == "heavy"


def test_one_datagram_buys_at_most_one_maximal_search(served):
    client, _, _ = served
    bundle = encode_bundle([encode_message(MAXIMAL[0], MAXIMAL[1], (i, *MAXIMAL[2][1:])) for i in range(16)])
    client.sock.sendto(bundle, client.server)
    errors, done = {}, set()
    while len(errors) + len(done) < 16:
        message = client.receive()
        if message.address == "/nudge/error":
            errors[message.args[0]] = message.args[1]
        elif message.address == "/nudge/notes/end":
            done.add(message.args[0])
    assert done == {0} and sorted(errors) == list(range(1, 16))
    assert "cost more than 1 maximal search (this one 1.00, 0.00 left)" in errors[1]


def test_a_flooding_client_neither_delays_another_clients_ping_nor_gets_unbounded_room(served):
    flooder, _, server = served
    other = Client(server.address)
    try:
        flood = 3 * MAX_PENDING_PER_SENDER
        for i in range(flood):
            flooder.sock.sendto(encode_message(MAXIMAL[0], MAXIMAL[1], (i, *MAXIMAL[2][1:])), flooder.server)
        assert other.ask("/nudge/ping", "i", 7).args[0] == 7
        assert server.scheduler.pending > 0  # the flood's searches were still running when the pong came
        busy, done = 0, 0
        while busy + done < flood:
            message = flooder.receive()
            busy += message.address == "/nudge/error" and "busy" in message.args[1]
            done += message.address == "/nudge/notes/end"
        # 16 may wait (and the worker frees a slot now and then while the flood is read): the rest are busy
        assert busy >= MAX_PENDING_PER_SENDER and done <= 2 * MAX_PENDING_PER_SENDER
    finally:
        other.close()


def test_a_decode_error_after_a_readable_id_replies_with_that_id(served):
    client, _, _ = served
    good = encode_message("/nudge/generate", "is", (42, "seed"))
    bad = good[:-4] + b"seed"  # the string loses its NUL terminator: the id before it still reads
    client.sock.sendto(bad, client.server)
    reply = client.receive()
    assert reply.address == "/nudge/error" and reply.args[0] == 42 and "not NUL terminated" in reply.args[1]
    client.sock.sendto(encode_bundle([bad, encode_message("/nudge/ping", "i", (43,))]), client.server)
    replies = {client.receive().address: None for _ in range(2)}
    assert set(replies) == {"/nudge/error", "/nudge/pong"}  # the good message of the bundle is answered


def test_refused_senders_are_remembered_within_a_bound(folder):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder))
    server = UdpServer(daemon, "0.0.0.0", 0, allow=["127.0.0.2"], allow_remote=True, poll_seconds=3600)
    running = Running(server)
    port = server.address[1]
    try:
        senders = MAX_REFUSED_REMEMBERED + 100
        for i in range(senders):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((f"127.1.{i // 250}.{1 + i % 250}", 0))  # loopback: any 127/8 address
                sock.sendto(encode_message("/nudge/ping", "i", (i,)), ("127.0.0.1", port))
        allowed = Client(("127.0.0.1", port), bind_host="127.0.0.2")
        assert allowed.ask("/nudge/ping", "i", 1).args[0] == 1  # after every refused datagram was read
        allowed.close()
        assert server.refused_datagrams == senders and len(server._refused) == MAX_REFUSED_REMEMBERED
    finally:
        running.stop()


def test_ipv6_loopback_is_loopback(folder):
    daemon = Daemon(load_model(folder / "default.onnx"))
    running = Running(UdpServer(daemon, "::1", 0, poll_seconds=3600))
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.sendto(encode_message("/nudge/ping", "i", (5,)), running.server.address[:2])
            assert decode_message(sock.recvfrom(65536)[0]).args[:1] == (5,)
    finally:
        running.stop()
    with pytest.raises(ValueError, match="beyond loopback"):
        UdpServer(daemon, "::", 0)
