"""Reply routes: the bounded per-sender table, and ``/nudge/ping id reply_port`` over real loopback UDP
(the pong and later replies go to the asked port, ``--reply-port`` wins, bad ports change nothing, the
allow-list still decides who is served). No sleeps: a server serves one datagram at a time and loopback
delivers before ``sendto`` returns, so "nothing arrived" is checked after a later reply has arrived."""

from __future__ import annotations

import math

import pytest

from companion.core.osc_codec import Message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.reply_routes import ReplyRoutes
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_server import Client, Running
from tests.support.tiny_onnx import write_tiny_model

HOST = "127.0.0.1"


# ---------------------------------------------------------------- the table


def test_a_route_changes_only_the_port_and_only_for_its_sender():
    routes = ReplyRoutes()
    assert routes.target((HOST, 50000)) == (HOST, 50000)  # no route: the source port
    assert routes.remember((HOST, 50000), 9001)
    assert routes.target((HOST, 50000)) == (HOST, 9001)
    assert routes.target((HOST, 50001)) == (HOST, 50001)
    assert routes.target(("127.0.0.2", 50000)) == ("127.0.0.2", 50000)
    assert routes.remember((HOST, 50000), 9002)  # a later ping moves it (news: the server logs it)
    assert not routes.remember((HOST, 50000), 9002)  # the same port again, every second: no news
    assert routes.target((HOST, 50000)) == (HOST, 9002) and len(routes) == 1


def test_the_table_is_bounded_and_forgets_the_least_recently_used():
    routes = ReplyRoutes(capacity=3)
    for port in (1, 2, 3):
        routes.remember((HOST, port), 9000 + port)
    routes.target((HOST, 1))  # used: now the most recent
    routes.remember((HOST, 4), 9004)
    assert len(routes) == 3 and (HOST, 2) not in routes
    assert routes.target((HOST, 2)) == (HOST, 2)
    assert [routes.target((HOST, p))[1] for p in (1, 3, 4)] == [9001, 9003, 9004]
    default = ReplyRoutes()
    for port in range(1, 200):
        default.remember((HOST, port), 9001)
    assert len(default) == 64


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_ports_out_of_range_are_refused(port):
    routes = ReplyRoutes()
    with pytest.raises(ValueError, match=r"reply_port must be in 1\.\.65535"):
        routes.remember((HOST, 50000), port)
    assert len(routes) == 0
    with pytest.raises(ValueError, match="capacity"):
        ReplyRoutes(capacity=0)


# ---------------------------------------------------------------- over UDP


