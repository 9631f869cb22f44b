"""max_for_live/: Nudge.amxd is built from its sources with a valid chunk layout, the patcher holds the live.*
controls wired to the JavaScript, and the device's JavaScript and the daemon agree on the wire format
(the contract tests: daemon replies -> JS decoder, JS requests -> daemon registry, over real encodings)."""

from __future__ import annotations

import contextlib
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
    JS_SOURCE,
    BytesLink,
    Device,
    UdpLink,
    max_datagram,
    wait_for_pong,
)

ROOT = Path(__file__).resolve().parents[2]
M4L = ROOT / "max_for_live"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("m4l_build", M4L / "build.py")
frozen = build.frozen
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
    assert struct.unpack("<I", chunks[1][1]) == (1,), "Max writes meta 1 in an unfrozen device, 7 when frozen"
    assert chunks[2][1].endswith(b"}\n\x00")
    assert build.patcher_from_amxd(data) == json.loads(build.PATCHER.read_text(encoding="utf-8"))


def test_frozen_device_is_one_file_with_the_patcher_and_every_script():
    data = build.FROZEN.read_bytes()
    assert data == build.build_frozen_from_sources(), "run: python max_for_live/build.py"
    chunks = build.read_chunks(data)
    assert [tag for tag, _ in chunks] == [b"ampf", b"meta", b"ptch"]
    assert chunks[0][1] == b"mmmm" and struct.unpack("<I", chunks[1][1]) == (build.META_FROZEN,) == (7,)
    members = frozen.read_archive(chunks[2][1])
    unfrozen_patch = build.read_chunks(build.DEVICE.read_bytes())[2][1]
    assert members[0] == frozen.Member("Nudge.amxd", "JSON", unfrozen_patch, 17, members[0].mac_time)
    scripts = {m.name: m for m in members[1:]}
    assert sorted(scripts) == build.script_names()
    for name, member in scripts.items():
        assert member.data == (M4L / "src" / name).read_bytes(), name
        assert (member.kind, member.flag) == ("TEXT", 8 if name == "nudge_launcher.js" else 0), name
    with pytest.raises(build.AmxdError, match="frozen"):
        build.patcher_from_amxd(data)


def test_mx_at_c_layout_byte_for_byte():
    """The layout read from devices Max froze (docs/max-for-live.md), written out by hand for two files."""
    members = [frozen.Member("D.amxd", "JSON", b"{}\0", 17, 5), frozen.Member("a.js", "TEXT", b"x", 8, 6)]

    def field(tag: bytes, value: bytes) -> bytes:
        return tag + struct.pack(">I", 8 + len(value)) + value

    def entry(kind: bytes, name: bytes, size: int, at: int, flag: int, when: int) -> bytes:
        numbers = [(b"sz32", size), (b"of32", at), (b"vers", 0), (b"flag", flag), (b"mdat", when)]
        body = field(b"type", kind) + field(b"fnam", name)
        return field(b"dire", body + b"".join(field(t, struct.pack(">I", v)) for t, v in numbers))

    listing = entry(b"JSON", b"D.amxd\0\0", 3, 16, 17, 5) + entry(b"TEXT", b"a.js\0\0\0\0", 1, 19, 8, 6)
    expected = b"mx@c" + struct.pack(">III", 16, 0, 20) + b"{}\0" + b"x" + field(b"dlst", listing)
    assert frozen.write_archive(members) == expected
    assert frozen.read_archive(expected) == members
    for broken, message in [
        (expected[:-3], "field"),
        (b"mx@x" + expected[4:], "not an mx@c"),
        (expected[:12] + struct.pack(">I", 999) + expected[16:], "header"),
    ]:
        with pytest.raises(ValueError, match=message):
            frozen.read_archive(broken)


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
        (lambda d: d[:20] + b"\x07\0\0\0" + d[24:], "meta of an unfrozen device must be 1"),
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
            assert box.get("parameter_enable") == 1, f"{varname} is not a Live parameter"
            longnames.append(box["saved_attribute_attributes"]["valueof"]["parameter_longname"])
    assert len(longnames) == len(set(longnames)), "parameter long names must be unique"
    assert PATCHER["openinpresentation"] == 1
    assert PATCHER["project"]["amxdtype"] == int.from_bytes(b"mmmm", "big")


