"""Build Nudge's Live 12 MIDI Tools (``NudgeGenerator.amxd``, ``NudgeTransform.amxd`` and the tools
``NudgeGroove``, ``NudgeDrumify``, ``NudgeContinue``, ``NudgeFill``) from this file.

    python max_for_live/build_tools.py           # write every tool
    python max_for_live/build_tools.py --check   # exit 1 when a committed device differs from this source

A MIDI Tool is a Max for Live device of its own type (Live 12, Max 8.6+), in the clip view's Generate and
Transform panels. Its ``ampf`` chunk and its patcher's ``project.amxdtype`` say which (sources in
``docs/max-for-live.md``, *MIDI Tools*): ``nagg`` (0x6E616767) a MIDI Generator, ``natt`` (0x6E617474) a MIDI
Transformation; the rest of the file is laid out as ``build.py``'s devices (``ampf``, ``meta``, ``ptch``
chunks, little-endian sizes, the patcher JSON NUL-terminated), with ``meta`` 0 as in the unfrozen MIDI Tools
read. The patchers are built here, not kept as JSON: all share one wiring and differ in their dials and the
js's argument. Their script is ``src/nudge_tool.js``; it loads ``nudge_reply``, ``nudge_miditool``,
``nudge_osc`` and ``nudge_drum_rack`` with Max's require, from beside the device. Each instance picks its own
reply port when it loads ([udpreceive 0], then ``port n`` from the js).
The Seed is a Float parameter shown as an integer: Live's Int parameters hold 0..255 only.
``frozen/`` gets each tool frozen into one file (``amxd_frozen``: the patcher and the five scripts; ``meta``
7 as in h1data's frozen Retrigger.amxd), for a User Library folder where Max's [js] does not search.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import amxd_frozen as frozen  # noqa: E402  (max_for_live/amxd_frozen.py, beside this script)

SCRIPTS = ("nudge_tool.js", "nudge_miditool.js", "nudge_reply.js", "nudge_osc.js", "nudge_drum_rack.js")
DAEMON_PORT = 9000

# name, file, device type, the js's argument, its dials (long, short name, lo, hi, initial)
TOOLS: tuple[tuple[str, str, bytes, str, tuple[tuple[str, str, float, float, float], ...]], ...] = (
    (
        "Nudge Generator",
        "NudgeGenerator.amxd",
        b"nagg",
        "generator",
        (("Density", "density", 0.0, 1.0, 0.5), ("Syncopation", "syncopation", 0.0, 1.0, 0.3)),
    ),
    (
        "Nudge Transform",
        "NudgeTransform.amxd",
        b"natt",
        "transformation",
        (("Amount", "amount", 0.0, 1.0, 0.3),),
    ),
    # issue 22's tools as Transformations of the selected notes (docs/midi-tools.md)
    ("Nudge Groove", "NudgeGroove.amxd", b"natt", "groove", (("Amount", "amount", 0.0, 1.0, 1.0),)),
    (
        "Nudge Drumify",
        "NudgeDrumify.amxd",
        b"natt",
        "drumify",
        (("Density", "density", 0.0, 1.0, 0.5), ("Syncopation", "syncopation", 0.0, 1.0, 0.3)),
    ),
    ("Nudge Continue", "NudgeContinue.amxd", b"natt", "continue", (("Bars", "bars", 1.0, 7.0, 2.0),)),
    ("Nudge Fill", "NudgeFill.amxd", b"natt", "fill", ()),
)
INT_DIALS = {"bars"}  # Int parameters (1..7: within Live's 0..255); the others are Float
META_UNFROZEN = 0  # as in h1data's unfrozen Separate.amxd and Live's MIDI Generator template
META_FROZEN = 7
STAMP = 3_790_000_000  # the frozen members' date (seconds since 1904): fixed, so the build is reproducible


def _box(box_id: str, maxclass: str, rect: list[float], **attrs: object) -> dict:
    return {"box": {"id": box_id, "maxclass": maxclass, "patching_rect": rect, **attrs}}


def _obj(box_id: str, text: str, x: float, y: float, inlets: int, outlets: int) -> dict:
    width = 8.0 + 6.5 * len(text)
    return _box(
        box_id, "newobj", [x, y, width, 22.0], text=text, numinlets=inlets, numoutlets=outlets,
        outlettype=[""] * outlets,
    )  # fmt: skip


def _dial(box_id: str, name: str, short: str, lo: float, hi: float, initial: float, x: float) -> dict:
    return _box(
        box_id, "live.dial", [20.0 + x, 20.0, 44.0, 48.0], varname=f"tool_{short}", numinlets=1, numoutlets=2,
        outlettype=["", "float"], parameter_enable=1, showname=1, shownumber=1, presentation=1,
        presentation_rect=[4.0 + x, 4.0, 44.0, 48.0], annotation_name=name,
        saved_attribute_attributes={"valueof": {
            "parameter_longname": name, "parameter_shortname": short,
            "parameter_type": 1 if short in INT_DIALS else 0,
            "parameter_mmin": lo, "parameter_mmax": hi, "parameter_initial_enable": 1,
            "parameter_initial": [initial], "parameter_unitstyle": 0 if short in INT_DIALS else 1,
        }},
    )  # fmt: skip


def patcher(name: str, device_type: bytes, kind: str, dials: tuple) -> dict:
    """The tool's patcher: [live.miditool.in] -> [js nudge_tool.js] -> [live.miditool.out], UDP both ways."""
    boxes = [
        _obj("obj-in", "live.miditool.in", 20.0, 120.0, 1, 3),
        _obj("obj-js", f"js nudge_tool.js {kind}", 20.0, 200.0, 2, 5),
        _obj("obj-out", "live.miditool.out", 20.0, 280.0, 1, 0),
        _obj("obj-send", f"udpsend 127.0.0.1 {DAEMON_PORT}", 160.0, 280.0, 1, 0),
        _obj("obj-receive", "udpreceive 0", 300.0, 120.0, 1, 1),
        _obj("obj-osc", "prepend osc", 300.0, 160.0, 1, 1),
        _obj("obj-load", "loadbang", 420.0, 60.0, 1, 1),
        _obj("obj-metro", "metro 1000", 420.0, 100.0, 2, 1),
        _box("obj-expire", "message", [420.0, 140.0, 50.0, 22.0], text="expire", numinlets=2, numoutlets=1,
             outlettype=[""]),
        _box("obj-status", "comment", [20.0, 340.0, 300.0, 30.0], text="Nudge: select a time range, Apply",
             numinlets=1, numoutlets=0, linecount=2, presentation=1, fontsize=9.0, varname="tool_status",
             presentation_rect=[4.0, 56.0, 144.0, 40.0]),
        _obj("obj-set", "prepend set", 160.0, 320.0, 1, 1),
        _box("obj-seed", "live.numbox", [20.0 + 60.0 * len(dials), 20.0, 44.0, 15.0], varname="tool_seed",
             numinlets=1, numoutlets=2, outlettype=["", "float"], parameter_enable=1, presentation=1,
             presentation_rect=[4.0 + 48.0 * len(dials), 20.0, 44.0, 15.0], annotation_name="Seed",
             saved_attribute_attributes={"valueof": {
                 "parameter_longname": "Seed", "parameter_shortname": "Seed", "parameter_type": 0,
                 "parameter_mmin": 0.0, "parameter_mmax": 999999.0, "parameter_initial_enable": 1,
                 "parameter_initial": [1], "parameter_unitstyle": 0}}),
        _obj("obj-seed-set", "prepend setting seed", 20.0 + 60.0 * len(dials), 80.0, 1, 1),
    ]  # fmt: skip
    lines = [
        (("obj-in", 0), ("obj-js", 0)),
        (("obj-in", 1), ("obj-js", 1)),
        (("obj-js", 0), ("obj-out", 0)),
        (("obj-js", 1), ("obj-send", 0)),
        (("obj-js", 2), ("obj-in", 0)),
        (("obj-js", 3), ("obj-set", 0)),
        (("obj-set", 0), ("obj-status", 0)),
        (("obj-receive", 0), ("obj-osc", 0)),
        (("obj-osc", 0), ("obj-js", 0)),
        (("obj-load", 0), ("obj-metro", 0)),
        (("obj-load", 0), ("obj-js", 0)),
        (("obj-js", 4), ("obj-receive", 0)),
        (("obj-metro", 0), ("obj-expire", 0)),
        (("obj-expire", 0), ("obj-js", 0)),
        (("obj-seed", 0), ("obj-seed-set", 0)),
        (("obj-seed-set", 0), ("obj-js", 0)),
    ]
    parameters = {"obj-seed": ["Seed", "Seed", 0]}
    for i, (long_name, short, lo, hi, initial) in enumerate(dials):
        dial_id, set_id = f"obj-dial-{short}", f"obj-set-{short}"
        boxes.append(_dial(dial_id, long_name, short, lo, hi, initial, 48.0 * i))
        boxes.append(_obj(set_id, f"prepend setting {short}", 20.0 + 60.0 * i, 80.0, 1, 1))
        lines += [((dial_id, 0), (set_id, 0)), ((set_id, 0), ("obj-js", 0))]
        parameters[dial_id] = [long_name, short, 0]
    code = {script: {"kind": "javascript", "local": 1} for script in SCRIPTS}
    return {
        "patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 6, "revision": 2, "architecture": "x64", "modernui": 1},
            "classnamespace": "box",
            "rect": [80.0, 80.0, 640.0, 420.0],
            "openrect": [0.0, 0.0, 152.0, 147.0],  # the Generate/Transform panel's size
            "openinpresentation": 1,
            "default_fontsize": 10.0,
            "default_fontface": 0,
            "default_fontname": "Arial Bold",
            "devicewidth": 152.0,
            "description": f"{name}: Nudge's drum patterns in Live 12's MIDI Tools (needs nudge serve)",
            "parameters": {**parameters, "inherited_shortname": 1},
            "dependency_cache": [{"name": s, "type": "TEXT", "implicit": 1} for s in SCRIPTS],
            "minimum_live_version": "12.0",
            "minimum_max_version": "8.6",
            "project": {
                "version": 1,
                "contents": {"patchers": {}, "code": code},
                "amxdtype": int.from_bytes(device_type, "big"),
                "readonly": 0,
                "devpathtype": 0,
                "devpath": ".",
            },
            "boxes": boxes,
            "lines": [{"patchline": {"source": list(a), "destination": list(b)}} for a, b in lines],
        }
    }


