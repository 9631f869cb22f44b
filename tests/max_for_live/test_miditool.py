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
    """nudge_tool.js in node with a fake of Live's MIDI Tool apply cycle (tool_harness.js)."""

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


def replies_to(daemon, sent: list[list]) -> list[list]:
    """The daemon's replies to what the tool sent, as [udpreceive] delivers them (pongs left out)."""
    replies = [m for atoms in sent for d in daemon.handle(max_datagram(atoms)) for m in udpreceive_atoms(d)]
    assert not [m for m in replies if m[0] == "/nudge/error"], replies
    return [m for m in replies if m[0] != "/nudge/pong"]


def hits(spec, velocity=100.0):
    return [{"pitch": p, "start_time": s, "duration": 0.25, "velocity": velocity} for p, s in spec]


GROOVE = [(36, 4.0), (42, 4.5), (38, 5.0), (42, 5.5), (36, 6.0), (42, 6.5), (38, 7.0), (42, 7.5)]


def test_every_apply_answers_in_time_and_the_result_follows_in_a_continued_apply(tool, daemon):
    first = tool("load", kind="transformation", clip={"length": 16, "notes": hits(GROOVE)},
                 selection={"start": 4.0, "end": 8.0}, outsideBangs="apply")  # fmt: skip
    assert first["ports"] and first["ports"][0][1] >= 49152
    answer = tool("apply")
    assert answer["errors"] == [], "answered inside the apply (h1data: else 'Did not receive ... in time')"
    assert len(answer["out"]) == 1 and answer["out"][0]["notes"] == [
        {k: v for k, v in n.items()} | {"mute": 0} for n in hits(GROOVE)
    ], "the input as it is, while the daemon works"
    request = next(m for m in answer["sent"] if m[0] == "/nudge/vary")
    assert request[2] == pytest.approx(0.3) and "bars" not in request
    assert answer["sent"][0] == ["/nudge/ping", answer["sent"][0][1], first["ports"][0][1]]
    after = tool("osc", messages=replies_to(daemon, answer["sent"]))
    assert after["applies"] == 1 and after["errors"] == [], "the reply's bang continued as an apply"
    (result,) = after["out"]
    assert result["notes"] != answer["out"][0]["notes"], "Amount 0.3 changed the groove"
    assert all(4.0 <= n["start_time"] < 8.0 for n in result["notes"])

    def shape(notes):
        return sorted((n["pitch"], n["start_time"], n["duration"], n["velocity"]) for n in notes)

    assert shape(after["clip"]) == shape(result["notes"]), "the clip holds the result"


def test_a_generator_keeps_the_clip_as_it_is_until_its_groove_arrives(tool, daemon):
    tool("load", kind="generator", clip={"length": 16, "notes": hits([(49, 0.0), (36, 5.0)])},
         selection={"start": 4.0, "end": 10.0}, outsideBangs="apply")  # fmt: skip
    answer = tool("apply")
    assert answer["errors"] == []
    pitches = [n["pitch"] for n in answer["out"][0]["notes"]]
    assert pitches == [36], "the selection's own notes: nothing changes"
    request = next(m for m in answer["sent"] if m[0] == "/nudge/generate")
    assert request[2:4] == ["bars", 2], "beats 4..10 on the bar grid: bars 2 and 3"
    after = tool("osc", messages=replies_to(daemon, answer["sent"]))
    starts = [n["start_time"] for n in after["out"][0]["notes"]]
    assert starts and min(starts) >= 4.0 and max(starts) < 10.0
    assert {"pitch": 49, "start_time": 0.0, "duration": 0.25, "velocity": 100.0, "mute": 0} in after["clip"]


def test_when_live_refuses_the_replys_bang_the_next_apply_hands_the_result_out(tool, daemon):
    tool("load", kind="transformation", clip={"length": 16, "notes": hits(GROOVE)},
         selection={"start": 4.0, "end": 8.0}, outsideBangs="ignored")  # fmt: skip
    answer = tool("apply")
    after = tool("osc", messages=replies_to(daemon, answer["sent"]))
    assert after["applies"] == 0 and after["refusedBangs"] == 1 and "press Apply" in after["status"]
    again = tool("apply")  # the producer presses Apply (or moves a dial)
    assert again["sent"] == [] and again["errors"] == [], "the kept result: nothing asked again"
    assert again["out"][0]["notes"] != hits(GROOVE)