def _valueof(varname: str) -> dict:
    return BY_VARNAME[varname]["saved_attribute_attributes"]["valueof"]


def test_parameters_as_live_wants_them():
    """parameter_type 0 Float, 1 Int (Live holds 0..255 only), 2 Enum, 3 Blob; parameter_invisible 0 automated
    and stored, 1 stored only, 2 hidden (the names Max writes, as in devices saved by Max)."""
    seed = _valueof("nudge_seed")
    assert (seed["parameter_type"], seed["parameter_unitstyle"]) == (0, 0), "a Float shown as an integer"
    assert seed["parameter_mmax"] > 255
    for button in ("nudge_generate", "nudge_nudge", "nudge_panic", "nudge_play"):
        assert _valueof(button)["parameter_invisible"] == 2, f"{button} must be hidden from automation"
        assert "parameter_initial" not in _valueof(button), f"{button} sends nothing when a set opens"
    style = _valueof("nudge_style")
    assert style["parameter_invisible"] == 1, "stored only: the index means another style with another model"
    for name in ("nudge_bars", "nudge_amount", "nudge_dest", "nudge_seedlock", "nudge_seed", "nudge_cond1"):
        assert _valueof(name).get("parameter_invisible", 0) == 0, f"{name} stays automatable"
    [js] = [b for b in BOXES.values() if b.get("text") == "js nudge.js"]
    assert js["saved_object_attributes"]["parameter_enable"] == 1
    assert js["saved_attribute_attributes"]["valueof"]["parameter_type"] == 3, "the style by name: a Blob"
    assert js["saved_attribute_attributes"]["valueof"]["parameter_invisible"] == 1
    listed = {k: v for k, v in PATCHER["parameters"].items() if k.startswith("obj")}
    for box_id, (longname, shortname, _) in listed.items():
        valueof = BOXES[box_id]["saved_attribute_attributes"]["valueof"]
        names = (valueof["parameter_longname"], valueof["parameter_shortname"])
        assert names == (longname, shortname), box_id
    assert int.from_bytes(b"mmmm", "big") == PATCHER["project"]["amxdtype"]


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
        ("js nudge.js", "udpreceive 0"),
        ("js nudge.js", "node.script nudge_launcher.js @autostart 1 @watch 0"),
        ("node.script nudge_launcher.js @autostart 1 @watch 0", "js nudge.js"),
        ("nudge_style", "prepend style"),
        ("prepend style", "js nudge.js"),
        ("udpreceive 0", "deferlow"),
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
    for message in ("init", "generate", "nudge", "panic", "play", "osc", "style", "replyport", "daemon"):
        assert re.search(rf"^function {message}\(", JS_SOURCE, re.M), f"nudge.js has no {message}() handler"


def test_no_fixed_reply_port_each_instance_pings_with_its_own():
    receivers = [b["text"] for b in BOXES.values() if b.get("text", "").startswith("udpreceive")]
    assert receivers == ["udpreceive 0"], "no fixed port: a second instance could not bind it"
    link_source = (M4L / "src" / "nudge_link.js").read_text(encoding="utf-8")
    assert re.search(r'env\.osc\(\["/nudge/ping", id, s\.replyPort\]\)', link_source)
    assert 'env.receive(["port", port])' in link_source
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


