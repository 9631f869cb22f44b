"""Build ``max_for_live/Nudge.amxd`` from its readable sources, byte for byte reproducibly.

    python max_for_live/build.py           # write Nudge.amxd and frozen/Nudge.amxd
    python max_for_live/build.py --check   # exit 1 when a committed device differs from its sources

A Max for Live device is a flat list of chunks, each a 4-byte ASCII tag, a little-endian uint32 payload size
and the payload (no padding); ``docs/max-for-live.md`` describes the layout:

    ampf  4 bytes  device type: ``mmmm`` MIDI effect (``aaaa`` audio effect, ``iiii`` instrument)
    meta  4 bytes  uint32 little-endian: 1 in an unfrozen device, 7 in a frozen one (as Max writes them)
    ptch  n bytes  unfrozen: the patcher JSON (UTF-8), NUL-terminated; frozen: an ``mx@c`` archive

``Nudge.amxd`` is unfrozen: Max finds ``src/nudge.js``, the modules it ``require``s and the launcher
(``src/*.js``) beside it. ``frozen/Nudge.amxd`` is the same device frozen into one file: its ``mx@c``
archive (``amxd_frozen.py``) holds the patcher and every script, as Max's *Freeze Device* writes them. The
patcher lists every script in its project and dependency cache; the build refuses one that misses one.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import amxd_frozen as frozen  # max_for_live/amxd_frozen.py, beside this script

HERE = Path(__file__).resolve().parent
PATCHER = HERE / "src" / "Nudge.maxpat.json"
SCRIPT = HERE / "src" / "nudge.js"
SOURCES = HERE / "src"
DEVICE = HERE / "Nudge.amxd"
FROZEN = HERE / "frozen" / "Nudge.amxd"
NODE_SCRIPTS = ("nudge_launcher.js",)  # run by [node.script] (Node for Max), not by Max's [js]
TOOL_SCRIPTS = ("nudge_tool.js", "nudge_miditool.js")  # the MIDI Tools' (build_tools.py), not this device's

DEVICE_TYPES = {"midi_effect": b"mmmm", "audio_effect": b"aaaa", "instrument": b"iiii"}
META_UNFROZEN = 1  # what Max writes: 1 in every unfrozen device we parsed, 7 in every frozen one
META_FROZEN = 7
CHUNK_ORDER = (b"ampf", b"meta", b"ptch")


class AmxdError(ValueError):
    """Bytes that are not an unfrozen .amxd as built here, or sources that cannot become one; says why."""


def chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload


def read_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split .amxd bytes into (tag, payload) pairs; raises ``AmxdError`` on a truncated or odd layout."""
    chunks, position = [], 0
    while position < len(data):
        if position + 8 > len(data):
            raise AmxdError(f"chunk header at byte {position} is truncated")
        tag = data[position : position + 4]
        (size,) = struct.unpack_from("<I", data, position + 4)
        if not tag.isalpha() and tag != b"mx@c":
            raise AmxdError(f"chunk tag at byte {position} is not ASCII letters: {tag!r}")
        end = position + 8 + size
        if end > len(data):
            name = tag.decode("latin-1")
            raise AmxdError(f"chunk {name} of {size} bytes runs past the end ({len(data)} bytes)")
        chunks.append((tag, data[position + 8 : end]))
        position = end
    return chunks


