"""The live player: a thread of its own that loops the current pattern on a MIDI output, following a clock.

The thread sleeps on a condition until the next event is due (note-on from the ``Timeline`` or a pending
note-off, whichever comes first), converts beats to time through the clock's current line, and sends. Every
public method only changes state under the condition and wakes the thread, so a generation request or an
OSC message never blocks it for longer than a dictionary update.

Never a stuck note: each note-on pushes its note-off onto a heap (in song beats, so tempo changes move it
but never lose it); stop, a clock discontinuity (start/stop/locate), ``panic`` and ``close`` send every
pending note-off at once; a note-on of a pitch that is still sounding first ends it.
"""

from __future__ import annotations

import heapq
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from companion.core.drum_map import N_VOICES, OUTPUT_PITCHES, VOICES, output_pitches_from
from companion.core.errors import UsageError
from companion.core.midi_values import CHANNEL, DRUM_CHANNEL, PITCH, channel_to_wire, check_bpm
from companion.core.pattern import Pattern
from companion.live.clock import Clock, ClockState, InternalClock, OscClock
from companion.live.output import MidiOutput
from companion.live.timeline import SWITCH_MODES, Timeline, pattern_to_loop_events

log = logging.getLogger(__name__)

MAX_WAIT_S = 0.25  # the thread re-reads the clock at least this often, even with nothing due (or stopped)
MAX_EVENTS_PER_STEP = 4096  # note-ons and -offs one wake may look at (a second's stall at 999 BPM with every
# voice on every 16th: about 1,200, nearly all skipped as late) ...
MAX_SENT_PER_STEP = 128  # ... and send: a step's notes and their note-offs are at most 18 (more with pushed
# notes). Past either, the song position is not one the player can follow (e.g. beats so large that adding a
# step changes nothing, every note due at once): it ends every note and waits for the transport to move (a
# new clock epoch) instead of looping, or flooding the port
LATE_FLOOR_S = 0.005  # a note-on later than this and than half a grid step is skipped (and counted)
SWITCH_INTERVAL_S = 0.0005  # GIL hand-over interval while a player exists (CPython's default is 5 ms)
RT_PRIORITY = (
    5  # SCHED_FIFO priority of the player thread where allowed: above every normal thread, below JACK
)


def raise_thread_priority() -> str:
    """Make the calling thread real-time (SCHED_FIFO) or at least less nice, where the OS allows it.

    Returns what was obtained, for the log. On a loaded machine this is what keeps notes on time: a
    normal thread may wait a whole scheduler time slice (several ms) for a CPU.
    """
    tid = threading.get_native_id()
    if hasattr(os, "sched_setscheduler"):
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
            return f"SCHED_FIFO {RT_PRIORITY}"
        except (OSError, AttributeError):
            pass  # no rtprio rights: try niceness next
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, -10)
            return "nice -10"
        except OSError:
            pass  # not allowed either: normal priority, said in the log
    return "normal priority"


@dataclass
class PlayerStats:
    notes_on: int = 0
    notes_off: int = 0
    late_skipped: int = 0
    max_late_s: float = 0.0