def test_a_turned_dial_is_throttled_and_one_request_at_a_time_goes_to_the_daemon(tool, daemon):
    tool("load", kind="transformation", clip={"length": 16, "notes": hits(GROOVE)},
         selection={"start": 4.0, "end": 8.0}, outsideBangs="apply")  # fmt: skip
    applies, waiting, errors = 0, [], []
    for step in range(50):  # a quick turn: a value every 10 ms for half a second
        for answer in (tool("setting", key="amount", value=step / 50), tool("advance", ms=10)):
            applies += answer["applies"]
            waiting += [m for m in answer["sent"] if m[0] != "/nudge/ping"]
            errors += answer["errors"]
    last = tool("advance", ms=200)  # the turn stops: its last value applies when the interval is over
    applies += last["applies"]
    waiting += [m for m in last["sent"] if m[0] != "/nudge/ping"]
    assert errors == [] and last["errors"] == []
    assert applies <= 7, f"{applies} applies for 50 dial steps (at most one per 100 ms)"
    assert len(waiting) == 1, "one request on its way; the newest input waits for it"
    rounds = 0
    while waiting:
        rounds += 1
        answer = tool("osc", messages=replies_to(daemon, [waiting.pop(0)]))
        waiting += [m for m in answer["sent"] if m[0] != "/nudge/ping"]
    assert rounds == 2, "the first request, then only the newest input"
    final = tool("apply")
    assert final["sent"] == [] and final["out"], "the last dial value's result is kept"
    assert final["out"][0]["notes"] == answer["out"][0]["notes"]


def test_each_instance_listens_on_its_own_port(tool):
    ports = []
    for random in (0.1, 0.9):
        answer = tool("load", kind="generator", clip={"length": 8, "notes": []},
                      selection={"start": 0.0, "end": 8.0}, random=random)  # fmt: skip
        ports.append(answer["ports"][0][1])
    assert ports[0] != ports[1] and all(49152 <= p <= 65535 for p in ports)
    assert not {9011, 9012} & set(ports)


def test_a_large_selection_is_split_like_the_devices_and_never_refused_by_macos(tool, daemon):
    notes = [
        {"pitch": (36, 42, 38, 46)[i % 4], "start_time": i * 32 / 600, "duration": 0.05, "velocity": 90.0}
        for i in range(600)
    ]
    one = ["/nudge/vary", 1, 0.3, "seed", 1, "notes", 32.0]
    for n in notes:
        one += [n["pitch"], n["start_time"], n["duration"], 90]
    assert len(max_datagram(one)) > 9216, "in one datagram macOS would refuse it"
    tool("load", kind="transformation", clip={"length": 32, "notes": notes},
         selection={"start": 0.0, "end": 32.0}, outsideBangs="apply")  # fmt: skip
    answer = tool("apply")
    assert answer["dropped"] == []
    parts = [m for m in answer["sent"] if m[0] == "/nudge/vary/part"]
    assert len(parts) >= 2 and all(len(max_datagram(m)) <= 8192 for m in answer["sent"])
    after = tool("osc", messages=replies_to(daemon, answer["sent"]))
    assert after["applies"] == 1 and len(after["out"][0]["notes"]) > 300


def test_the_selected_notes_are_read_on_the_clips_bar_grid(tool, daemon):
    tool("load", kind="transformation", clip={"length": 16, "notes": hits(GROOVE)},
         selection={"notes": True}, outsideBangs="apply")  # fmt: skip
    tool("select", selection={"notes": True, "from": 4.5, "to": 8.0})  # no time range: from a hat on the and
    answer = tool("apply")
    request = next(m for m in answer["sent"] if m[0] == "/nudge/vary")
    marker = request.index("notes")
    assert request[marker + 1] == 4.0, "one bar, from its bar line"
    assert request[marker + 3] == 0.5, "the first selected note keeps its place in the bar (the and of 1)"


def test_a_daemon_error_or_silence_is_said_and_the_clip_stays(tool, daemon):
    tool("load", kind="generator", clip={"length": 8, "notes": hits([(36, 0.0)])},
         selection={"start": 0.0, "end": 4.0})  # fmt: skip
    first = tool("apply")
    assert first["errors"] == []
    request_id = next(m for m in first["sent"] if m[0] == "/nudge/generate")[1]
    after = tool("osc", messages=[["/nudge/error", request_id, "/nudge/generate: boom"]])
    assert after["applies"] == 0 and "nudge serve: /nudge/generate: boom" in after["status"]
    again = tool("apply")
    assert len([m for m in again["sent"] if m[0] == "/nudge/generate"]) == 1, "after a failure it asks again"
    silent = tool("advance", ms=5000)
    assert "No answer from nudge serve" in silent["status"] and silent["ports"], "and listens on another port"
    assert [n["pitch"] for n in silent["clip"]] == [36]


def test_seed_above_255_reaches_the_daemon(tool, daemon):
    tool("load", kind="generator", clip={"length": 8, "notes": []}, selection={"start": 0.0, "end": 4.0})
    answer = tool("setting", key="seed", value=123456)
    request = next(m for m in answer["sent"] if m[0] == "/nudge/generate")
    assert request[request.index("seed") + 1] == 123456


GROOVE_BAR = [(36, 0.0), (42, 0.5), (38, 1.0), (42, 1.5), (36, 2.0), (42, 2.5), (38, 3.0), (42, 3.5)]


