"""Clock sources: where tempo, beat position and playing/stopped come from.

A clock publishes a ``ClockState``: a straight line from time (``time.monotonic`` seconds) to song beats
(quarter notes), valid from its anchor on, plus ``playing`` and an ``epoch`` that grows at every
discontinuity (start, stop, locate). Followers of an outside clock (OSC transport, MIDI clock) do not jump
at every message: small errors are corrected by a fraction (``FOLLOW_GAIN``) per message, so network or
MIDI jitter does not reach the notes; an error over ``LOCATE_BEATS`` (and over ``LOCATE_MIN_S`` of time, at
fast tempos) is a locate and moves the line at once.

- ``InternalClock``: runs at a set tempo from beat 0 when started.
- ``OscClock``: fed by ``set_transport(bpm, beat, playing)`` (the Max for Live device's transport).
- ``MidiClock``: 24 ppqn clock, start/stop/continue and song position pointer from a MIDI input port. No
  Python runs in the MIDI API's thread: a reader thread (``clock_in.MidiInputReader``) empties rtmidi's
  queue and times each message by rtmidi's delta times (``clock_in.SourceTimeMap``), not by when it ran.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from companion.core.errors import UsageError
from companion.core.midi_values import DEFAULT_BPM, MAX_BPM, MAX_SONG_BEATS, MIN_BPM, check_bpm
from companion.live.clock_in import MidiInputReader

log = logging.getLogger(__name__)

FOLLOW_GAIN = 0.2  # share of a measured phase error that is corrected per message
LOCATE_BEATS = 0.25  # a larger disagreement between the clock and a message is a jump of the song position
LOCATE_MIN_S = 0.06  # ... but never less than this in time: at 999 BPM a quarter beat is 15 ms, within the
# arrival jitter of transport messages from Max's low-priority thread
PPQN = 24  # MIDI clocks per quarter note
CLOCKS_PER_SPP = 6  # a song-position-pointer unit is a 16th note
CLOCK_PORT_NAME = "Nudge Clock"  # the virtual MIDI input for clock, where no --clock-in is given


@dataclass(frozen=True)
class ClockState:
    """``beats = anchor_beats + (t - anchor_time_s) * bpm / 60`` while playing; frozen while stopped."""

    playing: bool
    bpm: float
    anchor_time_s: float
    anchor_beats: float
    epoch: int = 0

    def beats_at(self, time_s: float) -> float:
        if not self.playing:
            return self.anchor_beats
        return self.anchor_beats + (time_s - self.anchor_time_s) * self.bpm / 60.0

    def time_at(self, beats: float) -> float:
        return self.anchor_time_s + (beats - self.anchor_beats) * 60.0 / self.bpm

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.bpm


class Clock:
    """Base class: a thread-safe ``ClockState`` and listeners called after every change."""

    kind = "base"

    def __init__(self, bpm: float = DEFAULT_BPM, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._state = ClockState(False, check_bpm(bpm), now(), 0.0, 0)
        self._listeners: list[Callable[[], None]] = []

    def state(self) -> ClockState:
        return self._state  # immutable; replaced as a whole

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the clock where the player decides it (only the internal clock does anything)."""

    def stop(self) -> None:
        """Stop the clock where the player decides it (only the internal clock does anything)."""

    def close(self) -> None:
        """Release what the clock holds (an input port)."""

    def resume(self, state: ClockState) -> None:
        """Take over ``state``, another clock's line (a restarted player's): located where it is now."""
        with self._lock:
            now = self._now()
            self._take_over(state.beats_at(now))
            self._locate(now, state.beats_at(now), check_bpm(state.bpm), state.playing)

    def _take_over(self, beats: float) -> None:
        """Subclasses: adopt the song position ``beats`` (see ``resume``)."""

    def _publish(self, state: ClockState) -> None:
        self._state = state
        for listener in self._listeners:
            listener()

    def _locate(self, time_s: float, beats: float, bpm: float, playing: bool) -> None:
        """A discontinuity: a new line through (time_s, beats) and a new epoch."""
        self._publish(ClockState(playing, bpm, time_s, beats, self._state.epoch + 1))

    def _follow(self, time_s: float, beats: float, bpm: float) -> None:
        """A measurement while playing: correct a share of the phase error, take the tempo, or locate."""
        state = self._state
        predicted = state.beats_at(time_s)
        error = beats - predicted
        if abs(error) > max(LOCATE_BEATS, LOCATE_MIN_S * bpm / 60.0):
            log.debug("clock locate: %.3f beats off, now at beat %.3f", error, beats)
            self._locate(time_s, beats, bpm, True)
        else:
            self._publish(
                replace(state, bpm=bpm, anchor_time_s=time_s, anchor_beats=predicted + FOLLOW_GAIN * error)
            )