def device_bytes(device_type: bytes, patch: dict) -> bytes:
    body = json.dumps(patch, indent="\t", ensure_ascii=False).encode("utf-8") + b"\0"
    chunks = ((b"ampf", device_type), (b"meta", struct.pack("<I", META_UNFROZEN)), (b"ptch", body))
    return b"".join(tag + struct.pack("<I", len(payload)) + payload for tag, payload in chunks)


def frozen_bytes(file: str, unfrozen: bytes) -> bytes:
    patch = unfrozen[
        32:
    ]  # the ptch payload (JSON + NUL) after the ampf and meta chunks' 24 bytes and its header
    members = [frozen.Member(file, "JSON", patch, frozen.FLAG_DEVICE, STAMP)]
    for script in SCRIPTS:
        data = (HERE / "src" / script).read_bytes()
        members.append(frozen.Member(script, "TEXT", data, frozen.FLAG_SCRIPT, STAMP))
    chunks = ((b"ampf", unfrozen[8:12]), (b"meta", struct.pack("<I", META_FROZEN)))
    chunks += ((b"ptch", frozen.write_archive(members)),)
    return b"".join(tag + struct.pack("<I", len(payload)) + payload for tag, payload in chunks)


def built() -> dict[Path, bytes]:
    out = {}
    for name, file, device_type, kind, dials in TOOLS:
        unfrozen = device_bytes(device_type, patcher(name, device_type, kind, dials))
        out[HERE / file] = unfrozen
        out[HERE / "frozen" / file] = frozen_bytes(file, unfrozen)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed device is stale")
    args = parser.parse_args(argv)
    missing = [s for s in SCRIPTS if not (HERE / "src" / s).is_file()]
    if missing:
        print(f"build_tools: missing scripts in src/: {missing}", file=sys.stderr)
        return 2
    stale = []
    for path, data in built().items():
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path.name)
            continue
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(data)} bytes)")
    if stale:
        print(f"build_tools: stale, run python max_for_live/build_tools.py: {stale}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