@pytest.fixture
def daemon(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    return Daemon(load_model(tmp_path / "default.onnx"), ModelsDir(tmp_path), seed=1)


@pytest.fixture
def sockets():
    made: list[Client] = []

    def make(server_address=(HOST, 1), bind_host=HOST) -> Client:
        made.append(Client(server_address, bind_host))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def serve(daemon):
    running: list[Running] = []

    def start(**kwargs) -> UdpServer:
        running.append(Running(UdpServer(daemon, kwargs.pop("host", HOST), 0, poll_seconds=3600, **kwargs)))
        return running[-1].server

    yield start
    for r in running:
        r.stop()


def port_of(client: Client) -> int:
    return client.sock.getsockname()[1]


def receive_note_reply(client: Client, request_id: int) -> list[Message]:
    messages = [client.receive()]
    while messages[-1].address != "/nudge/notes/end":
        messages.append(client.receive())
    assert messages[0].address == "/nudge/notes/begin" and {m.args[0] for m in messages} == {request_id}
    return messages


def assert_nothing_arrived(*clients: Client) -> None:
    for client in clients:
        client.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            client.sock.recvfrom(65536)
        client.sock.settimeout(10)


@pytest.mark.integration
def test_ping_with_reply_port_sends_the_pong_and_later_replies_to_that_port(serve, sockets):
    server = serve()
    sender, listener, other = sockets(server.address), sockets(), sockets(server.address)
    sender.send("/nudge/ping", "ii", 1, port_of(listener))
    assert listener.receive().args == (1, "0.1.0", "default")
    sender.send("/nudge/generate", "isi", 2, "seed", 5)
    assert len(receive_note_reply(listener, 2)) >= 3
    sender.send("/nudge/ping", "i", 3)  # a ping without reply_port keeps the route
    assert listener.receive().args[0] == 3
    sender.send("/nudge/model/info", "i", 4)
    assert listener.receive().address == "/nudge/model/info"
    assert other.ask("/nudge/ping", "i", 5).args[0] == 5  # another sender: its own source port
    assert_nothing_arrived(sender)
    assert server.routes.target((HOST, port_of(sender))) == (HOST, port_of(listener))
    assert len(server.routes) == 1


@pytest.mark.integration
def test_reply_port_on_the_command_line_wins_over_the_ping(serve, sockets):
    fixed, asked = sockets(), sockets()
    server = serve(reply_port=port_of(fixed))
    sender = sockets(server.address)
    sender.send("/nudge/ping", "ii", 1, port_of(asked))
    assert fixed.receive().args[0] == 1
    sender.send("/nudge/generate", "isi", 2, "seed", 5)
    receive_note_reply(fixed, 2)
    assert_nothing_arrived(asked, sender)
    assert len(server.routes) == 0


@pytest.mark.integration
@pytest.mark.parametrize(
    ("tags", "value", "needle"),
    [
        ("i", 0, "got 0"),
        ("i", 65536, "got 65536"),
        ("f", math.nan, "got nan"),
        ("f", 9001.5, "got 9001.5"),
        ("s", "9001", "type tag 's'"),
    ],
    ids=["zero", "too-high", "nan", "lossy-float", "string"],
)
def test_a_bad_reply_port_is_an_error_and_nothing_is_remembered(serve, sockets, tags, value, needle):
    server = serve()
    sender, listener = sockets(server.address), sockets()
    error = sender.ask("/nudge/ping", "i" + tags, 1, value)
    assert error.address == "/nudge/error" and error.args[0] == 1
    assert "reply_port must be an int" in error.args[1] and needle in error.args[1]
    assert sender.ask("/nudge/ping", "i", 2).args[0] == 2  # still the source port
    assert len(server.routes) == 0
    # with a route in place, a bad ping leaves it as it was (its error goes where replies go)
    sender.send("/nudge/ping", "ii", 3, port_of(listener))
    assert listener.receive().args[0] == 3
    sender.send("/nudge/ping", "i" + tags, 4, value)
    assert listener.receive().address == "/nudge/error"
    sender.send("/nudge/generate", "isi", 5, "seed", 1)
    receive_note_reply(listener, 5)
    assert server.routes.target((HOST, port_of(sender))) == (HOST, port_of(listener))
    assert_nothing_arrived(sender)


@pytest.mark.integration
def test_routes_never_let_a_dropped_sender_in_and_stay_on_the_senders_host(serve, sockets):
    server = serve(host="0.0.0.0", allow=["127.0.0.2"], allow_remote=True)
    address = (HOST, server.address[1])
    stranger, stranger_listener = sockets(address), sockets()
    friend, friend_listener = sockets(address, "127.0.0.2"), sockets(bind_host="127.0.0.2")
    stranger.send("/nudge/ping", "ii", 1, port_of(stranger_listener))
    friend.send("/nudge/ping", "ii", 2, port_of(friend_listener))
    assert friend_listener.receive().args[0] == 2  # the stranger's ping came first and was dropped
    stranger.send("/nudge/generate", "isi", 3, "seed", 1)
    friend.send("/nudge/generate", "isi", 4, "seed", 1)
    receive_note_reply(friend_listener, 4)
    assert_nothing_arrived(stranger, stranger_listener, friend)
    assert len(server.routes) == 1 and server.routes.target(("127.0.0.2", port_of(friend)))[0] == "127.0.0.2"