class InternalClock(Clock):
    """A clock of its own at a set tempo; ``start`` plays from beat 0, ``set_bpm`` keeps the position."""

    kind = "internal"

    def start(self) -> None:
        with self._lock:
            self._locate(self._now(), 0.0, self._state.bpm, True)

    def stop(self) -> None:
        with self._lock:
            now = self._now()
            self._locate(now, self._state.beats_at(now), self._state.bpm, False)

    def set_bpm(self, bpm: float) -> None:
        bpm = check_bpm(bpm)
        with self._lock:
            now = self._now()
            state = self._state
            self._publish(replace(state, bpm=bpm, anchor_time_s=now, anchor_beats=state.beats_at(now)))


class OscClock(Clock):
    """Follows the transport messages of the Max for Live device: tempo, beat position, playing."""

    kind = "osc"

    def set_transport(self, bpm: float, beat: float, playing: bool, time_s: float | None = None) -> None:
        """Take one transport message (validated: ``ValueError`` names the field and its range)."""
        bpm = check_bpm(bpm)
        if isinstance(beat, bool) or not isinstance(beat, int | float) or not math.isfinite(beat) or beat < 0:
            raise UsageError(f"beat must be a finite number >= 0, got {beat!r}")
        if beat > MAX_SONG_BEATS:
            raise UsageError(f"beat must be in 0..{MAX_SONG_BEATS:.0f} (what a set can hold), got {beat:g}")
        if playing not in (True, False, 0, 1):
            raise UsageError(f"playing must be 0 or 1, got {playing!r}")
        now = self._now() if time_s is None else time_s
        with self._lock:
            state = self._state
            if bool(playing) != state.playing:
                self._locate(now, float(beat), bpm, bool(playing))
            elif playing:
                self._follow(now, float(beat), bpm)
            elif beat != state.anchor_beats or bpm != state.bpm:
                self._publish(replace(state, bpm=bpm, anchor_time_s=now, anchor_beats=float(beat)))


