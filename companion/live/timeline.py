"""A pattern as an endless, looping stream of note-ons in song beats, with queued pattern switches.

Every note keeps two positions: ``nominal_beats`` (its grid step, the note record's ``step``) and
``start_beats`` (grid step plus micro-timing, which may be up to half a step earlier or later). Which
pattern a note belongs to is decided by its nominal position, the moment it sounds by its start: so a snare
pushed ahead of the bar line where a new pattern takes over belongs to the new pattern, and is still
played early. Because offsets are at most
half a step, sorting by start also sorts by nominal position, and one cursor ``(loop, index)`` walks both.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.core.drum_map import OUTPUT_PITCHES
from companion.core.errors import UsageError
from companion.core.notes import pattern_to_notes
from companion.core.pattern import Pattern

SWITCH_MODES: tuple[str, ...] = ("now", "bar", "loop")  # when a queued pattern takes over
EPSILON_BEATS = 1e-9


@dataclass(frozen=True)
class LoopEvents:
    """One pattern's notes for looping, sorted by ``start_beats`` (beats from the loop's start)."""

    length_beats: float
    beats_per_bar: int
    half_step_beats: float
    nominal_beats: tuple[float, ...]
    start_beats: tuple[float, ...]
    duration_beats: tuple[float, ...]
    pitches: tuple[int, ...]
    velocities: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.start_beats)


def pattern_to_loop_events(pattern: Pattern, output_pitches: Sequence[int] = OUTPUT_PITCHES) -> LoopEvents:
    """The pattern's notes (``pattern_to_notes``), each at its grid step (the record's ``step``) and its
    sounding start: the step plus the offset, which may reach half a step before the loop (an early downbeat
    sounds at the end of the loop before)."""
    if not isinstance(pattern, Pattern):
        raise TypeError(f"pattern must be a Pattern, got {type(pattern).__name__}")
    grid = pattern.grid
    length = grid.length_beats
    notes = pattern_to_notes(pattern, output_pitches)
    nominal = notes["step"] / grid.steps_per_beat  # [M], in beats
    # the offset: how far the note sounds from its step, across the loop end for a wrapped early downbeat
    offset = (notes["start_beats"] - nominal + length / 2) % length - length / 2  # [M], within half a step
    start = nominal + offset
    order = np.lexsort((notes["velocity"], notes["pitch"], notes["duration_beats"], nominal, start))
    return LoopEvents(
        length_beats=length,
        beats_per_bar=grid.beats_per_bar,
        half_step_beats=0.5 / grid.steps_per_beat,
        start_beats=tuple(start[order].tolist()),
        nominal_beats=tuple(nominal[order].tolist()),
        duration_beats=tuple(notes["duration_beats"][order].tolist()),
        pitches=tuple(notes["pitch"][order].tolist()),
        velocities=tuple(notes["velocity"][order].tolist()),
    )


@dataclass(frozen=True)
class NoteEvent:
    """One note-on to play at song beat ``beats`` (micro-timing included)."""

    beats: float
    nominal_beats: float
    pitch: int
    velocity: int
    duration_beats: float
    late_beats: float  # how late it may still be played (half a grid step)


@dataclass
class _Segment:
    loop: LoopEvents
    origin_beats: float  # song beat where this pattern's loop starts (and restarts every length_beats)
    from_beats: float  # the first nominal song beat that belongs to this pattern
    cycle: int = 0
    index: int = 0

    def seek(self, beats: float) -> None:
        """Point the cursor at the first note whose nominal position is at or after song beat ``beats``."""
        self.from_beats = beats
        relative = beats - self.origin_beats
        self.cycle = math.floor(relative / self.loop.length_beats + EPSILON_BEATS)
        within = relative - self.cycle * self.loop.length_beats
        self.index = bisect.bisect_left(self.loop.nominal_beats, within - EPSILON_BEATS)
        if self.index >= len(self.loop):
            self.cycle, self.index = self.cycle + 1, 0

    def peek(self) -> NoteEvent | None:
        loop = self.loop
        if not len(loop):
            return None
        base = self.origin_beats + self.cycle * loop.length_beats
        i = self.index
        return NoteEvent(
            beats=base + loop.start_beats[i],
            nominal_beats=base + loop.nominal_beats[i],
            pitch=loop.pitches[i],
            velocity=loop.velocities[i],
            duration_beats=loop.duration_beats[i],
            late_beats=loop.half_step_beats,
        )

    def advance(self) -> None:
        self.index += 1
        if self.index >= len(self.loop):
            self.cycle, self.index = self.cycle + 1, 0


class Timeline:
    """The note-ons to come: the current pattern, and a queued one that takes over at its switch beat."""

    def __init__(self) -> None:
        self._current: _Segment | None = None
        self._pending: _Segment | None = None

    @property
    def loop(self) -> LoopEvents | None:
        return self._current.loop if self._current else None

    @property
    def pending_from_beats(self) -> float | None:
        """The song beat where the queued pattern takes over, if one is queued."""
        return self._pending.from_beats if self._pending else None

    @property
    def origin_beats(self) -> float:
        return self._current.origin_beats if self._current else 0.0

    def set(self, loop: LoopEvents, beats: float = 0.0) -> None:
        """Replace the pattern outright (nothing is playing), aligned to the bar at or before ``beats``."""
        self._pending = None
        self._current = _Segment(loop, 0.0, beats)
        self.seek(beats)

    def seek(self, beats: float, lookback_beats: float = 0.0) -> None:
        """The song position jumped (start, locate): play from ``beats``, the loop restarting at its bar.

        ``lookback_beats``: notes whose grid position is up to this much before ``beats`` are played too
        (the player passes half a step: a transport that starts a hair after a step keeps that step's notes).
        """
        if self._pending is not None:
            self._current, self._pending = self._pending, None
        if self._current is not None:
            bar = self._current.loop.beats_per_bar
            self._current.origin_beats = math.floor(beats / bar + EPSILON_BEATS) * bar
            self._current.seek(beats - max(0.0, lookback_beats))

    def queue(self, loop: LoopEvents, when: str, now_beats: float) -> float:
        """Queue ``loop`` to take over ``now``, at the next ``bar`` line or at the ``loop`` end.

        Returns the song beat of the switch. The lead of half a grid step lets the new pattern's pushed
        notes still sound early; a newer queue replaces an older one.
        """
        if when not in SWITCH_MODES:
            raise UsageError(f"when must be one of {', '.join(SWITCH_MODES)}, got {when!r}")
        current = self._current
        if current is None:
            self.set(loop, now_beats)
            return now_beats
        if when == "now":
            switch, origin = now_beats, current.origin_beats
        else:
            lead = max(loop.half_step_beats, current.loop.half_step_beats) + EPSILON_BEATS
            unit = current.loop.beats_per_bar if when == "bar" else current.loop.length_beats
            switch = current.origin_beats + math.ceil((now_beats + lead - current.origin_beats) / unit) * unit
            origin = switch
        pending = _Segment(loop, origin, switch)
        pending.seek(switch)
        self._pending = pending
        return switch

    def peek(self) -> NoteEvent | None:
        """The next note-on, switching to the queued pattern when its nominal position is reached."""
        while True:
            event = self._current.peek() if self._current else None
            pending = self._pending
            if pending is None or (
                event is not None and event.nominal_beats < pending.from_beats - EPSILON_BEATS
            ):
                return event
            self._current, self._pending = pending, None

    def advance(self) -> None:
        """Consume the event ``peek`` returned."""
        if self._current is not None:
            self._current.advance()
