"""The Live 12 MIDI Tools' [js] (max_for_live/src/nudge_tool.js) in node against the daemon's dispatcher:
live.miditool.in's dictionaries in, requests as Max's [udpsend] encodes them, the daemon's real replies as
[udpreceive] delivers them, the apply cycle continued by a bang, and the notes handed to live.miditool.out.
Live itself is faked (the dictionaries' format: docs/max-for-live.md, *MIDI Tools*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.support.max_contract import NodeHarness, max_datagram, udpreceive_atoms
from tests.support.tiny_onnx import write_tiny_model

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "max_for_live" / "tests" / "tool_harness.js"
CONTEXT = {
    "clip": {"time_selection_start": 4.0, "time_selection_end": 10.0, "first_note_start": 4.0,
             "last_note_end": 9.0, "lowest_pitch": 36, "highest_pitch": 42},
    "scale": {"scale_mode": 1, "root_note": 0, "scale_intervals": [0, 2, 4, 5, 7, 9, 11],
              "scale_name": "Major"},
    "grid": {"interval": 0.25, "enabled": 1},
}  # fmt: skip


class Tool(NodeHarness):
    """nudge_tool.js in node (fake live.miditool.in/out), one JSON command per line."""

    def __init__(self):
        super().__init__(HARNESS)


@pytest.fixture
def tool():
    t = Tool()
    yield t
    t.close()


@pytest.fixture
def daemon(tmp_path):
    return Daemon(load_model(write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))), seed=0)


def apply(tool, daemon, notes, port):
    """One apply as Live runs it: context then notes; the requests go to the daemon, its replies come back;
    on the tool's bang live.miditool.in hands out the same input again -> what went to live.miditool.out."""
    tool("context", dict=CONTEXT)
    first = tool("notes", dict={"notes": notes})
    assert first["out"] == [] and [m[0] for m in first["sent"]] == ["/nudge/ping", first["sent"][1][0]]
    assert first["sent"][0][2] == port  # the ping names the tool's [udpreceive] port
    replies = [
        m for atoms in first["sent"] for d in daemon.handle(max_datagram(atoms)) for m in udpreceive_atoms(d)
    ]
    answered = tool("osc", messages=[m for m in replies if m[0] != "/nudge/pong"])
    assert answered["bangs"] == 1, answered
    tool("context", dict=CONTEXT)
    second = tool("notes", dict={"notes": notes})
    assert second["sent"] == [], "the continued cycle asks nothing more"
    return first["sent"][1], second["out"]


def test_generator_fills_the_time_selection(tool, daemon):
    tool("load", kind="generator", port=9011, kit=None)
    request, out = apply(tool, daemon, [], 9011)
    assert request[:4] == ["/nudge/generate", request[1], "bars", 2]  # 6 beats -> 2 bars, cropped back
    assert "density" in request and "seed" in request
    (dict_out,) = out
    starts = [n["start_time"] for n in dict_out["notes"]]
    assert dict_out["notes"] and min(starts) >= 4.0 and max(starts) < 10.0
    assert all(n["start_time"] + n["duration"] <= 10.0 + 1e-9 for n in dict_out["notes"])
    assert {n["pitch"] for n in dict_out["notes"]} <= {36, 38, 42, 46, 43, 47, 50, 49, 51}


def test_transformation_nudges_the_selected_notes_on_the_kits_pads(tool, daemon):
    kit = [[60, "Kick 808"], [61, "Snare 808"], [62, "Hihat Closed 808"], [63, "Hihat Open 808"]]
    tool("load", kind="transformation", port=9012, kit=kit)
    tool("setting", key="amount", value=0.4)
    hits = [(60, 4.0), (62, 4.5), (61, 5.0), (62, 5.5), (60, 6.0), (62, 6.5)]
    notes = [
        {"note_id": i + 1, "pitch": p, "start_time": s, "duration": 0.25, "velocity": 100.0, "mute": 0}
        for i, (p, s) in enumerate(hits)
    ]
    notes.append(
        {"note_id": 9, "pitch": 61, "start_time": 12.0, "duration": 0.25, "velocity": 80.0, "mute": 0}
    )
    request, out = apply(tool, daemon, notes, 9012)
    assert request[:3] == ["/nudge/vary", request[1], pytest.approx(0.4)]
    sent_pitches = set(request[request.index("notes") + 2 :: 4])
    assert sent_pitches <= {36, 38, 42}, "the pads go out as the voices' General MIDI pitches"
    (dict_out,) = out
    inside = [n for n in dict_out["notes"] if 4.0 <= n["start_time"] < 10.0]
    assert inside and {n["pitch"] for n in inside} <= {60, 61, 62, 63, 43, 47, 50, 49, 51}
    assert {(n["pitch"], n["start_time"]) for n in inside} & {(60, 4.0), (61, 5.0)}, (
        "a small nudge keeps most"
    )
    outside = [n for n in dict_out["notes"] if n["start_time"] >= 10.0]
    assert outside == [{"pitch": 61, "start_time": 12.0, "duration": 0.25, "velocity": 80.0, "mute": 0}]


