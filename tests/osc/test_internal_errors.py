"""Only a NudgeError is the user's mistake (issue 24): a bug met while answering (here a numpy broadcast error
injected into ``engine.windows_of``, as a real shape bug raises it) is logged with its traceback, counted,
answered with a short "internal error" reply, and the daemon serves on: in ``Daemon.handle`` and over UDP."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.server import UdpServer
from companion.runtime import engine
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_server import Client, Running
from tests.support.tiny_onnx import write_tiny_model

GENERATE = ("/nudge/generate", "isi", (7, "seed", 3))


def broken_windows_of(batch, grid, bars):
    """The real function with a shape bug: numpy raises its own ValueError."""
    return batch[..., :3] + batch[..., :5]  # operands could not be broadcast together


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    return tmp_path


def ask(daemon, address, tags, args):
    return [decode_message(d) for d in daemon.handle(encode_message(address, tags, args))]


def test_a_bug_is_an_internal_error_logged_counted_and_the_daemon_serves_on(folder, monkeypatch, caplog):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=0)
    good = ask(daemon, *GENERATE)
    monkeypatch.setattr(engine, "windows_of", broken_windows_of)
    with caplog.at_level(logging.ERROR, logger="companion.osc.dispatch"):
        [reply] = ask(daemon, *GENERATE)
    assert reply.address == "/nudge/error"
    assert reply.args == (7, "/nudge/generate: internal error (ValueError)")  # no numpy text to the user
    [record] = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "operands could not be broadcast" in str(record.exc_info[1])
    assert "broken_windows_of" in caplog.text  # the traceback is in the log
    assert daemon.counts["internal"] == 1 and daemon.counts["error"] == 1
    # the user's own mistakes are not internal errors, and the daemon serves on
    [mistake] = ask(daemon, "/nudge/generate", "isi", (8, "bars", 99))
    assert mistake.args[0] == 8 and "bars must be an int in 1..8, got 99" in mistake.args[1]
    assert daemon.counts["internal"] == 1 and daemon.counts["error"] == 2
    assert ask(daemon, "/nudge/ping", "i", (9,))[0].address == "/nudge/pong"
    monkeypatch.undo()
    assert [m.args for m in ask(daemon, *GENERATE)] == [m.args for m in good]


@pytest.mark.integration
def test_over_udp_the_internal_error_comes_from_the_worker_and_the_next_request_is_answered(
    folder, monkeypatch, caplog
):
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=0)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600))
    client = Client(running.server.address)
    try:
        monkeypatch.setattr(engine, "windows_of", broken_windows_of)
        with caplog.at_level(logging.ERROR, logger="companion.osc.dispatch"):
            reply = client.ask(*GENERATE[:2], *GENERATE[2])
        assert (reply.address, reply.args) == (
            "/nudge/error",
            (7, "/nudge/generate: internal error (ValueError)"),
        )
        assert any(
            r.exc_info and "operands could not be broadcast" in str(r.exc_info[1]) for r in caplog.records
        )
        assert client.ask("/nudge/ping", "i", 1).address == "/nudge/pong"
        monkeypatch.undo()
        begin, notes = client.notes(*GENERATE[:2], *GENERATE[2])
        assert begin.args[0] == 7 and len(notes) > 0 and np.isfinite(notes).all()
        assert daemon.counts["internal"] == 1
    finally:
        client.close()
        running.stop()