def run_contract(link, reply_port: int = 50123) -> None:
    device = Device()
    try:
        answer = device("init", port=reply_port)
        assert answer["ports"] == [["port", reply_port]]
        sent = answer["sent"]
        assert [a[0] for a in sent] == ["/nudge/ping"]
        assert sent[0][2] == reply_port
        pong = link.exchange(sent)
        assert [a[0] for a in pong] == ["/nudge/pong"]
        sent = device("osc", messages=pong)["sent"]
        assert [a[0] for a in sent] == ["/nudge/model/info"]
        answer = device("osc", messages=link.exchange(sent))
        ui = answer["ui"]
        assert ui["nudge_cond1"]["attrs"]["parameter_longname"] == "Density"
        assert ui["nudge_cond2"]["attrs"]["parameter_shortname"] == "syncopation"
        assert ui["nudge_cond3"]["hidden"] == 1
        assert ui["nudge_cond3"]["attrs"]["parameter_invisible"] == 2
        assert ui["nudge_style"]["attrs"]["parameter_enum"] == ["any", "funk", "rock"]
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
        seed = request[request.index("seed") + 1]  # the clip is named with the seed and the sliders
        assert any(c["name"] == "name" and c["args"][0].endswith(f" s{seed}") for c in answer["calls"])

        # Nudge with amount 0: the daemon accepts the JS-encoded clip and returns it unchanged
        device("select_last_clip")
        device("ui", values={"nudge_amount": 0})
        requests = device("call", name="nudge")["sent"]
        request = requests[-1]
        assert request[0] == "/nudge/vary" and request[2] == 0
        parts = [r for r in requests if r[0] == "/nudge/vary/part"]
        assert len(parts) >= 2 and request[-4:-2] == ["parts", len(parts)], "a dense clip goes in parts"
        assert all(len(max_datagram(r)) <= 8192 for r in requests)
        reply = link.exchange(requests)
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


@contextlib.contextmanager
def nudge_serve(model: Path):
    """Plain `nudge serve` (no --reply-port: each device's pings say where its replies go) on a free port."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    command = [sys.executable, "-m", "companion.cli", "serve", "--model", str(model), "--port", str(port)]
    daemon = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield port, daemon
    finally:
        daemon.terminate()
        output = daemon.communicate(timeout=10)[0]
    assert daemon.returncode == 0, output  # SIGTERM: nudge serve ends cleanly


def _replies_socket() -> socket.socket:
    """A device's [udpreceive], on a free port as its launcher finds one."""
    replies = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies.bind(("127.0.0.1", 0))
    replies.settimeout(10)
    return replies


@pytest.mark.integration
def test_contract_with_nudge_serve_over_udp(tiny_model: Path):
    replies = _replies_socket()
    with nudge_serve(tiny_model) as (port, daemon):
        wait_for_pong(port, replies, daemon)
        link = UdpLink(port, replies)
        run_contract(link, link.reply_port)
        link.out.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing went back to the sending port
            link.out.recvfrom(65536)
        link.out.close()
    replies.close()


@pytest.mark.integration
def test_two_device_instances_against_one_nudge_serve_at_once(tiny_model: Path):
    """Two Nudge devices in one set (a duplicated track): each its own reply port and request ids; requests
    interleave on the daemon, and each device hears only its own replies and writes its own clip."""
    sockets = [_replies_socket(), _replies_socket()]
    with nudge_serve(tiny_model) as (port, daemon):
        wait_for_pong(port, sockets[0], daemon)
        links = [UdpLink(port, r) for r in sockets]
        devices = [Device(), Device()]
        try:
            pings = [d("init", port=link.reply_port)["sent"] for d, link in zip(devices, links, strict=True)]
            assert pings[0][0][2] != pings[1][0][2] and pings[0][0][1] != pings[1][0][1]
            for link, sent in zip(links, pings, strict=True):
                link.send(sent)  # both pings out before either is answered
            pongs = [link.collect(sent) for link, sent in zip(links, pings, strict=True)]
            infos = [d("osc", messages=p)["sent"] for d, p in zip(devices, pongs, strict=True)]
            for d, link, sent in zip(devices, links, infos, strict=True):
                d("osc", messages=link.exchange(sent))
            requests = []
            for i, d in enumerate(devices):
                values = {"nudge_seedlock": 1, "nudge_seed": 100 + i, "nudge_cond1": 1, "nudge_bars": 2}
                d("ui", values=values)
                requests.append(d("call", name="generate")["sent"])
            assert requests[0][0][1] != requests[1][0][1], "each instance numbers its own requests"
            for link, sent in zip(links, requests, strict=True):
                link.send(sent)  # interleaved on the daemon
            for d, link, sent in zip(devices, links, requests, strict=True):
                reply = link.collect(sent)  # fails on a reply with the other device's id
                assert {a[1] for a in reply} == {sent[0][1]}
                answer = d("osc", messages=reply)
                assert [c["name"] for c in answer["calls"]][:1] == ["create_clip"]
                assert "Wrote" in answer["status"]["text"], answer["status"]
        finally:
            for d in devices:
                d.close()
    for r in sockets:
        r.close()
