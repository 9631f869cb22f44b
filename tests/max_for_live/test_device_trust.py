"""Issue 23 against the real daemon: the device (nudge.js in node, fake Live) with the dispatcher on bytes and
with plain `nudge serve` over real UDP. A Nudge keeps an 8-bar clip's length; three quick clicks with Takes
16 land all 16 takes of the last click, and the producer never sees "busy"."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.max_for_live.test_device_files import _replies_socket, nudge_serve
from tests.support.max_contract import BytesLink, Device, max_datagram, udpreceive_atoms, wait_for_pong

TAKES = 16


def eight_bar_clip() -> list[dict]:
    """96 notes over 32 beats: kick, hats and snare on a 16th grid, as a producer's 8-bar loop."""
    notes = []
    for i in range(96):
        step = i * 32 / 96
        pitch = (36, 42, 38, 42)[i % 4]
        notes.append({"pitch": pitch, "start_time": step, "duration": 0.25, "velocity": 60 + i % 50})
    return notes


def started(device: Device, link) -> None:
    """The device loads, pings, and labels its dials from the model's info."""
    sent = device("init", port=50123)["sent"]
    sent = device("osc", messages=link.exchange(sent))["sent"]
    device("osc", messages=link.exchange(sent))


def test_nudge_keeps_an_eight_bar_clip_whole(tmp_path):
    pytest.importorskip("onnx")
    from tests.support.tiny_onnx import write_tiny_model

    model = load_model(write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 4)))  # a 4-bar model
    link = BytesLink(Daemon(model, seed=0))
    device = Device()
    try:
        started(device, link)
        device("select_clip", slot=0, length=32, notes=eight_bar_clip())
        device("ui", values={"nudge_amount": 0, "nudge_bars": 4, "nudge_dest": 0})
        requests = device("call", name="nudge")["sent"]
        assert not any("bars" in r for r in requests), "Bars is Generate's: a Nudge keeps the clip's length"
        device("osc", messages=link.exchange(requests))
        clips = device("clips")["clips"]
        (result,) = [c for c in clips if c["slot"] != 0]
        assert len(result["notes"]) == 96 and result["loop_end"] == 32
        device("ui", values={"nudge_amount": 0.3})
        requests = device("call", name="nudge")["sent"]
        device("osc", messages=link.exchange(requests))
        (varied,) = [c for c in device("clips")["clips"] if c["slot"] not in (0, result["slot"])]
        assert varied["loop_end"] == 32 and max(n[1] for n in varied["notes"]) >= 16, "all 8 bars nudged"
    finally:
        device.close()


class Pump:
    """The device's [udpsend] and [udpreceive] against `nudge serve`: what the device sends goes out at once;
    replies are read from its reply socket and handed to it, and what it sends then goes out too."""

    def __init__(self, port: int, replies: socket.socket, device: Device):
        self.port, self.replies, self.device = port, replies, device
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.errors: list[list] = []
        self.statuses: list[str] = []

    def send(self, messages: list[list]) -> None:
        for atoms in messages:
            self.out.sendto(max_datagram(atoms), ("127.0.0.1", self.port))

    def run_until(self, done, timeout_s: float = 30.0) -> None:
        self.replies.settimeout(0.5)
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, "the takes did not all land"
            try:
                data, _ = self.replies.recvfrom(65536)
            except TimeoutError:
                continue
            messages = udpreceive_atoms(data)
            self.errors += [m for m in messages if m[0] == "/nudge/error"]
            answer = self.device("osc", messages=messages)
            self.statuses.append(answer["status"]["text"])
            self.send(answer["sent"])


@contextlib.contextmanager
def served_device(model, ready: Callable[[Device, Pump], bool]) -> Iterator[tuple[Device, Pump]]:
    """``nudge serve`` on ``model`` and a device talking to it over UDP, pumped until ``ready``."""
    replies = _replies_socket()
    device = Device()
    try:
        with nudge_serve(model) as (port, daemon):
            wait_for_pong(port, replies, daemon)
            pump = Pump(port, replies, device)
            pump.send(device("init", port=replies.getsockname()[1])["sent"])
            pump.run_until(lambda: ready(device, pump))
            yield device, pump
    finally:
        device.close()
        replies.close()


def model_info_came(device: Device, pump: Pump) -> bool:
    """The device said Ready: the model's info came."""
    return any(s.startswith("Ready") for s in pump.statuses)


@pytest.mark.integration
def test_three_quick_clicks_with_takes_16_land_all_16_takes_of_the_last_click(tmp_path):
    pytest.importorskip("onnx")
    from tests.support.tiny_onnx import write_tiny_model

    model = write_tiny_model(tmp_path / "models" / "tiny.onnx")
    replies = _replies_socket()
    device = Device()
    try:
        with nudge_serve(model) as (port, daemon):
            wait_for_pong(port, replies, daemon)
            pump = Pump(port, replies, device)
            pump.send(device("init", port=replies.getsockname()[1])["sent"])
            pump.run_until(lambda: device("clips")["ui"]["nudge_style"]["attrs"]["parameter_enum"] != ["any"])
            values = {"nudge_takes": TAKES, "nudge_seedlock": 1, "nudge_seed": 500, "nudge_dest": 0}
            device("ui", values=values)
            for click in range(3):  # three quick clicks: each one's messages go out before any reply is read
                if click == 2:
                    device("ui", values={"nudge_seed": 900})
                pump.send(device("call", name="generate")["sent"])

            def last_click_landed() -> bool:
                return sum(c["name"].endswith(tuple(f" s{900 + k}" for k in range(TAKES)))
                           for c in device("clips")["clips"]) == TAKES  # fmt: skip

            pump.run_until(last_click_landed)
            clips = device("clips")["clips"]
            seeds = sorted(int(c["name"].rsplit(" s", 1)[1]) for c in clips)
            assert seeds[-TAKES:] == list(range(900, 900 + TAKES)), seeds
            assert len(clips) == TAKES, "the earlier clicks' late replies are dropped, never written"
            assert pump.errors == [], pump.errors
            assert not [s for s in pump.statuses if "busy" in s or "Daemon:" in s], pump.statuses
    finally:
        device.close()
        replies.close()
