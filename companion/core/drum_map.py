"""The 9-voice drum kit, the input pitch maps and the output pitches.

Every Nudge pattern has the same nine voices in the same order (``VOICES``). Incoming MIDI pitches are
mapped to voices by a ``DrumMap`` (a plain dict table); outgoing notes use one pitch per voice.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from companion.core.errors import UsageError
from companion.core.midi_values import PITCH

# name           output pitch (General MIDI)   group
VOICE_TABLE: tuple[tuple[str, int, str], ...] = (
    ("kick", 36, "low"),  # Bass Drum 1
    ("snare", 38, "mid"),  # Acoustic Snare
    ("closed_hat", 42, "high"),  # Closed Hi-Hat
    ("open_hat", 46, "high"),  # Open Hi-Hat
    ("low_tom", 43, "low"),  # High Floor Tom (GMD's low tom)
    ("mid_tom", 47, "mid"),  # Low-Mid Tom
    ("high_tom", 50, "mid"),  # High Tom
    ("crash", 49, "high"),  # Crash Cymbal 1
    ("ride", 51, "high"),  # Ride Cymbal 1
)

VOICES: tuple[str, ...] = tuple(name for name, _, _ in VOICE_TABLE)
N_VOICES = len(VOICES)
VOICE_INDEX: dict[str, int] = {name: i for i, name in enumerate(VOICES)}
OUTPUT_PITCHES: tuple[int, ...] = tuple(pitch for _, pitch, _ in VOICE_TABLE)
VOICE_GROUPS: dict[str, tuple[int, ...]] = {
    group: tuple(i for i, (_, _, g) in enumerate(VOICE_TABLE) if g == group)
    for group in ("low", "mid", "high")
}

# The Roland TD-11 map used by the Groove MIDI Dataset's authors (Gillick et al. 2019), including the
# kit's "edge" pitches 22 and 26 (outside General MIDI's 35..81) that carry about 10% of hi-hat hits.
ROLAND_GMD: dict[int, str] = {
    36: "kick",  # Kick
    38: "snare",  # Snare (head)
    37: "snare",  # Snare X-stick
    40: "snare",  # Snare rim
    42: "closed_hat",  # HH closed (bow)
    22: "closed_hat",  # HH closed (edge)
    44: "closed_hat",  # HH pedal
    46: "open_hat",  # HH open (bow)
    26: "open_hat",  # HH open (edge)
    43: "low_tom",  # Tom 3 (head)
    58: "low_tom",  # Tom 3 (rim)
    47: "mid_tom",  # Tom 2 (head)
    45: "mid_tom",  # Tom 2 (rim)
    50: "high_tom",  # Tom 1 (head)
    48: "high_tom",  # Tom 1 (rim)
    49: "crash",  # Crash 1 (bow)
    55: "crash",  # Crash 1 (edge)
    57: "crash",  # Crash 2 (bow)
    52: "crash",  # Crash 2 (edge)
    51: "ride",  # Ride (bow)
    59: "ride",  # Ride (edge)
    53: "ride",  # Ride (bell)
}

# General MIDI percussion (channel 10), reduced to the nine voices.
GENERAL_MIDI: dict[int, str] = {
    35: "kick",  # Acoustic Bass Drum
    36: "kick",  # Bass Drum 1
    37: "snare",  # Side Stick
    38: "snare",  # Acoustic Snare
    39: "snare",  # Hand Clap
    40: "snare",  # Electric Snare
    42: "closed_hat",  # Closed Hi-Hat
    44: "closed_hat",  # Pedal Hi-Hat
    46: "open_hat",  # Open Hi-Hat
    41: "low_tom",  # Low Floor Tom
    43: "low_tom",  # High Floor Tom
    45: "mid_tom",  # Low Tom
    47: "mid_tom",  # Low-Mid Tom
    48: "high_tom",  # Hi-Mid Tom
    50: "high_tom",  # High Tom
    49: "crash",  # Crash Cymbal 1
    52: "crash",  # Chinese Cymbal
    55: "crash",  # Splash Cymbal
    57: "crash",  # Crash Cymbal 2
    51: "ride",  # Ride Cymbal 1
    53: "ride",  # Ride Bell
    59: "ride",  # Ride Cymbal 2
}

DRUM_MAPS: dict[str, dict[int, str]] = {"roland": ROLAND_GMD, "gm": GENERAL_MIDI}


class UnknownPitchPolicy(StrEnum):
    """What to do with a pitch that the drum map does not know."""

    DROP = "drop"  # drop the note and count it in ``PitchMapper.dropped``
    ERROR = "error"  # raise ``UnknownPitchError``


class UnknownPitchError(UsageError):
    """A note's pitch is not in the drum map and the policy is ``error``."""


