"""The live player in a process of its own: what ``nudge serve --midi`` uses.

Why a process: in one Python process, a generation request (or an OSC thread) that holds the GIL and is
then preempted by the OS makes the player thread wait for it, however high its priority (a priority
inversion through the GIL, several ms on a loaded machine; see bench/bench_jitter.py). In its own process
the scheduling thread shares the GIL only with the child's command loop (``companion/live/child.py``),
which runs at real-time priority too.

``LivePlayer`` has the ``Player`` interface (start, stop, panic, queue, set_transport, close). One thread of
the serving process, the link, owns the pipe to the child: every exchange has a deadline, and nothing else
ever waits on the child. ``set_transport`` and ``queue`` only leave their latest values for the link (the
request thread never waits on the player); ``start``, ``stop``, ``panic`` wait for the link's answer, so
errors surface in the caller and ``stop`` returns after the note-offs are out (the daemon calls them from a
thread of their own, never from the request thread).

The link is also the watchdog (as a service manager's): it asks the child's health every
``WATCH_INTERVAL_S``; a child that dies, or stops answering, or whose scheduling thread has not taken a turn
for ``STUCK_S``, is killed and restarted at once: the new one first sends all-notes-off (the dead one could
not end its notes), gets the JACK connections of the old ports back (``jack_ports``), then the last queued
pattern, the tempo and the clock's position, and plays on in time. While a restart fails, calls answer why
and the watchdog tries again later (``RESTART_BACKOFF_S``). The child never outlives this process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from companion.core.drum_map import N_VOICES, OUTPUT_PITCHES
from companion.core.errors import UsageError
from companion.core.midi_values import DEFAULT_BPM, DRUM_CHANNEL, MAX_SONG_BEATS, PITCH
from companion.core.pattern import Pattern
from companion.live.child import END_GRACE_S, SIGTERM_EXIT
from companion.live.clock import check_bpm
from companion.live.link import (
    CALL_TIMEOUT_S,
    CLOSE_TIMEOUT_S,
    START_TIMEOUT_S,
    ChildLink,
    LivePlayerError,
)
from companion.live.output import MidiPortError
from companion.live.player import PlayerStats
from companion.live.timeline import SWITCH_MODES

log = logging.getLogger(__name__)

__all__ = ["LiveConfig", "LivePlayer", "LivePlayerError"]
CALL_WAIT_S = START_TIMEOUT_S + 2 * CALL_TIMEOUT_S  # a caller's wait: a restart, then its command
STUCK_S = 1.0  # the scheduling thread turns at least every 0.25 s: silent this long, it is stuck
WATCH_INTERVAL_S = 0.25  # the health question (and the clock line and JACK connections it keeps)
SIGTERM_GRACE_S = 0.5  # a child ended by SIGTERM: the parent may be stopping too (a group's SIGTERM)


@dataclass(frozen=True)
class LiveConfig:
    """Everything the child needs to open its ports and clock (picklable)."""

    api: str = "auto"
    port: str | None = None
    channel: int = DRUM_CHANNEL  # 1..16
    output_pitches: tuple[int, ...] = OUTPUT_PITCHES
    pitch_overrides: tuple[tuple[str, int], ...] = ()  # --drum-map {voice: pitch}, as pairs
    switch: str = "bar"
    clock: str = "internal"  # internal, midi, osc
    clock_in: str | None = None
    bpm: float = DEFAULT_BPM
    realtime: bool = True
    trace: bool = False  # keep (due, sent, message) per message, for the benchmark
    log_level: int = field(default=logging.WARNING)


class _Call:
    """A command waiting for the link thread, and its answer."""

    def __init__(self, name: str, args: tuple) -> None:
        self.name, self.args = name, args
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class LivePlayer:
    """A ``Player`` running in a child process (``python -m companion.live.child``); same methods."""

    def __init__(self, config: LiveConfig) -> None:
        if config.switch not in SWITCH_MODES:
            raise UsageError(f"switch must be one of {', '.join(SWITCH_MODES)}, got {config.switch!r}")
        self.config = config
        self.switch = config.switch
        self._cond = threading.Condition()
        self._calls: deque[_Call] = deque()
        self._transport: tuple | None = None  # the latest transport, not yet sent
        self._queue_slot: tuple | None = None  # the latest queue, not yet sent
        self._closed = False
        self._link = ChildLink(config)
        # what a restarted child needs to carry on: the last queue, start/stop, tempo and the clock line
        self._queued: tuple[Pattern, tuple[int, ...] | None] | None = None
        self._running = False
        self._bpm: float | None = None
        self._clock_state: Any = None  # the child's last ClockState (companion.live.clock)
        self._started = _Call("spawn", ())
        # every spawn happens on the link thread, which lives as long as the player: the child's
        # PR_SET_PDEATHSIG fires when the thread that started it ends
        self._thread = threading.Thread(target=self._run, name="nudge-live-link", daemon=True)
        self._thread.start()
        self._started.done.wait()
        if self._started.error is not None:
            raise self._started.error

    # -- the public interface (any thread) --------------------------------------------------------------

    def start(self) -> None:
        self._call("start")
        self._running = True

    def stop(self) -> None:
        self._running = False
        self._call("stop")

    def panic(self) -> None:
        """All notes off: returns once the child has sent them through its port."""
        self._call("panic")

    def set_bpm(self, bpm: float) -> None:
        self._call("set_bpm", bpm)
        self._bpm = bpm

    def queue(self, pattern: Pattern, when: str = "bar", pitches: Sequence[int] | None = None) -> None:
        """As ``Player.queue``, without waiting: the link hands the latest queue to the child."""
        if not isinstance(pattern, Pattern):
            raise TypeError(f"pattern must be a Pattern, got {type(pattern).__name__}")
        if when not in SWITCH_MODES:
            raise UsageError(f"when must be one of {', '.join(SWITCH_MODES)}, got {when!r}")
        if pitches is not None:
            pitches = tuple(pitches)
            if len(pitches) != N_VOICES or not all(PITCH.holds(p) for p in pitches):
                raise UsageError(f"pitches must be {N_VOICES} ints in 0..127, got {pitches!r}")
        with self._cond:
            self._check_open()
            self._queued = (pattern, pitches)
            self._queue_slot = (pattern, when, pitches)
            self._cond.notify()

    def set_transport(self, bpm: float, beat: float, playing: bool) -> bool:
        """The device's transport, checked here and handed to the link without waiting; True when the
        clock follows it (``--clock osc``)."""
        check_bpm(bpm)
        if isinstance(beat, bool) or not isinstance(beat, int | float) or not math.isfinite(beat) or beat < 0:
            raise UsageError(f"beat must be a finite number >= 0, got {beat!r}")
        if beat > MAX_SONG_BEATS:
            raise UsageError(f"beat must be in 0..{MAX_SONG_BEATS:.0f}, got {beat:g}")
        if playing not in (True, False, 0, 1):
            raise UsageError(f"playing must be 0 or 1, got {playing!r}")
        if self.config.clock != "osc":
            return False
        with self._cond:
            self._check_open()
            self._transport = (bpm, beat, bool(playing), time.monotonic())
            self._cond.notify()
        return True

    @property
    def stats(self) -> PlayerStats:
        return self._call("stats")

    def trace(self) -> list:
        """``(due_time_s, sent_time_s, message)`` per message so far (``LiveConfig.trace``)."""
        return self._call("trace")

    @property
    def alive(self) -> bool:
        process = self._link.process
        return process is not None and process.poll() is None

    @property
    def pid(self) -> int:
        return self._link.pid

    @property
    def restarts(self) -> int:
        return self._link.restarts

    @property
    def port_name(self) -> str:
        return self._link.port_name

    @property
    def clock_kind(self) -> str:
        return self._link.clock_kind

    @property
    def priority(self) -> str:
        return self._link.priority

    def close(self) -> None:
        """End every note (note-offs, CC 123), close the port and stop the process. Safe to call twice;
        returns within about CLOSE_TIMEOUT_S + END_GRACE_S, whatever state the child is in."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(CALL_TIMEOUT_S + CLOSE_TIMEOUT_S + END_GRACE_S + 1.0)
            process = self._link.process
            if self._thread.is_alive() and process is not None:  # stuck in a spawn: end it anyway
                process.kill()

    def __enter__(self) -> LivePlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise LivePlayerError("the live MIDI player is closed")

    def _call(self, name: str, *args: Any) -> Any:
        call = _Call(name, args)
        with self._cond:
            self._check_open()
            link = self._link
            if link.down is not None and time.monotonic() < link.next_attempt_s:
                wait_s = link.next_attempt_s - time.monotonic()
                raise LivePlayerError(f"{link.down_detail}; next attempt in {wait_s:.0f} s")
            self._calls.append(call)
            self._cond.notify()
        if not call.done.wait(CALL_WAIT_S):
            raise LivePlayerError(f"the live MIDI process did not answer {name} within {CALL_WAIT_S:g} s")
        if call.error is not None:
            raise call.error
        return call.result

    # -- the link thread: the only one that talks to the child ------------------------------------------

    def _run(self) -> None:
        link = self._link
        try:
            link.spawn()
        except BaseException as error:  # (the constructor raises it)
            self._started.finish(error=error)
            return
        self._started.finish()
        next_health_s = time.monotonic() + WATCH_INTERVAL_S
        try:
            while True:
                with self._cond:
                    if not (self._closed or self._calls or self._transport or self._queue_slot):
                        self._cond.wait(max(0.0, next_health_s - time.monotonic()))
                    if self._closed:
                        return
                    queue, self._queue_slot = self._queue_slot, None
                    transport, self._transport = self._transport, None
                    calls = list(self._calls)
                    self._calls.clear()
                if not self._ensure_child(calls):
                    continue
                if queue is not None:
                    link.exchange("queue", queue, quiet=True)
                if transport is not None:
                    link.exchange("set_transport", transport, quiet=True)
                answers = [self._answer(call) for call in calls]
                if answers and link.running():  # the clock line and JACK connections after the calls,
                    self._check_health()  # before the answers: a caller that heard "ok" finds them kept
                    next_health_s = time.monotonic() + WATCH_INTERVAL_S
                for call, (result, failure) in zip(calls, answers, strict=True):
                    call.finish(result, failure)
                if time.monotonic() >= next_health_s and link.down is None:
                    self._check_health()
                    next_health_s = time.monotonic() + WATCH_INTERVAL_S
        finally:
            with self._cond:
                calls = list(self._calls)
                self._calls.clear()
            for call in calls:
                call.finish(error=LivePlayerError("the live MIDI player is closed"))
            link.end()

    def _ensure_child(self, calls: list[_Call]) -> bool:
        """A running child (restarted if it died); False, with the calls answered why, when there is none."""
        link = self._link
        if link.running():
            return True
        process = link.process
        if link.down is None and process is not None and process.returncode == SIGTERM_EXIT:
            with self._cond:  # maybe the whole group is stopping: let close win
                self._cond.wait_for(lambda: self._closed, SIGTERM_GRACE_S)
                if self._closed:
                    return False
        if not link.revive(self._restore):
            for call in calls:
                call.finish(error=LivePlayerError(link.down_detail))
            with self._cond:  # until the next attempt, or a close
                self._cond.wait(max(0.05, min(link.next_attempt_s - time.monotonic(), 1.0)))
            return False
        return True

    def _answer(self, call: _Call) -> tuple[Any, BaseException | None]:
        """(result, error) of one call."""
        for attempt in (1, 2):  # a child that died (or stuck) under this call: restarted, then once more
            try:
                return self._link.exchange(call.name, call.args), None
            except (LivePlayerError, EOFError, OSError, TimeoutError) as error:
                if attempt == 2 or not self._link.revive(self._restore):
                    reason = self._link.down_detail or f"the live MIDI process failed ({error})"
                    return None, LivePlayerError(reason)
            except (ValueError, TypeError, MidiPortError) as error:  # the child refused: the caller's fault
                return None, error
        raise AssertionError("unreachable")

    def _check_health(self) -> None:
        health = self._link.exchange("health", (), quiet=True)
        if health is None:
            return
        silent_s, self._clock_state = health
        if silent_s > STUCK_S:
            self._link.kill(f"the live MIDI scheduling thread took no turn for {silent_s:.1f} s (stuck)")
        elif self._link.jack is not None:
            self._link.jack.snapshot()

    def _restore(self) -> None:
        """The new child: its JACK connections back, all notes off (the dead one left them sounding), then
        the dead one's state."""
        link = self._link
        if link.jack is not None:
            for failed in link.jack.restore():
                log.warning("live MIDI: could not restore the JACK connection %s", failed)
        link.exchange("panic", ())
        if self._bpm is not None:
            link.exchange("set_bpm", (self._bpm,))
        if self._queued is not None:
            pattern, pitches = self._queued
            link.exchange("queue", (pattern, "now", pitches))
        if self._running:
            link.exchange("resume", (self._clock_state,))
