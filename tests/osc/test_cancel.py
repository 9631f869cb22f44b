"""``/nudge/cancel`` over real UDP (issue 23): a newer request from the same sender supersedes its waiting
work. The worker is held on a request by a gate (an Event the test opens), so what waits when the cancel
comes is known exactly: no sleeps, no timing luck."""

from __future__ import annotations

import threading

import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.api import MAX_PENDING_PER_SENDER
from companion.osc.dispatch import Daemon
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_server import TIMEOUT, Client, Running
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration
TAKES = 16


class Gate:
    """Holds the worker inside the generate with ``request_id`` until ``open()``."""

    def __init__(self, daemon: Daemon, request_id: int):
        self.started, self._open = threading.Event(), threading.Event()
        original = daemon._generate

        def generate(request, model):
            if request.id == request_id:
                self.started.set()
                assert self._open.wait(TIMEOUT), "the test never opened the gate"
            return original(request, model)

        daemon._generate = generate  # Daemon._run looks the handler up on the instance

    def wait_started(self) -> None:
        assert self.started.wait(TIMEOUT), "the worker never started the gated request"

    def open(self) -> None:
        self._open.set()


@pytest.fixture
def served(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    daemon = Daemon(load_model(tmp_path / "default.onnx"), ModelsDir(tmp_path), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    clients = [Client(running.server.address), Client(running.server.address)]
    yield clients, daemon, running.server
    for client in clients:
        client.close()
    running.stop()


def generate(client: Client, request_id: int) -> None:
    client.send("/nudge/generate", "isi", request_id, "seed", request_id)


def finished(client: Client, count: int) -> tuple[list[int], list[str]]:
    """Read replies until ``count`` note replies ended -> (their ids in order, the error reasons seen)."""
    done, errors = [], []
    while len(done) < count:
        message = client.receive()
        if message.address == "/nudge/notes/end":
            done.append(message.args[0])
        elif message.address == "/nudge/error":
            errors.append(message.args[1])
    return done, errors


def test_a_cancel_drops_the_senders_waiting_requests_and_the_running_one_finishes(served):
    (client, _), _, server = served
    gate = Gate(server.daemon, 1)
    generate(client, 1)
    gate.wait_started()
    for request_id in range(2, 7):
        generate(client, request_id)
    cancelled = client.ask("/nudge/cancel", "i", 7)
    assert (cancelled.address, cancelled.args) == ("/nudge/cancelled", (7, 2, 3, 4, 5, 6))
    assert server.scheduler.pending == 0
    generate(client, 8)
    gate.open()
    # the worker takes requests in order: had 2..6 waited still, their replies would come before 8's
    assert finished(client, 2) == ([1, 8], [])
    assert client.ask("/nudge/ping", "i", 9).args[0] == 9


def test_a_cancel_touches_only_the_requests_of_its_own_sender(served):
    (mine, other), _, server = served
    gate = Gate(server.daemon, 1)
    generate(mine, 1)
    gate.wait_started()
    generate(mine, 2)
    generate(other, 3)
    cancelled = other.ask("/nudge/cancel", "i", 4)
    assert (cancelled.address, cancelled.args) == ("/nudge/cancelled", (4, 3))  # its own, not mine's 2
    generate(other, 5)
    gate.open()
    assert finished(mine, 2) == ([1, 2], [])
    assert finished(other, 1) == ([5], [])


def test_three_quick_clicks_of_16_takes_each_lose_nothing_of_the_last_click(served):
    """What the device does on each click (cancel, then the takes), with the worker held on the first take:
    no request is refused busy, the last click's 16 takes all come, and every earlier take either ran or is
    named in a /nudge/cancelled."""
    (client, _), _, server = served
    gate = Gate(server.daemon, 100)
    clicks = [list(range(100 * c, 100 * c + TAKES)) for c in (1, 2, 3)]
    dropped: list[int] = []
    for c, takes in enumerate(clicks):
        if c:
            cancelled = client.ask("/nudge/cancel", "i", 99 + 100 * c)
            assert cancelled.address == "/nudge/cancelled"
            dropped += cancelled.args[1:]
        for request_id in takes:
            generate(client, request_id)
        if c == 0:
            gate.wait_started()
    assert server.scheduler.refused == 0
    gate.open()
    done, errors = finished(client, 1 + TAKES)
    assert errors == []
    assert done == [100, *clicks[2]]
    assert sorted(dropped + done) == sorted(clicks[0] + clicks[1] + clicks[2])


def test_without_a_cancel_the_same_clicks_are_refused_busy(served):
    """The defect the cancel mends: a second click of 16 takes behind a first finds the queue full."""
    (client, _), _, server = served
    gate = Gate(server.daemon, 100)
    generate(client, 100)
    gate.wait_started()
    for request_id in [*range(101, 100 + TAKES), *range(200, 200 + TAKES)]:
        generate(client, request_id)
    busy = [client.receive() for _ in range(TAKES - 1)]  # 15 wait from click 1, 1 from click 2 fits
    assert all(m.address == "/nudge/error" and "busy" in m.args[1] for m in busy)
    assert MAX_PENDING_PER_SENDER == TAKES and server.scheduler.refused == TAKES - 1
    gate.open()
    assert finished(client, 1 + TAKES)[1] == []


def test_a_cancelled_vary_frees_the_clip_parts_it_held(served):
    (client, _), daemon, _ = served
    gate = Gate(daemon, 1)
    generate(client, 1)
    gate.wait_started()
    client.send("/nudge/vary/part", "iiiiffi", 2, 0, 1, 36, 0.0, 0.25, 100)
    client.send("/nudge/vary", "ifsisf", 2, 0.5, "parts", 1, "notes", 8.0)
    cancelled = client.ask("/nudge/cancel", "i", 3)
    assert cancelled.args == (3, 2)
    assert len(daemon.clip_parts) == 0
    gate.open()
    assert finished(client, 1) == ([1], [])


def test_cancel_on_plain_bytes_has_nothing_to_drop(served):
    _, daemon, _ = served
    (reply,) = daemon.handle(encode_message("/nudge/cancel", "i", (5,)))
    assert decode_message(reply).address == "/nudge/cancelled" and decode_message(reply).args == (5,)
    (error,) = daemon.handle(encode_message("/nudge/cancel", "s", ("five",)))
    assert decode_message(error).address == "/nudge/error"
