"""Reply datagrams of the OSC API (shapes in ``companion.osc.api.REPLIES``), built without per-argument
overhead: a note reply's groups are one big-endian numpy record array, sliced into parts and appended to a
precomputed message header.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.core.osc_codec import OscError, decode_message, encode_message, encode_string
from companion.core.pattern import Pattern
from companion.osc.api import MAX_DATAGRAM_BYTES, NOTES_PER_PART

# one note group on the wire: pitch:i start_beats:f duration_beats:f velocity:i (big-endian, 16 bytes)
WIRE_NOTE_DTYPE = np.dtype([("pitch", ">i4"), ("start", ">f4"), ("duration", ">f4"), ("velocity", ">i4")])
_NOTES_ADDRESS = encode_string("/nudge/notes")
_HEADERS: dict[int, bytes] = {}  # notes per part -> address + type tags
_ID_PART = struct.Struct(">ii")
_FIELDS = (
    ("pitch", "pitch"),
    ("start", "start_beats"),
    ("duration", "duration_beats"),
    ("velocity", "velocity"),
)


@dataclass
class SearchResult:
    """What a search (``companion.osc.searches``) or a tool (``companion.osc.tool_searches``) answers, in
    whatever process it ran: the reply datagrams, and the pattern live MIDI plays with ``pitches``."""

    replies: list[bytes]
    pattern: Pattern | None = None
    pitches: tuple[int, ...] = ()


def notes_to_wire(notes: np.ndarray) -> np.ndarray:
    """Notes [M] of ``companion.core.notes.NOTE_DTYPE`` -> their note groups, ``WIRE_NOTE_DTYPE`` [M]."""
    wire = np.empty(len(notes), dtype=WIRE_NOTE_DTYPE)
    for wire_name, name in _FIELDS:
        wire[wire_name] = notes[name]
    return wire


def _header(count: int) -> bytes:
    header = _HEADERS.get(count)
    if header is None:
        header = _HEADERS[count] = _NOTES_ADDRESS + encode_string(",ii" + "iffi" * count)
    return header


def notes_reply(request_id: int, notes: np.ndarray, length_beats: float, clip_name: str) -> list[bytes]:
    """``/nudge/notes/begin``, the ``/nudge/notes`` parts, ``/nudge/notes/end`` (see the registry), for
    ``notes`` [M] of ``NOTE_DTYPE`` in the order they are to be sent."""
    n_notes = len(notes)
    n_parts = max(1, -(-n_notes // NOTES_PER_PART))
    raw = notes_to_wire(notes).tobytes()
    datagrams = [
        encode_message(
            "/nudge/notes/begin", "iiifs", (request_id, n_parts, n_notes, float(length_beats), clip_name)
        )
    ]
    for part in range(n_parts):
        lo = part * NOTES_PER_PART
        count = min(NOTES_PER_PART, n_notes - lo)
        body = raw[lo * WIRE_NOTE_DTYPE.itemsize : (lo + count) * WIRE_NOTE_DTYPE.itemsize]
        datagram = _header(count) + _ID_PART.pack(request_id, part) + body
        if len(datagram) > MAX_DATAGRAM_BYTES:  # cannot happen with the registry's constants; checked anyway
            raise RuntimeError(f"note part of {len(datagram)} bytes exceeds {MAX_DATAGRAM_BYTES}")
        datagrams.append(datagram)
    datagrams.append(encode_message("/nudge/notes/end", "ii", (request_id, n_parts)))
    return datagrams


MAX_REASON_BYTES = MAX_DATAGRAM_BYTES - 64  # the address, tags and id take 28 bytes


def error_reply(request_id: int, reason: str) -> bytes:
    """``/nudge/error id reason``; a long reason is cut (at a character, with "...") to fit one datagram."""
    raw = reason.replace("\0", "\\0").encode("utf-8")  # a NUL would end the OSC string early
    if len(raw) > MAX_REASON_BYTES:
        reason = raw[: MAX_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."
    else:
        reason = raw.decode("utf-8")
    return encode_message("/nudge/error", "is", (request_id, reason))


def ok_reply(request_id: int) -> bytes:
    return encode_message("/nudge/ok", "i", (request_id,))


def cancelled_reply(request_id: int, dropped_ids: Sequence[int]) -> bytes:
    """``/nudge/cancelled id dropped_id...``: the requests a ``/nudge/cancel`` dropped."""
    return encode_message("/nudge/cancelled", "i" * (1 + len(dropped_ids)), (request_id, *dropped_ids))


def reply_summary(replies: list[bytes]) -> str:
    """What a request was answered, in a few words, for the log: ``42 notes``, ``/nudge/error REASON``."""
    if not replies:
        return "no reply"
    try:
        first = decode_message(replies[0])
    except OscError:
        return f"{len(replies)} datagrams"
    if first.address == "/nudge/notes/begin":
        return f"{first.args[2]} notes ({len(replies)} datagrams)"
    if first.address == "/nudge/error":
        return f"/nudge/error {first.args[1]}"
    return first.address
