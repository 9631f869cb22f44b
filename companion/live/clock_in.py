"""The MIDI clock input: a reader thread that empties rtmidi's queue, and the time each message happened.

``MidiClock.open`` gives its rtmidi input to a ``MidiInputReader``. rtmidi's own input thread (under JACK:
JACK's real-time process callback) only puts messages into rtmidi's C++ queue; no Python runs there, so it
never waits for the GIL. (A Python callback there must take the GIL; while any thread of the process holds
it, JACK's cycle waits (xruns), and rtmidi can repeat or lose messages of a port buffer that the next
cycles rewrite.) The reader thread looks into the queue every ``POLL_S`` (rtmidi has no
blocking read), takes everything queued, and feeds each message with the time it happened.

That time comes from rtmidi's delta times, not from when Python got to the message: ``SourceTimeMap``
turns the deltas (seconds on the MIDI API's own clock; under JACK, ``jack_get_time`` in the cycle that took
the message) into ``time.monotonic`` seconds, so a reader delayed by the GIL adds no tick-timing jitter.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

POLL_S = 0.001  # how often the reader looks into rtmidi's queue while it is empty
RELAX_PER_S = 100e-6  # the offset estimate rises by 100 ppm of the time passed (a drift of the two clocks)
GAP_S = 1.0  # after this long without a message, the mapping starts afresh
JOIN_TIMEOUT_S = 2.0  # close() waits this long for the reader thread, at most


class SourceTimeMap:
    """Maps a message stream's source-clock deltas to ``time.monotonic`` seconds.

    ``time_s(arrival_s, delta_s)`` takes, per message, the monotonic time the reader took it
    (``arrival_s``) and rtmidi's delta: the seconds since the previous message on the MIDI API's clock
    (``delta_s``). The deltas add up to a source-clock time ``source_s`` (0 at the first message), exact up to
    that clock's resolution; the arrivals are late by a random lag (the poll interval, the GIL, load). A
    message cannot arrive before it happened, so ``arrival_s - source_s`` is the clock offset plus a
    non-negative lag, and the smallest value seen is the best estimate of the offset: one promptly taken
    message pins it. The estimate rises by ``RELAX_PER_S`` of the source time passed, so a drift of the
    two clocks (crystals differ by tens of ppm) cannot accumulate into an error: with the source clock
    running slow, the true offset grows and the estimate follows it; running fast, the offset shrinks and
    the minimum follows at once. The error is the lag of the most recent promptly taken messages plus the
    rise since them (100 ppm of a second is 0.1 ms).

    A message's time is ``source_s + offset``: never after its arrival, and never before the previous
    message's time (an estimate that drops puts the earlier message late, not this one early). After
    ``GAP_S`` without a message (by either clock) the mapping starts afresh at the next message, whose
    arrival is its time: a source clock that stopped or jumped meanwhile is forgotten. (A reader stalled
    for that long starts afresh too; the backlog it then finds gets the times it is read at, and the first
    promptly taken message after it pins the offset again.)
    """

    def __init__(self, relax_per_s: float = RELAX_PER_S, gap_s: float = GAP_S) -> None:
        self.relax_per_s = relax_per_s
        self.gap_s = gap_s
        self._source_s = 0.0
        self._offset_s = math.nan  # nan: no message yet, or starting afresh
        self._last_arrival_s = -math.inf
        self._last_time_s = -math.inf

    def time_s(self, arrival_s: float, delta_s: float) -> float:
        """The monotonic time the message happened; call once per message, in order."""
        delta_s = max(delta_s, 0.0) if math.isfinite(delta_s) else 0.0
        gap = delta_s > self.gap_s or arrival_s - self._last_arrival_s > self.gap_s
        if gap or math.isnan(self._offset_s):
            self._source_s = 0.0
            self._offset_s = arrival_s
            self._last_time_s = -math.inf
        else:
            self._source_s += delta_s
            self._offset_s = min(self._offset_s + self.relax_per_s * delta_s, arrival_s - self._source_s)
        self._last_arrival_s = arrival_s
        self._last_time_s = max(min(self._source_s + self._offset_s, arrival_s), self._last_time_s)
        return self._last_time_s


class MidiInputReader:
    """Empties an rtmidi input's queue from a daemon thread and feeds ``(message, time_s)`` to ``feed``.

    Takes over ``midi_in`` (an open ``rtmidi.MidiIn`` without a callback): ``close`` stops the thread and
    only then closes and deletes it. ``now`` is the clock the times are given in (``time.monotonic``).
    """

    def __init__(
        self,
        midi_in: Any,
        feed: Callable[[Sequence[int], float], None],
        name: str = "nudge-clock-in",
        now: Callable[[], float] = time.monotonic,
        poll_s: float = POLL_S,
    ) -> None:
        self._midi_in = midi_in
        self._feed = feed
        self._now = now
        self._poll_s = poll_s
        self._time_map = SourceTimeMap()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        midi_in, closing = self._midi_in, self._closing
        while not closing.is_set():
            event = midi_in.get_message()
            if event is None:
                closing.wait(self._poll_s)  # nothing queued: look again shortly
                continue
            message, delta_s = event
            time_s = self._time_map.time_s(self._now(), delta_s)
            try:
                self._feed(message, time_s)
            except Exception:  # one bad message (or listener) must not end the clock input
                log.exception("MIDI clock input: message %s failed", message)

    def close(self, timeout_s: float = JOIN_TIMEOUT_S) -> None:
        """Stop the thread, wait for it, then close and delete the port (idempotent)."""
        midi_in, self._midi_in = self._midi_in, None
        if midi_in is None:
            return
        self._closing.set()
        if threading.current_thread() is not self._thread:  # from the thread itself: it stops on return
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("MIDI clock input thread did not stop in %.1f s; its port stays open", timeout_s)
                return
        midi_in.close_port()
        midi_in.delete()