def test_a_daemon_error_or_silence_is_said_and_nothing_is_written(tool, daemon):
    tool("load", kind="generator", port=9011, kit=None)
    tool("context", dict={"clip": {}})
    assert "Select a time range" in tool("notes", dict={"notes": []})["status"]
    tool("context", dict=CONTEXT)
    first = tool("notes", dict={"notes": []})
    request_id = first["sent"][1][1]
    after = tool("osc", messages=[["/nudge/error", request_id, "/nudge/generate: boom"]])
    assert after["bangs"] == 0 and "nudge serve: /nudge/generate: boom" in after["status"]
    tool("context", dict=CONTEXT)
    again = tool("notes", dict={"notes": []})
    assert len(again["sent"]) == 2, "after a failure the next apply asks again"
    silent = tool("advance", ms=5000)
    assert "No answer from nudge serve" in silent["status"]


def _build_tools():
    import importlib.util

    spec = importlib.util.spec_from_file_location("m4l_build_tools", ROOT / "max_for_live" / "build_tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL_FILES = [
    ("NudgeGenerator.amxd", "generator", b"nagg"),
    ("NudgeTransform.amxd", "transformation", b"natt"),
]


@pytest.mark.parametrize(("file", "kind", "tag"), TOOL_FILES)
def test_the_tools_are_midi_tool_devices_wired_as_documented(file, kind, tag):
    build_tools = _build_tools()
    data = (ROOT / "max_for_live" / file).read_bytes()
    assert data == build_tools.built()[ROOT / "max_for_live" / file], "run python max_for_live/build_tools.py"
    assert (
        data[:12] == b"ampf\x04\x00\x00\x00" + tag and data[12:24] == b"meta\x04\x00\x00\x00\x00\x00\x00\x00"
    )
    size = int.from_bytes(data[28:32], "little")
    assert data[24:28] == b"ptch" and len(data) == 32 + size and data.endswith(b"\0")
    patcher = json.loads(data[32:-1])["patcher"]
    assert patcher["project"]["amxdtype"] == int.from_bytes(tag, "big")
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    assert boxes["obj-js"]["text"].startswith(f"js nudge_tool.js {kind} ")
    wires = {(tuple(line["patchline"]["source"]), tuple(line["patchline"]["destination"]))
             for line in patcher["lines"]}  # fmt: skip
    needed = [
        ("in", 0, "js", 0),
        ("in", 1, "js", 1),
        ("js", 0, "out", 0),
        ("js", 2, "in", 0),
        ("receive", 0, "osc", 0),
    ]
    for a, outlet, b, inlet in needed:
        assert ((f"obj-{a}", outlet), (f"obj-{b}", inlet)) in wires
    port = boxes["obj-js"]["text"].split()[-1]
    assert boxes["obj-receive"]["text"] == f"udpreceive {port}"
    listed = sorted(patcher["project"]["contents"]["code"])
    required = {"nudge_tool.js"} | {
        f"{m}.js" for m in ("nudge_reply", "nudge_miditool", "nudge_drum_rack")
        if f'require("{m}")' in (ROOT / "max_for_live" / "src" / "nudge_tool.js").read_text()
    }  # fmt: skip
    assert set(listed) == required == {d["name"] for d in patcher["dependency_cache"]}


@pytest.mark.parametrize(("file", "kind", "tag"), TOOL_FILES)
def test_the_frozen_tools_hold_the_patcher_and_every_script(file, kind, tag):
    build_tools = _build_tools()
    data = (ROOT / "max_for_live" / "frozen" / file).read_bytes()
    assert data == build_tools.built()[ROOT / "max_for_live" / "frozen" / file]
    assert data[:12] == b"ampf\x04\x00\x00\x00" + tag
    assert data[12:24] == b"meta\x04\x00\x00\x00\x07\x00\x00\x00"
    members = build_tools.frozen.read_archive(data[32:])
    unfrozen = (ROOT / "max_for_live" / file).read_bytes()
    assert [m.name for m in members] == [file, *build_tools.SCRIPTS]
    assert members[0].data == unfrozen[32:]
    for m in members[1:]:
        assert m.data == (ROOT / "max_for_live" / "src" / m.name).read_bytes()
