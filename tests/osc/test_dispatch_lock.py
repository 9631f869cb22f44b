"""Voice lock over the OSC API: ``keep`` in /nudge/generate and /nudge/vary, on plain bytes."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.support.tiny_onnx import write_tiny_model

# kick on 35 (not the model's 36) off the grid with odd durations, snare, hats, a cowbell (unknown pitch)
CLIP = [
    35, 0.03, 0.37, 101,
    38, 1.0, 0.25, 90,
    35, 2.49, 0.11, 77,
    38, 3.0, 0.5, 64,
    42, 0.5, 0.1, 50,
    42, 1.5, 0.1, 51,
    56, 3.75, 0.5, 127,
]  # fmt: skip
KEPT = [row for row in np.array(CLIP, dtype=np.float32).reshape(-1, 4).tolist() if row[0] in (35, 38)]


@pytest.fixture
def daemon(tmp_path):
    return Daemon(load_model(write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))), seed=0)


def send(daemon, address, tags, *args):
    return [decode_message(d) for d in daemon.handle(encode_message(address, tags, args))]


def notes_of(messages):
    begin, *parts, _end = messages
    assert begin.address == "/nudge/notes/begin", messages
    flat = [x for p in sorted(parts, key=lambda m: m.args[1]) for x in p.args[2:]]
    return begin, np.array(flat, dtype=np.float64).reshape(-1, 4)


def with_clip(tags, args, length=4.0):
    return tags + "sf" + "iffi" * (len(CLIP) // 4), (*args, "notes", length, *CLIP)


def test_generate_with_keep_returns_the_kept_notes_exactly_and_generates_the_rest(daemon):
    tags, args = with_clip("isssi", (7, "keep", "kick,snare", "seed", 3))
    begin, notes = notes_of(send(daemon, "/nudge/generate", tags, *args))
    rows = notes.tolist()
    kick_snare = [r for r in rows if r[0] in (35, 36, 38)]
    assert sorted(kick_snare) == sorted(KEPT)  # pitch, start, duration, velocity: as sent, nothing added
    assert [56, 3.75, 0.5, 127] in rows  # unknown pitch: passed through
    assert not {(42, 0.5), (42, 1.5)} <= {(r[0], r[1]) for r in rows}  # the hats were not kept
    assert any(r[0] not in (35, 38, 56) for r in rows)  # new voices were generated
    assert begin.args[3] == 4.0 and begin.args[4] == "default any keep kick+snare s3"
    again = notes_of(send(daemon, "/nudge/generate", tags, *args))[1]
    np.testing.assert_array_equal(notes, again)


def test_vary_with_keep_never_changes_the_kept_notes(daemon):
    for amount in (0.4, 1.0):
        tags, args = with_clip("ifsssi", (8, amount, "keep", "snare,kick", "seed", 2))
        begin, notes = notes_of(send(daemon, "/nudge/vary", tags, *args))
        assert sorted(r for r in notes.tolist() if r[0] in (35, 36, 38)) == sorted(KEPT)
        assert "nudge" in begin.args[4] and "keep kick+snare" in begin.args[4]


def test_keep_with_bars_loops_the_kept_notes_with_the_clip(daemon):
    tags, args = with_clip("isssisi", (9, "keep", "kick", "seed", 1, "bars", 2))
    begin, notes = notes_of(send(daemon, "/nudge/generate", tags, *args))
    kicks = sorted(r for r in notes.tolist() if r[0] in (35, 36))
    first = sorted(r for r in KEPT if r[0] == 35)
    looped = first + [[p, np.float32(s + 4.0), d, v] for p, s, d, v in first]  # float32 on the wire
    np.testing.assert_array_equal(kicks, looped)
    assert begin.args[3] == 8.0


def test_keep_errors(daemon):
    (error,) = send(daemon, "/nudge/generate", "iss", 1, "keep", "kick")
    assert error.address == "/nudge/error" and "the clip is missing (keep needs the clip)" in error.args[1]
    tags, args = with_clip("iss", (2, "keep", "kick,cowbell"))
    (error,) = send(daemon, "/nudge/generate", tags, *args)
    assert error.args[0] == 2
    assert error.args[1].startswith("/nudge/generate: keep: unknown voice 'cowbell'; allowed: kick, snare")
    assert "kick, snare, closed_hat" in error.args[1] and "hats, toms, cymbals" in error.args[1]
    (error,) = send(daemon, "/nudge/generate", "isi", 3, "keep", 4)
    assert "keep must be a string" in error.args[1]


def test_keep_none_is_a_plain_generate_and_the_clip_is_optional(daemon):
    plain = notes_of(send(daemon, "/nudge/generate", "isi", 4, "seed", 5))[1]
    none = notes_of(send(daemon, "/nudge/generate", "isiss", 4, "seed", 5, "keep", "none"))[1]
    np.testing.assert_array_equal(plain, none)
