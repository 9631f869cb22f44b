"""companion.live.clock_in: source-clock deltas to monotonic times, and the reader thread (no rtmidi)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from companion.live.clock_in import GAP_S, MidiInputReader, SourceTimeMap

SPACING_S = 0.02  # MIDI clock at 125 BPM


def reader_lag_s(rng: random.Random) -> float:
    """How late the reader takes a message: mostly within its 1 ms poll, a fifth up to 5 ms (GIL, load)."""
    return rng.uniform(0.0, 0.001) if rng.random() < 0.8 else rng.uniform(0.0, 0.005)


def mapped_errors_s(
    time_map: SourceTimeMap, count: int, seed: int, drift: float = 0.0, start_s: float = 500.0
) -> tuple[list[float], list[float]]:
    """Feed ``count`` messages ``SPACING_S`` apart; the errors of the mapped times and of the raw arrivals.

    ``drift``: the source clock runs fast by this share (its deltas are ``SPACING_S * (1 + drift)``).
    """
    rng = random.Random(seed)
    mapped, raw = [], []
    previous = -float("inf")
    for i in range(count):
        true_s = start_s + i * SPACING_S
        arrival_s = true_s + reader_lag_s(rng)
        time_s = time_map.time_s(arrival_s, SPACING_S * (1.0 + drift) if i else 0.0)
        assert previous <= time_s <= arrival_s  # in order, and never after the message was taken
        previous = time_s
        mapped.append(time_s - true_s)
        raw.append(arrival_s - true_s)
    return mapped, raw


@pytest.mark.parametrize("seed", range(5))
def test_exact_deltas_with_noisy_arrivals_give_the_true_times(seed):
    mapped, raw = mapped_errors_s(SourceTimeMap(), 1000, seed)
    settled = mapped[50:]  # after a second: enough promptly taken messages to pin the offset
    assert max(raw) > 0.004  # the arrivals themselves are off by up to 5 ms
    assert min(settled) >= 0.0
    assert sum(settled) / len(settled) < 0.1e-3
    assert max(settled) < 0.3e-3


@pytest.mark.parametrize("drift", [50e-6, -50e-6])
def test_a_drift_between_the_clocks_does_not_accumulate(drift):
    count = int(600 / SPACING_S)  # 10 minutes of clock
    mapped, _ = mapped_errors_s(SourceTimeMap(), count, seed=7, drift=drift)
    assert max(abs(e) for e in mapped[50:]) < 0.3e-3
    assert max(abs(e) for e in mapped[-50:]) < 0.3e-3


def test_without_relaxing_a_slow_source_clock_would_drift_away():
    """The check above has teeth: a minimum that never rises falls 50 ppm of 10 minutes (30 ms) behind."""
    mapped, _ = mapped_errors_s(SourceTimeMap(relax_per_s=0.0), int(600 / SPACING_S), seed=7, drift=-50e-6)
    assert mapped[-1] < -0.025


def test_a_long_gap_starts_afresh():
    time_map = SourceTimeMap()
    mapped_errors_s(time_map, 100, seed=3, start_s=100.0)  # up to t = 101.98
    # the source clock stopped with the stream: it says 2 s passed, but 5 s did
    assert time_map.time_s(107.0, 2.0) == 107.0  # the arrival anchors it, not the old offset (3 s early)
    assert time_map.time_s(107.0205, SPACING_S) == pytest.approx(107.02)  # and the next ones follow it
    # a pause of the stream on the source clock (the DAW stopped sending clock) starts afresh too
    assert time_map.time_s(107.0205 + 1.5 * GAP_S, 1.5 * GAP_S) == 107.0205 + 1.5 * GAP_S


def test_a_small_gap_keeps_the_offset():
    time_map = SourceTimeMap()
    assert time_map.time_s(10.003, 0.0) == 10.003
    assert time_map.time_s(10.0201, SPACING_S) == pytest.approx(10.0201)  # less late: the offset drops
    # 0.5 s later, taken 4 ms late: the offset found before holds (it rose by only 100 ppm of 0.5 s)
    assert time_map.time_s(10.5241, 0.5) == pytest.approx(10.5201 + 0.5 * 100e-6)


class FakeMidiIn:
    """rtmidi's MidiIn as the reader uses it: a queue of (message, delta_s), then close_port and delete."""

    def __init__(self) -> None:
        self.queued: list[tuple[list[int], float]] = []
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def get_message(self) -> tuple[list[int], float] | None:
        if "close_port" in self.calls:
            raise RuntimeError("get_message after close_port")
        with self.lock:
            return self.queued.pop(0) if self.queued else None

    def close_port(self) -> None:
        self.calls.append("close_port")

    def delete(self) -> None:
        self.calls.append("delete")


def test_reader_feeds_in_order_with_mapped_times_survives_errors_and_closes_in_order():
    midi_in = FakeMidiIn()
    fed: list[tuple[list[int], float]] = []
    done = threading.Event()

    def feed(message, time_s):
        if message == [0xF2]:
            raise ValueError("a broken message")
        fed.append((message, time_s))
        if message == [0xFC]:
            done.set()

    with midi_in.lock:
        midi_in.queued += [([0xFA], 0.0), ([0xF8], 0.0), ([0xF2], 0.01), ([0xF8], 0.01), ([0xFC], 0.02)]
    reader = MidiInputReader(midi_in, feed, name="test-clock-in")
    try:
        assert done.wait(5.0), f"the reader fed only {fed}"
        assert [m for m, _ in fed] == [[0xFA], [0xF8], [0xF8], [0xFC]]  # the broken one logged and skipped
        times = [t for _, t in fed]
        assert times == sorted(times) and times[-1] <= time.monotonic()
        assert any(t.name == "test-clock-in" for t in threading.enumerate())
    finally:
        reader.close()
    assert not reader.alive
    assert midi_in.calls == ["close_port", "delete"]
    reader.close()  # again: nothing more
    assert midi_in.calls == ["close_port", "delete"]


def test_reader_closed_from_its_own_thread_still_releases_the_port():
    midi_in = FakeMidiIn()
    closed = threading.Event()
    reader: MidiInputReader | None = None

    def feed(_message, _time_s):
        reader.close()  # e.g. a listener that closes the clock
        closed.set()

    reader = MidiInputReader(midi_in, feed)
    with midi_in.lock:
        midi_in.queued.append(([0xFC], 0.0))
    assert closed.wait(5.0)
    deadline = time.monotonic() + 5.0
    while reader.alive and time.monotonic() < deadline:
        time.sleep(0.005)  # polling, with a deadline: the thread ends once feed returns
    assert not reader.alive and midi_in.calls == ["close_port", "delete"]
