"""The ``mx@c`` archive in the ``ptch`` chunk of a frozen Max for Live device: the device's patcher and every
file it needs, in one file. Read from devices frozen by Max 8 and 9 (``docs/max-for-live.md``); Ableton's own
parser (Ableton/maxdevtools) only detects the marker. All sizes and offsets are big-endian uint32:

    "mx@c"  16 (the header's size)  0  offset of "dlst" (from the start of the archive)
    the files' bytes, one after another from offset 16: the device's patcher chunk first (the unfrozen
        ``ptch`` payload, NUL included), then each dependency
    "dlst" size (of the whole list), then per file "dire" size (of the entry), then its fields, each a tag,
        a size (of the field) and a value: type (4 ASCII: JSON, TEXT), fnam (NUL-terminated, padded to 4),
        sz32 (bytes), of32 (offset), vers (0), flag, mdat (seconds since 1904, Mac time)

``flag`` is 17 for the device's patcher; a script that Max's [js] loads has 0 and one that [node.script]
runs has 8, in the devices we read (their meaning is not documented).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MAGIC = b"mx@c"
HEADER_BYTES = 16
FLAG_DEVICE = 17
FLAG_SCRIPT = 0
FLAG_NODE_SCRIPT = 8


class Member(NamedTuple):
    """One file in the archive."""

    name: str
    kind: str  # 4 ASCII letters: "JSON" for the patcher, "TEXT" for a script
    data: bytes
    flag: int
    mac_time: int  # seconds since 1904-01-01


def _field(tag: bytes, value: bytes) -> bytes:
    return tag + struct.pack(">I", 8 + len(value)) + value


def _name(name: str) -> bytes:
    raw = name.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def write_archive(members: list[Member]) -> bytes:
    """The ``mx@c`` archive of these files, in this order (the device's patcher first)."""
    body, entries, offset = b"", b"", HEADER_BYTES
    for m in members:
        if len(m.kind) != 4:
            raise ValueError(f"kind must be 4 ASCII letters, got {m.kind!r}")
        fields = (
            _field(b"type", m.kind.encode("ascii"))
            + _field(b"fnam", _name(m.name))
            + _field(b"sz32", struct.pack(">I", len(m.data)))
            + _field(b"of32", struct.pack(">I", offset))
            + _field(b"vers", struct.pack(">I", 0))
            + _field(b"flag", struct.pack(">I", m.flag))
            + _field(b"mdat", struct.pack(">I", m.mac_time))
        )
        entries += _field(b"dire", fields)
        body += m.data
        offset += len(m.data)
    header = MAGIC + struct.pack(">III", HEADER_BYTES, 0, HEADER_BYTES + len(body))
    return header + body + _field(b"dlst", entries)


def _fields(data: bytes, start: int, end: int, where: str) -> list[tuple[bytes, bytes]]:
    out, position = [], start
    while position < end:
        if position + 8 > end:
            raise ValueError(f"{where}: a field header at byte {position} is truncated")
        tag = data[position : position + 4]
        (size,) = struct.unpack_from(">I", data, position + 4)
        if size < 8 or position + size > end:
            allowed = f"8..{end - position}"
            raise ValueError(f"{where}: field {tag!r} at byte {position} has size {size} ({allowed})")
        out.append((tag, data[position + 8 : position + size]))
        position += size
    return out


def read_archive(data: bytes) -> list[Member]:
    """The files of an ``mx@c`` archive; raises ``ValueError`` naming what is malformed."""
    if len(data) < HEADER_BYTES or data[:4] != MAGIC:
        raise ValueError("not an mx@c archive")
    header_bytes, _, list_at = struct.unpack_from(">III", data, 4)
    if header_bytes != HEADER_BYTES or not HEADER_BYTES <= list_at <= len(data) - 8:
        raise ValueError(f"mx@c header: size {header_bytes}, dlst at {list_at} of {len(data)} bytes")
    [(tag, listing)] = _fields(data, list_at, len(data), "dlst") or [(b"", b"")]
    if tag != b"dlst":
        raise ValueError(f"expected dlst at byte {list_at}, got {tag!r}")
    members = []
    for tag, entry in _fields(listing, 0, len(listing), "dlst"):
        if tag != b"dire":
            raise ValueError(f"expected dire in dlst, got {tag!r}")
        f = dict(_fields(entry, 0, len(entry), "dire"))
        number = {k: struct.unpack(">I", f[k])[0] for k in (b"sz32", b"of32", b"flag", b"mdat")}
        start, size = number[b"of32"], number[b"sz32"]
        if not HEADER_BYTES <= start <= start + size <= list_at:
            raise ValueError(f"a file of {size} bytes at {start} lies outside the data (16..{list_at})")
        name = f[b"fnam"].split(b"\0", 1)[0].decode("utf-8")
        members.append(
            Member(
                name, f[b"type"].decode("ascii"), data[start : start + size], number[b"flag"], number[b"mdat"]
            )
        )
    return members
