"""The device (nudge.js in node) against the daemon's dispatcher for issue 16: several takes per click, and
voice lock from the Keep toggles (the device's requests as Max's [udpsend] encodes them, the daemon's real
replies as [udpreceive] hands them back)."""

from __future__ import annotations

import pytest

from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.support.max_contract import BytesLink, Device


def notes_of(calls: list[dict]) -> list[list]:
    written = [c for c in calls if c["name"] == "add_new_notes"]
    return [
        [n["pitch"], n["start_time"], n["duration"], n["velocity"]]
        for c in written
        for n in c["args"][0]["notes"]
    ]


@pytest.fixture
def ready_device(tmp_path):
    pytest.importorskip("onnx")
    from tests.support.tiny_onnx import write_tiny_model

    link = BytesLink(Daemon(load_model(write_tiny_model(tmp_path / "tiny.onnx")), seed=0))
    device = Device()
    answer = device("init", port=50123)
    device("osc", messages=link.exchange(answer["sent"]))
    sent = device("osc", messages=link.exchange([["/nudge/ping", 1, 50123]]))["sent"]
    device("osc", messages=link.exchange(sent))
    device(
        "ui",
        values={"nudge_bars": 2, "nudge_seedlock": 1, "nudge_seed": 5, "nudge_cond1": 0.8, "nudge_dest": 0},
    )
    yield device, link
    device.close()


def test_three_takes_are_three_clips_with_consecutive_seeds(ready_device):
    device, link = ready_device
    device("ui", values={"nudge_takes": 3})
    waiting = device("call", name="generate")["sent"]
    assert len(waiting) == 2, "two takes on their way, the third when one returns"
    sent, calls = [], []
    while waiting:
        request = waiting.pop(0)
        sent.append(request)
        answer = device("osc", messages=link.exchange([request]))
        calls += answer["calls"]
        waiting += answer["sent"]
    assert [r[r.index("seed") + 1] for r in sent] == [5, 6, 7]
    created = [c["path"] for c in calls if c["name"] == "create_clip"]
    assert created == [f"live_set tracks 0 clip_slots {i}" for i in range(3)]
    names = [c["args"][0] for c in calls if c["name"] == "name"]
    assert [n.rsplit(" ", 1)[1] for n in names] == ["s5", "s6", "s7"]
    assert all("dens80" in n for n in names)


def test_kept_voices_come_back_exactly_from_the_daemon(ready_device):
    device, link = ready_device
    requests = device("call", name="generate")["sent"]
    answer = device("osc", messages=link.exchange(requests))
    source = notes_of(answer["calls"])
    device("select_last_clip")
    device("ui", values={"nudge_keep_kick": 1, "nudge_keep_snare": 1, "nudge_seed": 9})
    requests = device("call", name="generate")["sent"]
    request = requests[-1]
    assert request[0] == "/nudge/generate" and request[request.index("keep") + 1] == "kick,snare"
    reply = link.exchange(requests)
    assert not [a for a in reply if a[0] == "/nudge/error"], reply
    locked = notes_of(device("osc", messages=reply)["calls"])

    def rounded(rows):
        return sorted([p, round(s, 5), round(d, 5), v] for p, s, d, v in rows)

    kept = rounded(n for n in source if n[0] in (36, 38))
    assert kept and rounded(n for n in locked if n[0] in (36, 38)) == kept
    assert sorted(n for n in locked if n[0] not in (36, 38)) != sorted(
        n for n in source if n[0] not in (36, 38)
    )
