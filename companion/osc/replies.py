"""Reply datagrams of the OSC API (shapes in ``companion.osc.api.REPLIES``), built without per-argument
overhead: a note reply's groups are one big-endian numpy record array, sliced into parts and appended to a
precomputed message header.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from companion.core.notes import DEFAULT_DURATION_STEPS
from companion.core.osc_codec import encode_message, encode_string
from companion.core.pattern import Pattern
from companion.osc.api import MAX_DATAGRAM_BYTES, NOTES_PER_PART

# one note group on the wire: pitch:i start_beats:f duration_beats:f velocity:i (big-endian, 16 bytes)
NOTE_DTYPE = np.dtype([("pitch", ">i4"), ("start", ">f4"), ("duration", ">f4"), ("velocity", ">i4")])
_NOTES_ADDRESS = encode_string("/nudge/notes")
_HEADERS: dict[int, bytes] = {}  # notes per part -> address + type tags
_ID_PART = struct.Struct(">ii")


def pattern_to_note_array(
    pattern: Pattern, pitches: Sequence[int], duration_steps: float = DEFAULT_DURATION_STEPS
) -> np.ndarray:
    """Vectorised ``companion.core.notes.pattern_to_notes``: the same notes, in the same order, as
    NOTE_DTYPE [M].

    Each hit starts at (step + offset) / steps_per_beat (wrapped into the loop); it lasts ``duration_steps``,
    capped at 95% of the gap to the next hit of its voice (also across the loop end), at least 0.01 steps.
    """
    grid = pattern.grid
    n_steps = grid.n_steps
    voices, steps = np.nonzero(pattern.hits)  # [M], sorted by voice, then step
    positions = steps + pattern.offsets_steps[voices, steps].astype(np.float64)  # [M], in steps
    following = np.empty_like(positions)
    following[:-1] = positions[1:]
    last = np.ones(len(voices), dtype=bool)  # the last hit of each voice wraps to its first hit
    last[:-1] = voices[1:] != voices[:-1]
    first_of_voice = np.searchsorted(voices, voices[last])
    following[last] = positions[first_of_voice] + n_steps
    durations = np.maximum(np.minimum(duration_steps, (following - positions) * 0.95), 0.01)
    starts = (positions % n_steps) / grid.steps_per_beat
    velocities = np.clip(np.rint(pattern.velocities[voices, steps].astype(np.float64) * 127), 1, 127)
    notes = np.empty(len(voices), dtype=NOTE_DTYPE)
    notes["pitch"] = np.asarray(pitches, dtype=np.int64)[voices]
    notes["start"] = starts
    notes["duration"] = durations / grid.steps_per_beat
    notes["velocity"] = velocities
    # Note's order: start_beats, pitch, duration, velocity (on the float64 values, as pattern_to_notes)
    order = np.lexsort((velocities, durations, notes["pitch"], starts))
    return notes[order]


def note_array(rows: np.ndarray) -> np.ndarray:
    """float [M, 4] (pitch, start_beats, duration_beats, velocity) -> NOTE_DTYPE [M]."""
    notes = np.empty(len(rows), dtype=NOTE_DTYPE)
    for i, name in enumerate(NOTE_DTYPE.names):
        notes[name] = rows[:, i]
    return notes


def _header(count: int) -> bytes:
    header = _HEADERS.get(count)
    if header is None:
        header = _HEADERS[count] = _NOTES_ADDRESS + encode_string(",ii" + "iffi" * count)
    return header


def notes_reply(request_id: int, notes: np.ndarray, length_beats: float, clip_name: str) -> list[bytes]:
    """``/nudge/notes/begin``, the ``/nudge/notes`` parts, ``/nudge/notes/end`` (see the registry)."""
    n_notes = len(notes)
    n_parts = max(1, -(-n_notes // NOTES_PER_PART))
    raw = notes.astype(NOTE_DTYPE, copy=False).tobytes()  # numpy may have made the fields native-endian
    datagrams = [
        encode_message(
            "/nudge/notes/begin", "iiifs", (request_id, n_parts, n_notes, float(length_beats), clip_name)
        )
    ]
    for part in range(n_parts):
        lo = part * NOTES_PER_PART
        count = min(NOTES_PER_PART, n_notes - lo)
        body = raw[lo * NOTE_DTYPE.itemsize : (lo + count) * NOTE_DTYPE.itemsize]
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