class MidiClock(Clock):
    """Follows MIDI clock: tempo from the spacing of 24-per-beat ticks, position from start/SPP/ticks.

    ``feed(message, time_s)`` takes one raw message; ``MidiClock.open`` connects an rtmidi input port that
    feeds it from a reader thread, with the times the messages happened. After start (0xFA) or continue
    (0xFB) the transport runs from the next tick on.
    """

    kind = "midi"

    def __init__(self, bpm: float = DEFAULT_BPM, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bpm, now)
        self._ticks = 0  # song position, in clocks, of the next tick
        self._pending_start = False
        self._tick_times: deque[float] = deque(maxlen=PPQN + 1)
        self._input: MidiInputReader | None = None
        self.port_name = ""
        self.jack_port: str | None = None  # our own input port, on JACK

    @property
    def position_beats(self) -> float:
        return self._ticks / PPQN

    def _take_over(self, beats: float) -> None:
        self._ticks = round(beats * PPQN)  # the next tick's position; the follower corrects the rest
        self._pending_start = False

    def feed(self, message: Sequence[int], time_s: float | None = None) -> None:
        if not message:
            return
        now = self._now() if time_s is None else time_s
        status = message[0]
        with self._lock:
            state = self._state
            if status == 0xF8:
                self._tick(now)
            elif status == 0xFA:  # start: from the top, on the next tick
                self._ticks, self._pending_start = 0, True
            elif status == 0xFB:  # continue: from the current position, on the next tick
                self._pending_start = True
            elif status == 0xFC:  # stop
                self._pending_start = False
                if state.playing:
                    self._locate(now, state.beats_at(now), state.bpm, False)
            elif status == 0xF2 and len(message) == 3:  # song position pointer, in 16ths
                self._ticks = (message[1] | (message[2] << 7)) * CLOCKS_PER_SPP
                if not state.playing:
                    self._publish(replace(state, anchor_time_s=now, anchor_beats=self.position_beats))

    def _tick(self, now: float) -> None:
        times = self._tick_times
        if times and now - times[-1] > 1.0:  # a pause in the clock stream: old spacing says nothing
            times.clear()
        times.append(now)
        bpm = self._state.bpm
        if len(times) >= 3:
            spacing = (times[-1] - times[0]) / (len(times) - 1)
            if spacing > 0:
                bpm = min(max(60.0 / (spacing * PPQN), MIN_BPM), MAX_BPM)
        beats = self.position_beats
        if self._pending_start:
            self._pending_start = False
            self._locate(now, beats, bpm, True)
        elif self._state.playing:
            self._follow(now, beats, bpm)
        else:
            self._publish(replace(self._state, bpm=bpm))
        if self._state.playing:
            self._ticks += 1

    @classmethod
    def open(cls, api: str = "auto", port: str | None = None, bpm: float = DEFAULT_BPM) -> MidiClock:
        """A clock fed by an rtmidi input: the existing port ``port``, or a virtual port "Nudge Clock"."""
        import rtmidi

        from companion.live.output import MIDI_APIS, MidiPortError, find_port, resolve_api

        clock = cls(bpm)
        errors = []
        for candidate in resolve_api(api):
            constant, virtual_ok, _ = MIDI_APIS[candidate]
            try:
                midi_in = rtmidi.MidiIn(getattr(rtmidi, constant or "API_UNSPECIFIED"), name=CLOCK_PORT_NAME)
            except rtmidi.RtMidiError as error:
                errors.append(f"cannot open the {candidate} MIDI client: {error}")
                continue
            try:
                if port is None:
                    if not virtual_ok:
                        raise MidiPortError(
                            f"MIDI API {candidate!r} has no virtual ports; name one with --clock-in"
                        )
                    midi_in.open_virtual_port(CLOCK_PORT_NAME)
                    clock.port_name = (
                        f"{CLOCK_PORT_NAME}:{CLOCK_PORT_NAME}" if candidate == "jack" else CLOCK_PORT_NAME
                    )
                else:
                    names = midi_in.get_ports()
                    index = find_port(names, port)
                    midi_in.open_port(index, "in")
                    clock.port_name = names[index]
                if candidate == "jack":
                    clock.jack_port = f"{CLOCK_PORT_NAME}:{CLOCK_PORT_NAME if port is None else 'in'}"
            except (rtmidi.RtMidiError, MidiPortError) as error:
                midi_in.delete()
                errors.append(str(error))
                continue
            midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
            # no Python callback in the MIDI API's (JACK's real-time) thread: a reader thread of ours
            clock._input = MidiInputReader(midi_in, clock.feed, name="nudge-clock-in", now=clock._now)
            return clock
        raise MidiPortError("; ".join(errors))

    def close(self) -> None:
        """Stop the reader thread, then close the port (idempotent)."""
        reader, self._input = self._input, None
        if reader is not None:
            reader.close()
