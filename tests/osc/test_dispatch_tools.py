"""The tools over the OSC API, on plain bytes: /nudge/groove, drumify, continue, interpolate, fill."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc import tool_searches
from companion.osc.dispatch import Daemon
from companion.osc.request import parse_request
from companion.runtime.model import load_model
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

CLIP = [
    35, 0.02, 0.37, 101,
    42, 0.5, 0.1, 50,
    38, 1.0, 0.25, 90,
    42, 1.5, 0.1, 51,
    36, 2.5, 0.1, 77,
    38, 3.0, 0.5, 64,
    56, 3.75, 0.5, 127,
]  # fmt: skip
ROWS = np.array(CLIP, dtype=np.float32).reshape(-1, 4).tolist()


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("m")
    plain = write_tiny_model(folder / "plain.onnx", grid=Grid(4, 4, 2))
    tooled = write_tiny_model(folder / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(tooled)
    return plain, tooled


@pytest.fixture
def daemon(paths):
    return Daemon(load_model(paths[1]), seed=0)


def send(daemon, address, tags, *args):
    return [decode_message(d) for d in daemon.handle(encode_message(address, tags, args))]


def notes_of(messages):
    begin, *parts, end = messages
    assert begin.address == "/nudge/notes/begin", messages
    assert end.address == "/nudge/notes/end"
    flat = [x for p in sorted(parts, key=lambda m: m.args[1]) for x in p.args[2:]]
    return begin, np.array(flat, dtype=np.float64).reshape(-1, 4)


def with_clip(tags, args, clip=CLIP, length=4.0):
    return tags + "sf" + "iffi" * (len(clip) // 4), (*args, "notes", length, *clip)


def test_groove_answers_every_note_with_new_dynamics(daemon):
    tags, args = with_clip("ifsi", (1, 1.0, "seed", 4))
    begin, notes = notes_of(send(daemon, "/nudge/groove", tags, *args))
    assert begin.args[3] == 4.0 and begin.args[4] == "default groove 1.00 s4"
    assert sorted(notes[:, 0].tolist()) == sorted(r[0] for r in ROWS)
    assert [56, 3.75, 0.5, 127] in notes.tolist()  # not a drum voice: as sent
    assert notes_of(send(daemon, "/nudge/groove", tags, *args))[1].tolist() == notes.tolist()


def test_drumify_continue_and_fill_answer_notes(daemon):
    tags, args = with_clip("isfsi", (2, "density", 0.4, "seed", 1))
    begin, notes = notes_of(send(daemon, "/nudge/drumify", tags, *args))
    assert len(notes) and begin.args[4] == "default drumify any s1"
    tags, args = with_clip("iisi", (3, 2, "seed", 1))
    begin, notes = notes_of(send(daemon, "/nudge/continue", tags, *args))
    assert begin.args[3] == 12.0 and all(r in notes.tolist() for r in ROWS)
    tags, args = with_clip("isi", (4, "seed", 1), length=8.0)
    begin, notes = notes_of(send(daemon, "/nudge/fill", tags, *args))
    assert begin.args[3] == 8.0 and all(r in notes.tolist() for r in ROWS)  # bar 1 as sent, bar 2 a fill


def test_interpolate_answers_each_step_of_one_path(daemon):
    b = [38, 0.0, 0.25, 100, 42, 1.0, 0.1, 60, 36, 3.0, 0.1, 90]
    clip = CLIP + [x + (4.0 if i % 4 == 1 else 0) for i, x in enumerate(b)]
    steps = []
    for step in (1, 2, 3):
        tags, args = with_clip("iiifsi", (10 + step, 3, step, 4.0, "seed", 7), clip, 8.0)
        begin, notes = notes_of(send(daemon, "/nudge/interpolate", tags, *args))
        assert begin.args[3] == 4.0 and begin.args[4] == f"default interpolate {step}/3 s7"
        steps.append(notes)
    assert sorted(steps[0].tolist()) == sorted(ROWS)  # step 1: A as sent
    assert sorted(steps[2].tolist()) == sorted(np.array(b, np.float32).reshape(-1, 4).tolist())  # B


@pytest.mark.parametrize(
    ("address", "tags", "args", "reason"),
    [
        ("/nudge/groove", "ifsi", (5, 1.0, "bars", 2), "key 'bars' is not taken here; allowed: style, seed"),
        ("/nudge/groove", "ifsf", (5, 1.0, "density", 0.5), "key 'density' is not taken here"),
        ("/nudge/interpolate", "iiif", (5, 3, 4, 4.0), "step must be in 1..count (3), got 4"),
        ("/nudge/interpolate", "iiif", (5, 3, 1, 3.0), "A is 3 beats and B 1"),
        ("/nudge/continue", "ii", (5, 8), "bars must be an int in 1..7"),
        ("/nudge/groove", "if", (5, 1.5), "amount must be in 0..1"),
    ],
)
def test_malformed_tool_requests_get_an_error(daemon, address, tags, args, reason):
    tags, args = with_clip(tags, args)
    (reply,) = send(daemon, address, tags, *args)
    assert reply.address == "/nudge/error" and reply.args[0] == 5, reply
    assert reason in reply.args[1]


def test_bad_clips_and_a_model_without_tools_graph_get_errors(daemon, paths):
    (reply,) = send(daemon, "/nudge/groove", "ifsf", 6, 1.0, "notes", 4.0)
    assert "/nudge/groove: the clip has no notes" in reply.args[1]
    tags, args = with_clip("if", (6, 1.0), length=2.0)
    (reply,) = send(daemon, "/nudge/groove", tags, *args)
    assert "shorter than one bar" in reply.args[1]
    (reply,) = send(daemon, "/nudge/drumify", "i", 6)
    assert "the clip is missing" in reply.args[1]
    plain = Daemon(load_model(paths[0]), seed=0)
    tags, args = with_clip("i", (6,))
    (reply,) = send(plain, "/nudge/fill", tags, *args)
    assert reply.address == "/nudge/error" and "fill needs the model's tools graph" in reply.args[1]
    tags, args = with_clip("if", (6, 1.0))
    assert send(plain, "/nudge/groove", tags, *args)[0].address == "/nudge/notes/begin"  # the fallback


def test_tools_are_priced_by_their_runs_of_the_tools_graph(daemon):
    model = daemon.model
    prices = {}
    for address, tags, args in [
        ("/nudge/groove", "ifsi", (1, 1.0, "candidates", 128)),
        ("/nudge/groove", "ifsi", (1, 1.0, "candidates", 64)),
        ("/nudge/continue", "ii", (1, 3)),
        ("/nudge/interpolate", "iiif", (1, 3, 1, 4.0)),
    ]:
        tags, args = with_clip(tags, args, length=4.0 if address != "/nudge/interpolate" else 8.0)
        request = parse_request(decode_message(encode_message(address, tags, args)), model.meta)
        prices[(address, args[3] if address == "/nudge/groove" else 0)] = tool_searches.price(
            request, model.meta
        )
    assert prices[("/nudge/groove", 128)] == 2 * prices[("/nudge/groove", 64)]
    assert prices[("/nudge/groove", 64)] == 64 * tool_searches.TOOLS_RUN_WEIGHT / 1024
    assert all(0 < p <= 1 for p in prices.values())


@pytest.mark.integration
def test_tools_run_in_the_search_processes_as_in_the_daemon(tmp_path):
    from companion.osc.server import UdpServer
    from companion.runtime.models_dir import ModelsDir
    from tests.osc.test_server import Client, Running

    path = write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(path)
    daemon = Daemon(load_model(path), ModelsDir(tmp_path), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600, search_processes=1))
    client = Client(running.server.address)
    tags, args = with_clip("ifsi", (1, 1.0, "seed", 4))
    fill_tags, fill_args = with_clip("isi", (2, "seed", 4), length=8.0)
    try:
        _, remote = client.notes("/nudge/groove", tags, *args)
        _, filled = client.notes("/nudge/fill", fill_tags, *fill_args)
        assert sum(slot.searches for slot in running.server.pool.slots) == 2  # both in the search process
    finally:
        client.close()
        running.stop()
    local = Daemon(load_model(path), seed=1)
    np.testing.assert_array_equal(remote, notes_of(send(local, "/nudge/groove", tags, *args))[1])
    np.testing.assert_array_equal(filled, notes_of(send(local, "/nudge/fill", fill_tags, *fill_args))[1])
