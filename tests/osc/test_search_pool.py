"""Issue 26 (defects 4 and 7): the searches run in search processes fed from one queue, over real UDP: the
same replies as in the daemon's own process, the hot-swapped model reaches them (the old one serves until
the new one is checked there too), their patterns still go to live MIDI, a killed search process is
replaced, and one datagram buys at most one maximal search, priced by what it runs (keep included)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from companion.core.osc_codec import encode_bundle, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.scheduler import Scheduler
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_dispatch import RecordingPlayer, notes_of, send
from tests.osc.test_server import Client, Running
from tests.support.procs import children, ended_within
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration
CLIP = (36, 0.0, 0.25, 100, 38, 1.0, 0.25, 90, 42, 0.5, 0.1, 60)
GENERATE = ("isfsi", 1, "density", 0.7, "seed", 3)


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_model(tmp_path / "long.onnx", name="long", grid=Grid(4, 4, 8), latent_dim=16)
    return tmp_path


def serve(folder, player=None, processes=2):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), player=player, seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600, search_processes=processes))
    return daemon, running, Client(running.server.address)


def test_search_processes_answer_as_the_daemon_itself_and_their_patterns_reach_live_midi(folder):
    player = RecordingPlayer()
    _, running, client = serve(folder, player)
    try:
        _, remote = client.notes("/nudge/generate", *GENERATE)
        _, nudged = client.notes("/nudge/vary", "ifsisf" + "iffi" * 3, 2, 0.4, "seed", 5, "notes", 4.0, *CLIP)
        assert client.ask("/nudge/ping", "i", 3).args[0] == 3
        pool = running.server.pool
        assert sum(slot.searches for slot in pool.slots) == 2  # both ran in the search processes
        pids = {slot.process.pid for slot in pool.slots if slot.process is not None}
        assert os.getpid() not in pids and len(pids) == 2
        assert [c[0] for c in player.calls] == ["queue", "queue"]  # (the daemon queued both patterns)
    finally:
        client.close()
        running.stop()
    local = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=1)
    _, here = notes_of(send(local, "/nudge/generate", *GENERATE))
    np.testing.assert_array_equal(remote, here)
    assert len(nudged)


def test_a_loaded_model_reaches_the_search_processes_and_a_bad_one_never_does(folder):
    _, running, client = serve(folder)
    try:
        begin, _ = client.notes("/nudge/generate", *GENERATE)
        assert begin.args[3] == 8.0  # the 2-bar model
        assert client.ask("/nudge/model/load", "is", 2, "long").args == (2, "long")
        loaded = {len(slot.loaded) for slot in running.server.pool.slots}
        assert loaded == {2}  # every running process checked the new model before it served
        begin, _ = client.notes("/nudge/generate", *GENERATE)
        assert begin.args[3] == 32.0  # the 8-bar model, from a search process
        (folder / "corrupt.onnx").write_bytes(b"\x0a\x05hello" * 20)
        assert client.ask("/nudge/model/load", "is", 3, "corrupt").address == "/nudge/error"
        assert client.notes("/nudge/generate", *GENERATE)[0].args[3] == 32.0
    finally:
        client.close()
        running.stop()


def test_a_killed_search_process_is_replaced(folder):
    _, running, client = serve(folder, processes=1)
    try:
        client.notes("/nudge/generate", *GENERATE)
        (pid,) = children(os.getpid(), "companion.osc.search_child")
        os.kill(pid, signal.SIGKILL)
        assert ended_within(pid, 10)
        begin, _ = client.notes("/nudge/generate", *GENERATE)  # a new process serves, the model loaded
        assert begin.address == "/nudge/notes/begin" and running.server.pool.restarts == 1
        assert children(os.getpid(), "companion.osc.search_child") != [pid]
    finally:
        client.close()
        running.stop()


def test_one_datagram_buys_at_most_one_maximal_search_priced_by_its_work(folder):
    _, running, client = serve(folder, processes=1)
    try:
        # 8 generates of 1 bar at the widest search: each runs the generator over 1,024 candidates
        one_bar = [encode_message("/nudge/generate", "isisisi", (i, "bars", 1, "candidates", 1024, "seed", i))
                   for i in range(8)]  # fmt: skip
        client.sock.sendto(encode_bundle(one_bar), client.server)
        errors, done = {}, set()
        while len(errors) + len(done) < 8:
            message = client.receive()
            if message.address == "/nudge/error":
                errors[message.args[0]] = message.args[1]
            elif message.address == "/nudge/notes/end":
                done.add(message.args[0])
        assert done == {0} and sorted(errors) == list(range(1, 8))
        # a voice lock runs the generator three times per model-length part (each weighing 1.5): 4.5
        keep = encode_message("/nudge/generate", "isisssf" + "iffi" * 3,
                              (9, "candidates", 1024, "keep", "kick", "notes", 4.0, *CLIP))  # fmt: skip
        client.sock.sendto(keep, client.server)
        refused = client.receive()
        assert refused.address == "/nudge/error" and "costs 4.50 maximal searches" in refused.args[1]
        assert "at most 227 candidates" in refused.args[1]
    finally:
        client.close()
        running.stop()


class _Job:
    def __init__(self, sender, index, cost, ran):
        self.kind, self.request_id, self.address, self.cost = "work", index, "/x", cost
        self.run = lambda: ran.append((sender, index)) or []
        self.remote = None


def test_turns_are_taken_by_work_served_not_by_requests():
    """A sender of cheap requests is not held behind another's maximal ones, one for one."""
    import threading

    ran, gate = [], threading.Event()
    scheduler = Scheduler(lambda replies, target: None, workers=1, on_start=lambda slot: gate.wait())
    try:
        for i in range(4):
            scheduler.submit("heavy", _Job("heavy", i, 1.0, ran), ())
        for i in range(8):
            scheduler.submit("light", _Job("light", i, 1 / 8, ran), ())
        gate.set()
        while len(ran) < 12:
            threading.Event().wait(0.01)
    finally:
        scheduler.close()
    # heavy's first maximal search, then light's eight (together one maximal search), then heavy's rest
    assert [s for s, _ in ran] == ["heavy"] + ["light"] * 8 + ["heavy"] * 3