def voice_lookup(table: Mapping[int, str]) -> np.ndarray:
    """The pitch -> voice rule as a table: int64 [128], the voice index of every MIDI pitch, -1 where
    ``table`` does not know it. Every reader of notes (files, clips, ingest) maps pitches through one."""
    unknown = sorted({v for v in table.values() if v not in VOICE_INDEX})
    if unknown:
        raise UsageError(f"drum map names unknown voices {unknown}; allowed: {list(VOICES)}")
    lookup = np.full(128, -1, dtype=np.int64)
    for pitch, voice in table.items():
        lookup[PITCH.check(pitch, "drum map pitch")] = VOICE_INDEX[voice]
    return lookup


def merged_pitch_table(output_pitches: Sequence[int]) -> dict[int, str]:
    """Input map for clips: the model's own output pitches first, then General MIDI, then the Roland map."""
    return {**ROLAND_GMD, **GENERAL_MIDI, **{int(pitch): VOICES[i] for i, pitch in enumerate(output_pitches)}}


@functools.lru_cache(maxsize=16)
def clip_voice_lookup(output_pitches: tuple[int, ...]) -> np.ndarray:
    """``voice_lookup(merged_pitch_table(output_pitches))``, cached and read-only (one per model)."""
    lookup = voice_lookup(merged_pitch_table(output_pitches))
    lookup.setflags(write=False)
    return lookup


@dataclass
class PitchMapper:
    """Maps MIDI pitches to voice indices under an unknown-pitch policy, counting what it drops."""

    table: Mapping[int, str] = field(default_factory=lambda: ROLAND_GMD)
    policy: UnknownPitchPolicy = UnknownPitchPolicy.DROP
    dropped: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.policy = UnknownPitchPolicy(self.policy)
        self.lookup = voice_lookup(self.table)  # int64 [128]

    def voices_of(self, pitches: np.ndarray) -> np.ndarray:
        """int64 [K] voice index of each pitch; -1 (and counted) where dropped under the ``drop`` policy,
        ``UnknownPitchError`` naming the first unknown pitch under ``error``."""
        pitches = np.asarray(pitches, dtype=np.int64)
        in_range = ~PITCH.outside(pitches)
        voices = np.where(in_range, self.lookup[np.where(in_range, pitches, 0)], -1)
        unknown = voices < 0
        if unknown.any():
            if self.policy is UnknownPitchPolicy.ERROR:
                known = np.flatnonzero(self.lookup >= 0).tolist()
                raise UnknownPitchError(
                    f"pitch {int(pitches[unknown][0])} is not in the drum map (known: {known})"
                )
            self.dropped.update(pitches[unknown].tolist())
        return voices

    def voice_of(self, pitch: int) -> int | None:
        """Voice index of ``pitch``; ``None`` (and counted) when dropped under the ``drop`` policy."""
        voice = int(self.voices_of(np.array([int(pitch)]))[0])
        return None if voice < 0 else voice

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())


def drum_map_by_name(name: str) -> dict[int, str]:
    """One of the built-in input maps: ``roland`` (Groove MIDI Dataset) or ``gm`` (General MIDI)."""
    try:
        return DRUM_MAPS[name]
    except KeyError:
        raise UsageError(f"unknown drum map {name!r}; allowed: {sorted(DRUM_MAPS)}") from None


def output_pitches_from(overrides: Mapping[str, int] | None = None) -> tuple[int, ...]:
    """Output pitch per voice, with optional ``{voice: pitch}`` overrides (e.g. a Drum Rack's pads)."""
    pitches = list(OUTPUT_PITCHES)
    for voice, pitch in (overrides or {}).items():
        if voice not in VOICE_INDEX:
            raise UsageError(f"unknown voice {voice!r} in drum map override; allowed: {list(VOICES)}")
        pitches[VOICE_INDEX[voice]] = PITCH.check(pitch, f"pitch for voice {voice!r}")
    return tuple(pitches)


def voices_from_names(text: str, field_name: str = "keep") -> tuple[int, ...]:
    """``"kick,snare"`` -> the voice indices (sorted, no repeats); an empty text keeps no voice.

    Names are those of ``VOICES``, separated by commas (spaces around them are ignored); ``hats`` stands for
    both hi-hats, ``toms`` for the three toms and ``cymbals`` for crash and ride, as a producer says them.
    """
    indices: set[int] = set()
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        group = VOICE_ALIASES.get(name, (name,))
        if any(voice not in VOICE_INDEX for voice in group):
            allowed = ", ".join([*VOICES, *VOICE_ALIASES])
            raise UsageError(f"{field_name}: unknown voice {raw.strip()!r}; allowed: {allowed}")
        indices.update(VOICE_INDEX[voice] for voice in group)
    return tuple(sorted(indices))


VOICE_ALIASES: dict[str, tuple[str, ...]] = {
    "hats": ("closed_hat", "open_hat"),
    "toms": ("low_tom", "mid_tom", "high_tom"),
    "cymbals": ("crash", "ride"),
}