@pytest.fixture
def tools_daemon(tmp_path):
    """The dispatcher with a tiny generator and its tiny tools graph (what Fill needs)."""
    pytest.importorskip("onnx")
    from tests.support.tiny_tools import write_tiny_tools

    model = write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(model)
    return Daemon(load_model(model), seed=0)


def transformed(
    tool, daemon, kind: str, notes: list[dict], start: float, end: float, **settings
) -> list[dict]:
    """One Transformation of `kind` on the notes selected in [start, end) of a 32-beat clip: the apply, the
    daemon's real reply, the apply the reply's bang continues -> the clip's notes after it."""
    tool("load", kind=kind, clip={"length": 32, "notes": notes}, selection={"start": start, "end": end},
         outsideBangs="apply")  # fmt: skip
    answers = [tool("setting", key=key, value=value) for key, value in settings.items()]  # each applies
    answers.append(tool("apply"))
    assert all(a["errors"] == [] and a["out"] for a in answers), answers
    sent = [m for a in answers for m in a["sent"]]  # one request on its way, the newest input waiting
    after = tool("osc", messages=replies_to(daemon, sent))
    while after["sent"]:  # the input that waited goes when the reply comes
        after = tool("osc", messages=replies_to(daemon, after["sent"]))
    assert after["errors"] == [], after["status"]
    return sorted(after["clip"], key=lambda n: (n["start_time"], n["pitch"]))


def steps(notes, lo=0.0, hi=1e9):
    return sorted((n["pitch"], round(n["start_time"] * 4)) for n in notes if lo <= n["start_time"] < hi)


def test_the_tools_as_transformations_against_the_daemon(tool, tools_daemon):
    beat = hits([(p, 4.0 * bar + t) for bar in range(2) for p, t in GROOVE_BAR])
    outside = hits([(49, 20.0)])  # a crash the selection does not hold: left alone by every tool
    grooved = transformed(tool, tools_daemon, "groove", beat + outside, 0.0, 8.0)
    assert sorted((p, s % 32) for p, s in steps(grooved, hi=16)) == steps(beat), "every hit: pitch and 16th"
    assert {n["velocity"] for n in grooved if n["pitch"] != 49} != {100.0}
    assert steps(grooved, lo=16) == [(49, 80)]
    more = transformed(tool, tools_daemon, "continue", beat + outside, 0.0, 8.0, bars=2)
    assert steps(more, hi=7.875) == steps(beat), "the selected bars as they were"
    assert steps(more, lo=8.0, hi=16.0), "two new bars after the selection"
    filled = transformed(tool, tools_daemon, "fill", beat + outside, 0.0, 8.0)
    assert steps(filled, hi=3.875) == steps(beat, hi=4.0), "the bars before the fill as they were"
    bass = hits([(40, 0.0), (40, 0.75), (43, 2.0), (45, 3.5), (40, 4.0), (40, 4.75), (43, 6.0)])
    drums = transformed(tool, tools_daemon, "drumify", bass, 0.0, 8.0, density=0.6)
    assert drums and all(n["start_time"] < 8.0 for n in drums) and {n["pitch"] for n in drums} != {40, 43, 45}


def _build_tools():
    import importlib.util

    spec = importlib.util.spec_from_file_location("m4l_build_tools", ROOT / "max_for_live" / "build_tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL_FILES = [
    ("NudgeGenerator.amxd", "generator", b"nagg"),
    ("NudgeTransform.amxd", "transformation", b"natt"),
    ("NudgeGroove.amxd", "groove", b"natt"),
    ("NudgeDrumify.amxd", "drumify", b"natt"),
    ("NudgeContinue.amxd", "continue", b"natt"),
    ("NudgeFill.amxd", "fill", b"natt"),
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
    assert boxes["obj-js"]["text"] == f"js nudge_tool.js {kind}"
    wires = {(tuple(line["patchline"]["source"]), tuple(line["patchline"]["destination"]))
             for line in patcher["lines"]}  # fmt: skip
    needed = [
        ("in", 0, "js", 0),
        ("in", 1, "js", 1),
        ("js", 0, "out", 0),
        ("js", 2, "in", 0),
        ("receive", 0, "osc", 0),
        ("js", 4, "receive", 0),
        ("load", 0, "js", 0),
    ]
    for a, outlet, b, inlet in needed:
        assert ((f"obj-{a}", outlet), (f"obj-{b}", inlet)) in wires
    assert boxes["obj-receive"]["text"] == "udpreceive 0", "each instance moves it to a port of its own"
    seed = boxes["obj-seed"]["saved_attribute_attributes"]["valueof"]
    assert seed["parameter_type"] == 0, "Float: Live's Int parameters stop at 255"
    assert seed["parameter_mmax"] == 999999.0
    listed = sorted(patcher["project"]["contents"]["code"])
    required = {"nudge_tool.js"} | {
        f"{m}.js" for m in ("nudge_reply", "nudge_miditool", "nudge_osc", "nudge_drum_rack")
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
