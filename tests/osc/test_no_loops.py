"""Issue 26 (defects 2 and 3): no datagram makes the daemon answer itself or loop with another program, a
sender over its rate limit is dropped (one error a second says why), and IPv6 loopback serves. Real UDP
on loopback; no sleeps: "nothing arrived" is checked after another sender's later reply has arrived (the
daemon reads one datagram at a time, and loopback delivers before ``sendto`` returns)."""

from __future__ import annotations

import socket

import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.guard import RateLimit
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from tests.osc.test_server import TIMEOUT, Client, Running
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration


@pytest.fixture
def model(tmp_path):
    return load_model(write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2)))


def quiet(client: Client) -> list:
    """What ``client`` has received so far (call after a later reply to another client has arrived)."""
    client.sock.setblocking(False)
    got = []
    try:
        while True:
            got.append(decode_message(client.sock.recvfrom(65536)[0]))
    except BlockingIOError:
        return got
    finally:
        client.sock.settimeout(TIMEOUT)


def test_a_ping_cannot_route_replies_to_the_daemons_own_port(model):
    running = Running(UdpServer(Daemon(model), "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    own_port = running.server.address[1]
    try:
        reply = client.ask("/nudge/ping", "ii", 1, own_port)
        assert reply.address == "/nudge/error" and reply.args[0] == 1 and "own port" in reply.args[1]
        assert client.ask("/nudge/ping", "i", 2).args[0] == 2  # the route was not taken
        # the daemon read exactly the two pings: nothing came back to it
        assert running.server.requests == 2 and running.server.daemon.counts["ping"] == 1
    finally:
        client.close()
        running.stop()


def test_replies_and_errors_are_never_answered_so_two_programs_cannot_loop(model):
    running = Running(UdpServer(Daemon(model), "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    try:
        for address, tags, args in [
            ("/nudge/pong", "iss", (1, "0.1.0", "default")),
            ("/nudge/error", "is", (-1, "unknown address /nudge/pong")),
            ("/nudge/ok", "i", (3,)),
            ("/nudge/notes/end", "ii", (4, 1)),
            ("/nudge/model/loaded", "is", (5, "default")),
        ]:
            client.send(address, tags, *args)
        first = client.ask("/nudge/ping", "i", 6)
        assert (first.address, first.args[0]) == ("/nudge/pong", 6)  # the replies got no answer
        assert running.server.daemon.counts["ignored"] == 5
    finally:
        client.close()
        running.stop()


def test_two_daemons_pointed_at_each_other_exchange_one_reply_and_stop(model):
    a = Running(UdpServer(Daemon(model), "127.0.0.1", 0, poll_seconds=3600))
    b = Running(UdpServer(Daemon(model), "127.0.0.1", 0, poll_seconds=3600))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # a ping "from" b's port, to a
            sock.settimeout(TIMEOUT)
            a.server.sock.sendto(encode_message("/nudge/ping", "i", (1,)), b.server.address)
        client = Client(b.server.address)
        assert client.ask("/nudge/ping", "i", 2).args[0] == 2
        client.server = a.server.address
        assert client.ask("/nudge/ping", "i", 3).args[0] == 3
        client.close()
        # b answered a's datagram with a pong; a never answered that reply
        assert b.server.requests == 2 and a.server.requests == 2
        assert a.server.daemon.counts["ignored"] == 1
    finally:
        a.stop()
        b.stop()


def test_a_sender_over_its_rate_limit_is_dropped_with_one_error_and_others_are_served(model):
    now = [0.0]
    limit = RateLimit(rate=10, burst=20, clock=lambda: now[0])
    running = Running(UdpServer(Daemon(model), "127.0.0.1", 0, poll_seconds=3600, rate_limit=limit))
    flooder, other = Client(running.server.address), Client(running.server.address)
    try:
        for i in range(60):
            flooder.send("/nudge/ping", "i", i)
        assert other.ask("/nudge/ping", "i", 1000).args[0] == 1000  # another sender: served
        got = quiet(flooder)
        pongs = [m.args[0] for m in got if m.address == "/nudge/pong"]
        errors = [m for m in got if m.address == "/nudge/error"]
        assert pongs == list(range(20))  # the burst
        assert len(errors) == 1 and "rate limit" in errors[0].args[1]  # one error says why
        now[0] += 1.0  # a second later: 10 more
        for i in range(12):
            flooder.send("/nudge/ping", "i", 100 + i)
        assert other.ask("/nudge/ping", "i", 2000).args[0] == 2000
        got = quiet(flooder)
        assert [m.args[0] for m in got if m.address == "/nudge/pong"] == list(range(100, 110))
        assert sum(m.address == "/nudge/error" for m in got) == 1
    finally:
        flooder.close(), other.close(), running.stop()


def test_the_rate_limits_table_is_bounded():
    limit = RateLimit(rate=1, burst=1, capacity=8, clock=lambda: 0.0)
    for port in range(100):
        assert limit.admit(("127.0.0.1", port)) == "ok"
    assert len(limit) == 8
    assert limit.admit(("127.0.0.1", 99)) == "slip" and limit.admit(("127.0.0.1", 99)) == "drop"


def test_a_reply_port_equal_to_the_listening_port_is_refused_at_start(model):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ValueError, match="replies would loop"):
        UdpServer(Daemon(model), "127.0.0.1", port, reply_port=port)


@pytest.mark.parametrize("host", ["::1", "[::1]", "::ffff:127.0.0.1"])
def test_ipv6_hosts_serve(model, host):
    running = Running(UdpServer(Daemon(model), host, 0, poll_seconds=3600))
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.sendto(encode_message("/nudge/ping", "i", (5,)), running.server.address[:2])
            assert decode_message(sock.recvfrom(65536)[0]).args[:1] == (5,)
    finally:
        running.stop()
