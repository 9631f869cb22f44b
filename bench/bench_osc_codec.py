#!/usr/bin/env python3
"""Encoding a note reply part and decoding a vary request: python-osc against companion.core.osc_codec.

python bench/bench_osc_codec.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from companion.core.notes import rows_to_notes
from companion.core.osc_codec import decode_message, encode_message
from companion.osc.api import NOTES_PER_PART
from companion.osc.replies import notes_reply


def timed(function, n: int = 2000) -> float:
    for _ in range(n // 10):
        function()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e6)


def main() -> int:
    rng = np.random.default_rng(0)
    rows = np.stack(
        [
            rng.integers(35, 52, 240),
            np.sort(rng.uniform(0, 16, 240)),
            np.full(240, 0.125),
            rng.integers(1, 128, 240),
        ],
        axis=1,
    )
    part = [(int(p), float(s), float(d), int(v)) for p, s, d, v in rows[:NOTES_PER_PART]]
    flat_part = [x for note in part for x in note]

    def python_osc_part() -> bytes:
        builder = OscMessageBuilder("/nudge/notes")
        builder.add_arg(1, "i")
        builder.add_arg(0, "i")
        for pitch, start, duration, velocity in part:
            builder.add_arg(pitch, "i")
            builder.add_arg(start, "f")
            builder.add_arg(duration, "f")
            builder.add_arg(velocity, "i")
        return builder.build().dgram

    def ours_part() -> bytes:
        return encode_message("/nudge/notes", "ii" + "iffi" * NOTES_PER_PART, (1, 0, *flat_part))

    if python_osc_part() != ours_part():
        raise RuntimeError("the two encoders disagree")
    notes = rows_to_notes(rows)
    flat = [x for p, s, d, v in rows.tolist() for x in (int(p), s, d, int(v))]
    request = encode_message("/nudge/vary", "ifsf" + "iffi" * len(rows), (1, 0.2, "notes", 16.0, *flat))
    theirs = OscMessage(request).params
    mine = decode_message(request).args
    if len(theirs) != len(mine) or any(
        a != b and not (isinstance(a, float) and abs(a - b) <= 1e-6 * max(1.0, abs(a)))
        for a, b in zip(theirs, mine, strict=True)
    ):
        raise RuntimeError("the two decoders disagree")
    print("OSC codec bench: median microseconds per call (same bytes out / same values in); ours / theirs")
    print(f"  encode one /nudge/notes part of {NOTES_PER_PART} notes ({2 + 4 * NOTES_PER_PART} arguments)")
    encode_theirs, encode_ours = timed(python_osc_part), timed(ours_part)
    print(f"    python-osc OscMessageBuilder          {encode_theirs:8.1f}  (baseline)")
    print(f"    core.osc_codec.encode_message         {encode_ours:8.1f}  {encode_ours / encode_theirs:.3f}x")
    whole = timed(lambda: notes_reply(1, notes, 16.0, "x"))
    count = len(notes_reply(1, notes, 16.0, "x"))
    print(f"    companion.osc.replies.notes_reply, all {len(rows)} notes in {count} datagrams {whole:8.1f}")
    print(f"  decode a /nudge/vary request with {len(rows)} notes ({len(request)} bytes)")
    decode_theirs = timed(lambda: OscMessage(request).params, 500)
    decode_ours = timed(lambda: decode_message(request), 500)
    print(f"    python-osc OscMessage                 {decode_theirs:8.1f}  (baseline)")
    print(f"    core.osc_codec.decode_message         {decode_ours:8.1f}  {decode_ours / decode_theirs:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