class Player:
    """Plays patterns live: ``start``, ``stop``, ``panic``, ``queue``, ``set_transport``, ``close``.

    ``switch`` is the configured default for ``queue``'s ``when`` (``--switch``). ``trace``, when a list,
    receives ``(due_time_s, sent_time_s, message)`` for every message sent (for the jitter benchmark).
    ``realtime`` asks for a real-time thread priority (``raise_thread_priority``) where the OS allows it.
    """

    def __init__(
        self,
        output: MidiOutput,
        clock: Clock,
        channel: int = DRUM_CHANNEL,
        output_pitches: Sequence[int] = OUTPUT_PITCHES,
        switch: str = "bar",
        *,
        trace: list | None = None,
        realtime: bool = True,
        pitch_overrides: Mapping[str, int] | None = None,
    ) -> None:
        if switch not in SWITCH_MODES:
            raise UsageError(f"switch must be one of {', '.join(SWITCH_MODES)}, got {switch!r}")
        if len(output_pitches) != N_VOICES:
            raise UsageError(f"output_pitches must have {N_VOICES} entries, got {len(output_pitches)}")
        self.output = output
        self.clock = clock
        self.channel = CHANNEL.check(channel)
        self._wire_channel = channel_to_wire(channel)  # the status byte's nibble
        self.output_pitches = tuple(output_pitches)
        self.pitch_overrides = dict(pitch_overrides or {})  # --drum-map: wins over the pitches a queue brings
        output_pitches_from(self.pitch_overrides)  # validates
        self.switch = switch
        self.trace = trace
        self.realtime = realtime
        self.priority = "normal priority"  # what the thread obtained (see raise_thread_priority)
        self.stats = PlayerStats()
        self._cond = threading.Condition(threading.RLock())
        self._timeline = Timeline()
        self._offs: list[tuple[float, int, int]] = []  # heap of (off_beats, serial, pitch)
        self._sounding: dict[int, int] = {}  # pitch -> serial of its pending note-off
        self._serial = 0
        self._running = False
        self._closed = False
        self._epoch = -1
        self._need_seek = True
        self._floor_time_s = 0.0  # time of the last seek: notes looked back to are due then, not before
        self._held_epoch: int | None = None  # a clock epoch the player could not follow (see _step)
        self.heartbeat_s = time.monotonic()  # the thread's last turn (the watchdog reads it: a stuck thread)
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        clock.subscribe(self._wake)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="nudge-live-midi", daemon=True
        )
        self._thread.start()
        started.wait(1.0)  # until it has its priority

    # -- public interface (any thread) ------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._running and self.clock.state().playing

    def start(self) -> None:
        """Play (the internal clock starts from beat 0; an outside clock plays while its transport runs)."""
        self._check_open()
        self.clock.start()  # outside our lock: the clock calls back into _wake
        with self._cond:
            self._running = True
            self._need_seek = True
            self._cond.notify()

    def resume(self, state: ClockState | None) -> None:
        """Play on from ``state``, the clock line of a player that died (``LivePlayer`` restarts it):
        the clock takes that line where it is now, so the pattern goes on in time. None: ``start``."""
        self._check_open()
        if state is None:
            self.start()
            return
        self.clock.resume(state)
        with self._cond:
            self._running = True
            self._need_seek = True
            self._cond.notify()

    def stop(self) -> None:
        """Stop playing; every sounding note gets its note-off before this returns."""
        with self._cond:
            self._running = False
            self._flush_offs()
            self._cond.notify()
        self.clock.stop()

    def stats_snapshot(self) -> PlayerStats:
        """A copy of ``stats`` taken under the player's lock: never in the middle of a scheduling turn (where
        a note-on can be counted before the note-off it ends)."""
        with self._cond:
            return replace(self.stats)

    def panic(self) -> None:
        """Note-off for every sounding note, then all-notes-off (CC 123) on the channel. Keeps playing."""
        with self._cond:
            self._flush_offs()
            self.output.panic(self.channel)

    def queue(self, pattern: Pattern, when: str = "bar", pitches: Sequence[int] | None = None) -> None:
        """Make ``pattern`` the one that plays: ``now``, at the next ``bar`` line, or at the ``loop`` end.

        ``pitches``: the output pitch per voice of this pattern (as in the reply that carried it: the serving
        model's, or a varied clip's own); the ``pitch_overrides`` still win. Default: ``output_pitches``.
        """
        self._check_open()
        if when not in SWITCH_MODES:
            raise UsageError(f"when must be one of {', '.join(SWITCH_MODES)}, got {when!r}")
        loop = pattern_to_loop_events(pattern, self.pitches_for(pitches))
        with self._cond:
            state = self.clock.state()
            now_beats = state.beats_at(time.monotonic())
            if self._running and state.playing and not self._need_seek:
                switch = self._timeline.queue(loop, when, now_beats)
                log.debug("pattern queued (%s): takes over at beat %.3f", when, switch)
            else:
                self._timeline.set(loop, now_beats)
                self._need_seek = True
            self._cond.notify()

    def pitches_for(self, pitches: Sequence[int] | None) -> tuple[int, ...]:
        """The pitch per voice to play: ``pitches`` (or ``output_pitches``) with the overrides applied."""
        if pitches is None:
            return self.output_pitches
        pitches = tuple(pitches)
        if len(pitches) != N_VOICES or not all(PITCH.holds(p) for p in pitches):
            raise UsageError(f"pitches must be {N_VOICES} ints in {PITCH.low}..{PITCH.high}, got {pitches!r}")
        return tuple(self.pitch_overrides.get(voice, p) for voice, p in zip(VOICES, pitches, strict=True))

    def set_transport(self, bpm: float, beat: float, playing: bool, time_s: float | None = None) -> bool:
        """Transport from the Max for Live device; followed with ``--clock osc``, else checked and ignored.

        ``time_s`` is when the message arrived (``time.monotonic``; default now). Returns whether the clock
        took it. Raises ``ValueError`` (naming the field) for bad values.
        """
        if isinstance(self.clock, OscClock):
            self.clock.set_transport(bpm, beat, playing, time_s)
            return True
        OscClock(check_bpm(bpm)).set_transport(bpm, beat, playing)  # validation only
        return False

    def set_bpm(self, bpm: float) -> None:
        """Tempo of the internal clock (the position in the pattern is kept)."""
        if not isinstance(self.clock, InternalClock):
            raise UsageError(f"the tempo follows the {self.clock.kind} clock; set_bpm needs the internal one")
        self.clock.set_bpm(bpm)

    def close(self) -> None:
        """Stop the thread, end every note (note-offs, then CC 123), close the port and the clock."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._running = False
            self._flush_offs()
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        with self._cond:
            self.output.panic(self.channel)
            self.output.close()
        self.clock.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the scheduling thread --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the live MIDI player is closed")

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _run(self, started: threading.Event) -> None:
        if self.realtime:
            self.priority = raise_thread_priority()
            log.info("live MIDI thread runs at %s", self.priority)
        started.set()
        with self._cond:
            while not self._closed:
                self.heartbeat_s = time.monotonic()
                try:
                    timeout = self._step()
                except Exception:  # keep the thread alive and the notes ended; the error goes to the log
                    log.exception("live MIDI scheduling failed; stopping playback")
                    self._running = False
                    self._flush_offs()
                    timeout = None
                # never longer than MAX_WAIT_S: the heartbeat then says the thread is alive, even when idle
                self._cond.wait(MAX_WAIT_S if timeout is None else min(timeout, MAX_WAIT_S))

    def _step(self) -> float | None:
        """Send everything that is due; return how long to sleep (None: until woken)."""
        state = self.clock.state()
        if state.epoch != self._epoch:  # start, stop or locate: nothing carries over
            self._epoch = state.epoch
            self._flush_offs()
            self._need_seek = True
        if not (self._running and state.playing) or state.epoch == self._held_epoch:
            self._flush_offs()
            return None
        now = time.monotonic()
        if self._need_seek:
            self._need_seek = False
            # back to the start/locate position if that was a moment ago, and half a step before it: a
            # transport that starts a hair after a step (Live's first read after Play is rarely exactly 0)
            # still plays that step's notes, at once if their time has passed, on time if it is still ahead
            now_beats = state.beats_at(now)
            loop = self._timeline.loop
            window = loop.half_step_beats if loop else 0.0
            self._timeline.seek(max(min(state.anchor_beats, now_beats), now_beats - window), window)
            self._floor_time_s = now
        sent_before = self.stats.notes_on + self.stats.notes_off
        for _ in range(MAX_EVENTS_PER_STEP):
            if self.stats.notes_on + self.stats.notes_off - sent_before > MAX_SENT_PER_STEP:
                break
            event = self._timeline.peek()
            off_beats = self._next_off_beats()
            if off_beats is not None and (event is None or off_beats <= event.beats):
                due = state.time_at(off_beats)
                now = time.monotonic()
                if due > now:
                    return min(due - now, MAX_WAIT_S)
                _, _, pitch = heapq.heappop(self._offs)
                del self._sounding[pitch]
                self._send_off(pitch, due)
                continue
            if event is None:
                return MAX_WAIT_S
            due = max(state.time_at(event.beats), self._floor_time_s)  # a look-back note: due at the seek
            now = time.monotonic()
            if due > now:
                return min(due - now, MAX_WAIT_S)
            self._timeline.advance()
            late = now - due
            if late > max(LATE_FLOOR_S, state.seconds(event.late_beats)):
                self.stats.late_skipped += 1
                log.debug("note %d skipped: %.1f ms late", event.pitch, late * 1000)
                continue
            self.stats.max_late_s = max(self.stats.max_late_s, late)
            if event.pitch in self._sounding:  # same pitch again before its note-off: end it first
                self._sounding.pop(event.pitch)
                self._send_off(event.pitch, due)
            self._serial += 1
            self._sounding[event.pitch] = self._serial
            on_beats = max(event.beats, state.beats_at(due))  # a look-back note lasts its full length
            heapq.heappush(self._offs, (on_beats + event.duration_beats, self._serial, event.pitch))
            self._send((0x90 | self._wire_channel, event.pitch, event.velocity), due)
            self.stats.notes_on += 1
        log.error(
            "live MIDI: more notes due at once than any pattern holds, at song beat %.6g; every note ended, "
            "waiting for the transport to move",
            state.beats_at(time.monotonic()),
        )
        self._held_epoch = state.epoch
        self._flush_offs()
        return None

    def _next_off_beats(self) -> float | None:
        while self._offs:
            off_beats, serial, pitch = self._offs[0]
            if self._sounding.get(pitch) == serial:
                return off_beats
            heapq.heappop(self._offs)  # superseded: that note was ended early
        return None

    def _flush_offs(self) -> None:
        """Send every pending note-off now."""
        now = time.monotonic()
        while self._offs:
            _, serial, pitch = heapq.heappop(self._offs)
            if self._sounding.get(pitch) == serial:
                del self._sounding[pitch]
                self._send_off(pitch, now)

    def _send_off(self, pitch: int, due: float) -> None:
        self._send((0x80 | self._wire_channel, pitch, 0), due)
        self.stats.notes_off += 1

    def _send(self, message: tuple[int, int, int], due: float) -> None:
        if self.output.closed:
            return
        self.output.send(message)
        if self.trace is not None:
            self.trace.append((due, time.monotonic(), message))
