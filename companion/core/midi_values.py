"""MIDI's value rules, each written once: pitch, velocity, channel and tempo, as data (after mido).

Channels are numbered 1..16 everywhere in Nudge (options, configs, function arguments, messages), as DAWs
and drummers number them: the drums are on channel 10. Only the bytes on the wire count 0..15
(``channel_to_wire``, for status bytes and mido's ``channel``), where they are made and nowhere else.

Every check raises ``UsageError`` naming the field and the allowed range; the ``outside`` masks check
whole arrays at once (the notes of a clip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from companion.core.errors import UsageError


@dataclass(frozen=True)
class IntRange:
    """A MIDI value: an int in ``low..high``."""

    name: str
    low: int
    high: int

    @property
    def text(self) -> str:
        return f"an int in {self.low}..{self.high}"

    def holds(self, value: object) -> bool:
        """Whether ``value`` is an int (not a bool) in range."""
        whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
        return whole and self.low <= value <= self.high  # type: ignore[operator]

    def check(self, value: object, field: str | None = None) -> int:
        """``value`` as an int; ``UsageError`` naming ``field`` (default: the rule's name) otherwise."""
        if not self.holds(value):
            raise UsageError(f"{field or self.name} must be {self.text}, got {value!r}")
        return int(value)  # type: ignore[call-overload]

    def outside(self, values: np.ndarray) -> np.ndarray:
        """bool mask of the values that are not whole numbers in range (NaN included)."""
        values = np.asarray(values)
        with np.errstate(invalid="ignore"):
            return ~((values >= self.low) & (values <= self.high) & (values == np.floor(values)))


# rule                       name            low  high
PITCH = IntRange("pitch", 0, 127)
VELOCITY = IntRange("velocity", 1, 127)  # a note-on's: 0 would be a note-off
DATA_BYTE = IntRange("MIDI data byte", 0, 127)
CHANNEL = IntRange("MIDI channel", 1, 16)
DRUM_CHANNEL = 10  # General MIDI's percussion channel

MIN_BPM, MAX_BPM = 20.0, 999.0  # Ableton Live's tempo range: transport, live MIDI clocks, .mid files
DEFAULT_BPM = 120.0  # a file without a tempo, the internal clock, a file written without --tempo
# the song positions a set can hold, in beats: 2^20 beats is 145 hours at 120 BPM and 17 at 999 (beyond it a
# transport is refused: at 3e38, adding a step to a position changes nothing, and a player never passes it)
MAX_SONG_BEATS = float(2**20)


def check_bpm(bpm: object, field: str = "bpm") -> float:
    """A tempo in ``MIN_BPM..MAX_BPM`` as a float; ``UsageError`` naming ``field`` otherwise."""
    if isinstance(bpm, bool) or not isinstance(bpm, int | float | np.floating) or not math.isfinite(bpm):
        raise UsageError(f"{field} must be a finite number in {MIN_BPM:g}..{MAX_BPM:g}, got {bpm!r}")
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise UsageError(f"{field} must be in {MIN_BPM:g}..{MAX_BPM:g}, got {bpm!r}")
    return float(bpm)


def channel_to_wire(channel: int) -> int:
    """A channel 1..16 as the wire counts it, 0..15 (status bytes, mido)."""
    return CHANNEL.check(channel) - 1


def wire_to_channel(nibble: int) -> int:
    """A status byte's channel nibble 0..15 as Nudge numbers channels, 1..16."""
    return int(nibble) + 1


def velocities_to_midi(velocities: np.ndarray | float) -> np.ndarray:
    """Velocity 0..1 -> MIDI 1..127 (float64, same shape): the nearest, halves to even, at least 1."""
    return np.clip(np.rint(np.asarray(velocities, dtype=np.float64) * 127.0), VELOCITY.low, VELOCITY.high)


def midi_to_velocities(velocities: np.ndarray) -> np.ndarray:
    """MIDI velocity (fractions allowed; above 127 counts as 127) -> 0..1 (float64, same shape)."""
    return np.minimum(np.asarray(velocities, dtype=np.float64) / VELOCITY.high, 1.0)