def patcher_from_amxd(data: bytes) -> dict:
    """The patcher dict of an unfrozen device built here; checks the chunk layout on the way."""
    chunks = read_chunks(data)
    tags = tuple(tag for tag, _ in chunks)
    if tags != CHUNK_ORDER:
        expected, got = [t.decode() for t in CHUNK_ORDER], [t.decode("latin-1") for t in tags]
        raise AmxdError(f"chunks must be {expected}, got {got}")
    device_type, meta, patch = (payload for _, payload in chunks)
    if device_type not in DEVICE_TYPES.values():
        raise AmxdError(f"ampf must be one of {sorted(DEVICE_TYPES.values())}, got {device_type!r}")
    if len(meta) != 4:
        raise AmxdError(f"meta must be 4 bytes, got {len(meta)}")
    if patch.startswith(b"mx@c"):
        raise AmxdError("ptch holds a frozen device (mx@c); read it with amxd_frozen.read_archive")
    (meta_value,) = struct.unpack("<I", meta)
    if meta_value != META_UNFROZEN:
        raise AmxdError(f"meta of an unfrozen device must be {META_UNFROZEN}, got {meta_value}")
    if not patch.endswith(b"\0"):
        raise AmxdError("ptch must be NUL-terminated")
    try:
        return json.loads(patch[:-1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AmxdError(f"ptch is not UTF-8 JSON: {error}") from None


def normalised_patcher(raw: bytes) -> bytes:
    """The patcher source with LF line endings (so a CRLF checkout builds the same bytes), checked."""
    text = raw.decode("utf-8").replace("\r\n", "\n")
    try:
        patcher = json.loads(text)
    except json.JSONDecodeError as error:
        raise AmxdError(f"{PATCHER.name} is not valid JSON: {error}") from None
    boxes = patcher.get("patcher", {}).get("boxes")
    if not isinstance(boxes, list):
        raise AmxdError(f"{PATCHER.name} has no patcher.boxes list")
    if not any(b["box"].get("text") == f"js {SCRIPT.name}" for b in boxes):
        raise AmxdError(f"{PATCHER.name} has no [js {SCRIPT.name}] box")
    check_script_list(patcher["patcher"], script_names())
    return text.encode("utf-8")


def script_names() -> list[str]:
    """The device's JavaScript files: ``nudge.js`` and the modules beside it (not the MIDI Tools'), sorted."""
    return sorted(path.name for path in SOURCES.glob("*.js") if path.name not in TOOL_SCRIPTS)


def check_script_list(patcher: dict, scripts: list[str]) -> None:
    """Every script, and only those, in the project's code and the dependency cache (what Max freezes)."""
    listed = {
        "project.contents.code": sorted(patcher.get("project", {}).get("contents", {}).get("code", {})),
        "dependency_cache": sorted(d.get("name", "") for d in patcher.get("dependency_cache", [])),
    }
    for where, names in listed.items():
        if names != scripts:
            raise AmxdError(f"{PATCHER.name}: {where} lists {names}; the scripts in src/ are {scripts}")


def build_amxd(patcher_raw: bytes, device_type: str = "midi_effect") -> bytes:
    if device_type not in DEVICE_TYPES:
        raise AmxdError(f"device_type must be one of {sorted(DEVICE_TYPES)}, got {device_type!r}")
    return (
        chunk(b"ampf", DEVICE_TYPES[device_type])
        + chunk(b"meta", struct.pack("<I", META_UNFROZEN))
        + chunk(b"ptch", normalised_patcher(patcher_raw) + b"\0")
    )


def build_from_sources() -> bytes:
    if not SCRIPT.is_file():
        raise AmxdError(f"{SCRIPT} is missing")
    return build_amxd(PATCHER.read_bytes())


def build_frozen_from_sources() -> bytes:
    """The device frozen into one file: the unfrozen patcher chunk's bytes and every script in ``mx@c``."""
    unfrozen = build_from_sources()
    patch = read_chunks(unfrozen)[2][1]
    patcher = json.loads(patch[:-1].decode("utf-8"))["patcher"]
    stamp = int(patcher["project"]["modificationdate"])  # reproducible: the patcher's own date
    files = [frozen.Member(DEVICE.name, "JSON", patch, frozen.FLAG_DEVICE, stamp)]
    for name in script_names():
        flag = frozen.FLAG_NODE_SCRIPT if name in NODE_SCRIPTS else frozen.FLAG_SCRIPT
        files.append(frozen.Member(name, "TEXT", (SOURCES / name).read_bytes(), flag, stamp))
    return (
        chunk(b"ampf", unfrozen[8:12])
        + chunk(b"meta", struct.pack("<I", META_FROZEN))
        + chunk(b"ptch", frozen.write_archive(files))
    )


def write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed device; write nothing"
    )
    args = parser.parse_args(argv)
    try:
        data = build_from_sources()
        frozen_data = build_frozen_from_sources()
    except AmxdError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    outputs = ((DEVICE, data), (FROZEN, frozen_data))
    if args.check:
        stale = [p for p, d in outputs if (p.read_bytes() if p.exists() else b"") != d]
        for path in stale:
            name = path.relative_to(HERE)
            print(f"{name} is out of date: run python max_for_live/build.py", file=sys.stderr)
        if stale:
            return 1
        print(f"{DEVICE.name} and frozen/{FROZEN.name} match their sources")
        return 0
    for path, payload in outputs:
        path.parent.mkdir(exist_ok=True)
        write_atomically(path, payload)
        print(f"wrote {path} ({len(payload)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
