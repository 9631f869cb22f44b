"""A clip too long for one datagram: /nudge/vary/part messages held by id (companion.osc.clip_parts) until
the /nudge/vary with `parts n` takes them, through the daemon's dispatcher on real OSC bytes."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.api import CLIP_PARTS_SECONDS, MAX_CLIP_NOTES, MAX_PENDING_CLIPS
from companion.osc.clip_parts import ClipParts
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.support.tiny_onnx import write_tiny_model


def notes(count: int, first_pitch: int = 36) -> np.ndarray:
    return np.array([[first_pitch + i % 8, i * 0.125, 0.1, 100] for i in range(count)], dtype=np.float64)


class Clock:
    def __init__(self):
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_parts_come_back_in_part_order_once():
    parts = ClipParts()
    parts.add(7, 1, 2, notes(3, 40))
    parts.add(7, 0, 2, notes(2))
    taken = parts.take(7, 2)
    assert taken.tolist() == np.concatenate([notes(2), notes(3, 40)]).tolist()
    assert len(parts) == 0
    with pytest.raises(ValueError, match=r"part\(s\) 0, 1 of the clip's 2 did not arrive"):
        parts.take(7, 2)


def test_a_missing_part_a_stale_clip_and_too_many_notes_are_named():
    clock = Clock()
    parts = ClipParts(clock)
    parts.add(1, 0, 3, notes(2))
    parts.add(1, 2, 3, notes(2))
    with pytest.raises(ValueError, match=r"part\(s\) 1 of the clip's 3"):
        parts.take(1, 3)
    parts.add(2, 0, 1, notes(1))
    clock.now_s += CLIP_PARTS_SECONDS + 0.1
    with pytest.raises(ValueError, match="did not arrive"):
        parts.take(2, 1)
    parts.add(3, 0, 2, notes(MAX_CLIP_NOTES - 1))
    with pytest.raises(ValueError, match=f"hold {MAX_CLIP_NOTES + 1} notes; at most {MAX_CLIP_NOTES}"):
        parts.add(3, 1, 2, notes(2))
    with pytest.raises(ValueError, match=r"part must be in 0..1"):
        parts.add(4, 2, 2, notes(1))


def test_at_most_so_many_clips_are_held_the_oldest_goes_first():
    parts = ClipParts()
    for request_id in range(MAX_PENDING_CLIPS + 1):
        parts.add(request_id, 0, 2, notes(1))
    assert len(parts) == MAX_PENDING_CLIPS
    with pytest.raises(ValueError, match="did not arrive"):
        parts.take(0, 2)
    parts.add(MAX_PENDING_CLIPS, 1, 2, notes(1))
    assert len(parts.take(MAX_PENDING_CLIPS, 2)) == 2


@pytest.fixture
def daemon(tmp_path):
    return Daemon(load_model(write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))), seed=0)


def send(daemon: Daemon, address: str, tags: str, *args) -> list:
    return [decode_message(d) for d in daemon.handle(encode_message(address, tags, args))]


def groups(rows: np.ndarray) -> list:
    return [v for row in rows for v in (int(row[0]), float(row[1]), float(row[2]), int(row[3]))]


def test_vary_takes_a_clip_sent_in_parts_over_osc(daemon):
    clip = notes(30)
    assert send(daemon, "/nudge/vary/part", "iii" + "iffi" * 20, 5, 0, 2, *groups(clip[:20])) == []
    assert send(daemon, "/nudge/vary/part", "iii" + "iffi" * 10, 5, 1, 2, *groups(clip[20:])) == []
    replies = send(daemon, "/nudge/vary", "ifsisf", 5, 0.0, "parts", 2, "notes", 4.0)
    assert replies[0].address == "/nudge/notes/begin", replies
    got = [r.args[2:] for r in replies if r.address == "/nudge/notes"]
    flat = [v for part in got for v in part]
    echoed = np.array(flat, dtype=np.float64).reshape(-1, 4)
    assert echoed[:, [0, 3]].tolist() == clip[:, [0, 3]].tolist()  # amount 0: the clip exactly, in order
    np.testing.assert_allclose(echoed[:, 1], clip[:, 1], atol=1e-6)


def test_generate_with_keep_takes_a_clip_sent_in_parts(daemon):
    clip = notes(12)
    send(daemon, "/nudge/vary/part", "iii" + "iffi" * 12, 9, 0, 1, *groups(clip))
    replies = send(daemon, "/nudge/generate", "isssisf", 9, "keep", "kick", "parts", 1, "notes", 4.0)
    assert replies[0].address == "/nudge/notes/begin", replies
    assert len(daemon.clip_parts) == 0


def test_vary_with_a_part_missing_or_parts_on_generate_is_an_error_naming_it(daemon):
    send(daemon, "/nudge/vary/part", "iii" + "iffi", 6, 1, 2, *groups(notes(1)))
    (error,) = send(daemon, "/nudge/vary", "ifsisf", 6, 0.5, "parts", 2, "notes", 4.0)
    assert error.address == "/nudge/error" and error.args[0] == 6
    assert "part(s) 0 of the clip's 2 did not arrive" in error.args[1]
    (error,) = send(daemon, "/nudge/generate", "isi", 7, "parts", 2)
    assert error.args == (
        7,
        "/nudge/generate: parts comes with a clip: /nudge/vary, or /nudge/generate with keep",
    )
    (error,) = send(daemon, "/nudge/vary/part", "iii" + "iffi", 8, 0, 1, 200, 0.0, 0.1, 100)
    assert error.args[0] == 8 and "pitch must be an int in 0..127" in error.args[1]
    (error,) = send(daemon, "/nudge/vary/part", "iii", 9, 3, 2)
    assert "part must be in 0..1" in error.args[1]
