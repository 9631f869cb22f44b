"""max_for_live/: Nudge.amxd is built from its sources with a valid chunk layout, the patcher holds the live.*
controls wired to the JavaScript, and the device's JavaScript and the daemon agree on the wire format
(the contract tests: daemon replies -> JS decoder, JS requests -> daemon registry, over real encodings)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.max_contract import (
    DEVICE_REPLY_PORT,
    JS_SOURCE,
    BytesLink,
    Device,
    UdpLink,
    wait_for_pong,
)

ROOT = Path(__file__).resolve().parents[1]
M4L = ROOT / "max_for_live"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("m4l_build", M4L / "build.py")
PATCHER = json.loads(build.PATCHER.read_text(encoding="utf-8"))["patcher"]
BOXES = {b["box"]["id"]: b["box"] for b in PATCHER["boxes"]}
BY_VARNAME = {b["varname"]: b for b in BOXES.values() if "varname" in b}

CONTROLS = {f"nudge_cond{i}": "live.dial" for i in range(1, 9)} | {
    "nudge_style": "live.menu",
    "nudge_bars": "live.numbox",
    "nudge_amount": "live.dial",
    "nudge_seedlock": "live.toggle",
    "nudge_seed": "live.numbox",
    "nudge_dest": "live.menu",
    "nudge_generate": "live.text",
    "nudge_nudge": "live.text",
    "nudge_play": "live.text",
    "nudge_panic": "live.text",
}
DISPLAYS = {
    "nudge_status": "comment",
    "nudge_rtt": "comment",
    "nudge_model": "comment",
    "nudge_light": "panel",
}


# ---------------------------------------------------------------- the .amxd and its sources


def test_committed_device_matches_its_sources():
    assert build.DEVICE.read_bytes() == build.build_from_sources(), "run: python max_for_live/build.py"
    assert build.main(["--check"]) == 0


def test_build_does_not_depend_on_line_endings():
    raw = build.PATCHER.read_bytes()
    assert build.build_amxd(raw.replace(b"\n", b"\r\n")) == build.build_amxd(raw)


def test_chunk_layout_is_a_midi_effect_with_the_patcher_json():
    data = build.DEVICE.read_bytes()
    chunks = build.read_chunks(data)
    assert [tag for tag, _ in chunks] == [b"ampf", b"meta", b"ptch"]
    assert data[:12] == b"ampf\x04\x00\x00\x00mmmm"
    assert struct.unpack("<I", chunks[1][1]) == (build.META_VALUE,)
    assert chunks[2][1].endswith(b"}\n\x00")
    assert build.patcher_from_amxd(data) == json.loads(build.PATCHER.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[:-5], "runs past the end"),
        (lambda d: d[:5], "truncated"),
        (lambda d: d[:8] + b"aaaz" + d[12:], "ampf must be one of"),
        (lambda d: build.chunk(b"meta", b"\0" * 4) + d, "chunks must be"),
        (lambda d: d[:-1] + b"}", "NUL-terminated"),
        (lambda d: d[:24] + build.chunk(b"ptch", b"mx@c" + b"\0" * 12), "frozen"),
        (lambda d: d[:24] + build.chunk(b"ptch", b"{nope\0"), "not UTF-8 JSON"),
    ],
)
def test_malformed_devices_are_refused_with_a_reason(mutate: Callable[[bytes], bytes], message: str):
    with pytest.raises(build.AmxdError, match=message):
        build.patcher_from_amxd(mutate(build.DEVICE.read_bytes()))


def test_sources_without_the_js_box_are_refused():
    broken = json.dumps({"patcher": {"boxes": [{"box": {"id": "obj-1", "text": "print"}}]}}).encode()
    with pytest.raises(build.AmxdError, match=r"no \[js nudge.js\] box"):
        build.build_amxd(broken)
    with pytest.raises(build.AmxdError, match="device_type"):
        build.build_amxd(build.PATCHER.read_bytes(), "sampler")


# ---------------------------------------------------------------- the patcher


def test_controls_are_live_parameters_in_the_presentation():
    width, height = PATCHER["devicewidth"], PATCHER["openrect"][3]
    longnames = []
    for varname, maxclass in (CONTROLS | DISPLAYS).items():
        box = BY_VARNAME.get(varname)
        assert box is not None, f"no object named {varname}"
        assert box["maxclass"] == maxclass, varname
        assert box.get("presentation") == 1, f"{varname} is not in the presentation view"
        x, y, w, h = box["presentation_rect"]
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height, f"{varname} lies outside the device"
        if varname in CONTROLS:
            assert box.get("parameter_enable") == 1, f"{varname} is not automatable"
            longnames.append(box["saved_attribute_attributes"]["valueof"]["parameter_longname"])
    assert len(longnames) == len(set(longnames)), "parameter long names must be unique"
    assert PATCHER["openinpresentation"] == 1
    assert PATCHER["project"]["amxdtype"] == int.from_bytes(b"mmmm", "big")


def _links() -> set[tuple[str, str]]:
    def name(box_id: str) -> str:
        box = BOXES[box_id]
        return box.get("varname") or box.get("text") or box["maxclass"]

    cords = [line["patchline"] for line in PATCHER["lines"]]
    return {(name(c["source"][0]), name(c["destination"][0])) for c in cords}


def test_wiring_between_live_osc_and_the_javascript():
    links = _links()
    for link in [
        ("live.thisdevice", "init"),
        ("init", "js nudge.js"),
        ("js nudge.js", "udpsend 127.0.0.1 9000"),
        ("udpreceive 9001", "deferlow"),
        ("deferlow", "prepend osc"),
        ("prepend osc", "js nudge.js"),
        ("nudge_generate", "generate"),
        ("generate", "js nudge.js"),
        ("nudge_nudge", "nudge"),
        ("nudge", "js nudge.js"),
        ("nudge_panic", "panic"),
        ("nudge_play", "prepend play"),
        ("prepend play", "js nudge.js"),
        ("midiin", "midiout"),
    ]:
        assert link in links, f"missing patch cord {link}"
    for message in ("init", "generate", "nudge", "panic", "play", "osc"):
        assert re.search(rf"^function {message}\(", JS_SOURCE, re.M), f"nudge.js has no {message}() handler"


def test_pings_ask_for_replies_on_the_patchers_udpreceive_port():
    receivers = [b["text"] for b in BOXES.values() if b.get("text", "").startswith("udpreceive")]
    assert receivers == [f"udpreceive {DEVICE_REPLY_PORT}"]
    assert re.search(r'send\(\["/nudge/ping", id, REPLY_PORT\]\)', JS_SOURCE)
    assert "--reply-port" not in JS_SOURCE, "plain `nudge serve` is enough for the device"


def test_every_object_the_javascript_addresses_exists():
    scripts = sorted((M4L / "src").glob("*.js"))
    modules = {path.stem for path in scripts}  # require("nudge_reply") names a file, not an object
    names = set(re.findall(r'"(nudge_[a-z]+)"', "".join(p.read_text(encoding="utf-8") for p in scripts)))
    names = {n for n in names if n not in modules | {"nudge_cond"}} | {f"nudge_cond{i}" for i in range(1, 9)}
    assert "nudge_status" in names and "nudge_light" in names  # the face module's objects are scanned too
    assert names <= set(BY_VARNAME), sorted(names - set(BY_VARNAME))


def test_the_patcher_lists_every_script_for_max_to_find_and_freeze():
    scripts = build.script_names()
    assert scripts[0] == "nudge.js" and len(scripts) >= 5, scripts
    assert sorted(PATCHER["project"]["contents"]["code"]) == scripts
    assert sorted(d["name"] for d in PATCHER["dependency_cache"]) == scripts
    for key in ("dependency_cache", "project"):
        patcher = json.loads(build.PATCHER.read_text(encoding="utf-8"))
        if key == "dependency_cache":
            patcher["patcher"][key] = [d for d in patcher["patcher"][key] if d["name"] != "nudge_live.js"]
        else:
            del patcher["patcher"][key]["contents"]["code"]["nudge_live.js"]
        with pytest.raises(build.AmxdError, match=rf"{key}.* lists .*the scripts in src/ are"):
            build.build_amxd(json.dumps(patcher).encode())


def test_preview_drawing_shows_every_presentation_object(tmp_path: Path):
    pytest.importorskip("matplotlib")
    render = _load("m4l_render", M4L / "render_preview.py")
    drawn = render.render(PATCHER, tmp_path / "device.png")
    in_presentation = [b for b in BOXES.values() if b.get("presentation") == 1]
    assert sorted(b["id"] for b in drawn) == sorted(b["id"] for b in in_presentation)
    assert (tmp_path / "device.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ROOT / "docs" / "img" / "max-for-live-device.png").is_file()


# ---------------------------------------------------------------- the contract with the daemon


def notes_of(calls: list[dict]) -> list[list]:
    adds = [c for c in calls if c["name"] == "add_new_notes"]
    assert len(adds) == 1, calls
    return [[n["pitch"], n["start_time"], n["duration"], n["velocity"]] for n in adds[0]["args"][0]["notes"]]


def run_contract(link) -> None:
    device = Device()
    try:
        sent = device("init")["sent"]
        assert [a[0] for a in sent] == ["/nudge/ping"]
        pong = link.exchange(sent)
        assert [a[0] for a in pong] == ["/nudge/pong"]
        sent = device("osc", messages=pong)["sent"]
        assert [a[0] for a in sent] == ["/nudge/model/info"]
        answer = device("osc", messages=link.exchange(sent))
        ui = answer["ui"]
        assert ui["nudge_cond1"]["last"] == ["_parameter_shortname", "density"]
        assert ui["nudge_cond2"]["last"] == ["_parameter_shortname", "syncopation"]
        assert ui["nudge_cond3"]["hidden"] == 1
        assert ui["nudge_style"]["last"] == ["_parameter_range", "any", "funk", "rock"]
        assert answer["status"]["level"] == "info", answer["status"]

        # Generate: density 1 (an int on the wire, as Max sends it) gives enough notes for a split reply
        device(
            "ui",
            values={
                "nudge_bars": 4,
                "nudge_style": 1,
                "nudge_seedlock": 1,
                "nudge_seed": 11,
                "nudge_cond1": 1,
                "nudge_cond2": 0.5,
                "nudge_dest": 0,
            },
        )
        [request] = device("call", name="generate")["sent"]
        assert request[:2] == ["/nudge/generate", request[1]] and "density" in request
        reply = link.exchange([request])
        assert not [a for a in reply if a[0] == "/nudge/error"], reply
        parts = [a for a in reply if a[0] == "/nudge/notes"]
        assert len(parts) >= 2, "the reply should come in parts"
        sent_notes = [
            g
            for p in sorted(parts, key=lambda p: p[2])
            for g in (p[3:][i : i + 4] for i in range(0, len(p) - 3, 4))
        ]
        answer = device("osc", messages=list(reversed(reply)))  # end first, parts backwards, begin last
        assert [c["name"] for c in answer["calls"]][:1] == ["create_clip"]
        written = notes_of(answer["calls"])
        assert written == sent_notes
        begin = next(a for a in reply if a[0] == "/nudge/notes/begin")
        assert answer["calls"][0]["args"] == [begin[4]]
        assert any(c["name"] == "name" and c["args"] == [begin[5]] for c in answer["calls"])

        # Nudge with amount 0: the daemon accepts the JS-encoded clip and returns it unchanged
        device("select_last_clip")
        device("ui", values={"nudge_amount": 0})
        [request] = device("call", name="nudge")["sent"]
        assert request[0] == "/nudge/vary" and request[2] == 0
        reply = link.exchange([request])
        assert not [a for a in reply if a[0] == "/nudge/error"], reply
        answer = device("osc", messages=reply)
        varied = notes_of(answer["calls"])
        assert sorted((n[1], n[0]) for n in varied) == sorted((n[1], n[0]) for n in written)
        for a, b in zip(sorted(varied), sorted(written), strict=True):
            assert a[0] == b[0] and a[3] == b[3] and a[1] == pytest.approx(b[1], abs=1e-4)

        # an error from the daemon shows in the device
        reply = link.exchange([["/nudge/generate", 99, "style", "polka"]])
        assert reply[0][0] == "/nudge/error"
        status = device("osc", messages=reply)["status"]
        assert status["level"] == "error" and "polka" in status["text"]
    finally:
        device.close()


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    pytest.importorskip("onnx")
    from tests.support.tiny_onnx import write_tiny_model

    return write_tiny_model(tmp_path / "models" / "tiny.onnx")


@pytest.mark.integration
def test_contract_with_the_daemon_registry_and_dispatcher(tiny_model: Path):
    from companion.osc.dispatch import Daemon
    from companion.runtime.model import load_model

    run_contract(BytesLink(Daemon(load_model(tiny_model), seed=0)))


@pytest.mark.integration
def test_contract_with_nudge_serve_over_udp(tiny_model: Path):
    replies = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies.bind(("127.0.0.1", 0))
    replies.settimeout(10)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    command = [
        sys.executable,
        "-m",
        "companion.cli",
        "serve",
        "--model",
        str(tiny_model),
        "--port",
        str(port),
    ]  # plain `nudge serve`: no --reply-port, the device's pings say where replies go
    daemon = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_pong(port, replies, daemon)
        link = UdpLink(port, replies)
        run_contract(link)
        link.out.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing went back to the sending port
            link.out.recvfrom(65536)
        link.out.close()
    finally:
        daemon.terminate()
        output = daemon.communicate(timeout=10)[0]
        replies.close()
    assert daemon.returncode == 0, output  # SIGTERM: nudge serve ends cleanly
