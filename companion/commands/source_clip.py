"""Reading the ``--from FILE.mid`` of a ``nudge`` command: one pattern, its tempo, and what the user should
know about how it was read. Every command that takes a clip from a file uses ``read_source_clip`` so that
all of them name the file in an error, say which bars they used and warn about a file that is no drums.

- An unreadable file, or a tempo outside 20..999 bpm when no ``--tempo`` replaces it: ``SourceClipError``
  naming the flag and the file.
- Longer than the pattern (more than 8 bars, or than ``--bars``): a note says which bars were used.
- No note on MIDI channel 10, or no note on a pitch of the drum map: a note says the file may not be
  drums (it is read all the same: many drum files use another channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from companion.core.drum_map import PitchMapper
from companion.core.errors import UsageError
from companion.core.midi_file import (
    DRUM_CHANNEL,
    MAX_MIDI_FILE_BYTES,
    MidiFileError,
    read_drum_arrays,
    read_drum_take,
    take_to_pattern,
)
from companion.core.midi_values import MAX_BPM, MIN_BPM
from companion.core.pattern import (
    FILE_PARTIAL_BAR,
    MAX_BARS,
    Grid,
    Pattern,
    bars_for_length,
    whole_bars,
)


class SourceClipError(UsageError):
    """The file cannot be used as the clip; the message names the flag and the file."""


@dataclass
class SourceClip:
    pattern: Pattern
    bpm: float  # the file's first tempo (or 120 when it sets none)
    file_bars: int  # the bars the file spans
    notes: list[str] = field(default_factory=list)  # for the user, one line each


def read_source_clip(
    path: Path,
    steps_per_beat: int,
    mapper: PitchMapper,
    *,
    bars: int | None = None,
    tempo_given: bool = False,
    flag: str = "--from",
) -> SourceClip:
    """The clip ``path`` holds, from its first bar: ``bars`` long (default: the file's, at most 8)."""
    where = f"{flag} {path}"
    try:
        take = read_drum_take(path, channel=None)
        on_drum_channel = len(read_drum_arrays(path, DRUM_CHANNEL, MAX_MIDI_FILE_BYTES).ticks)
    except MidiFileError as error:
        raise SourceClipError(f"{flag} {error}") from None  # (the message starts with the path)
    if not tempo_given and not MIN_BPM <= take.bpm <= MAX_BPM:
        raise SourceClipError(
            f"{where}: its tempo is {take.bpm:g} bpm, outside {MIN_BPM:g}..{MAX_BPM:g}; "
            "give the tempo to write with --tempo BPM"
        )
    numerator, denominator = take.time_signature
    try:
        probe = Grid.from_time_signature(numerator, denominator, 1, steps_per_beat)
    except ValueError as error:
        raise SourceClipError(f"{where}: {error}") from None
    file_bars = max(1, whole_bars(take.length_beats, probe.beats_per_bar, FILE_PARTIAL_BAR))
    used = bars if bars is not None else bars_for_length(take.length_beats, probe.beats_per_bar, 0.5)
    grid = Grid.from_time_signature(numerator, denominator, used, steps_per_beat)
    dropped_before = mapper.n_dropped
    pattern = take_to_pattern(take, grid, 0.0, mapper)
    notes = []
    if file_bars > used:
        why = f"--bars {used}" if bars is not None else f"a pattern has at most {MAX_BARS} bars"
        notes.append(
            f"{path} has {file_bars} bars; using bars 1-{used} ({why}; to use others, cut the file in your "
            "DAW)"
        )
    n_notes = len(take.notes)
    if on_drum_channel == 0:
        notes.append(
            f"{path}: none of its {n_notes} notes is on MIDI channel 10 (drums); read as drums all the same "
            "(is it a drum part?)"
        )
    unmapped = mapper.n_dropped - dropped_before  # notes of the window on pitches outside the map
    if unmapped and pattern.n_hits == 0:
        notes.append(
            f"{path}: none of its notes in bars 1-{used} is on a pitch of the drum map (kick 35/36, snare "
            "38/40, hats 42/44/46, ...); the clip is empty (is it a drum part?)"
        )
    elif unmapped > pattern.n_hits:
        notes.append(
            f"{path}: {unmapped} of its notes in bars 1-{used} are on pitches outside the drum map and were "
            "left out (is it a drum part?)"
        )
    return SourceClip(pattern, take.bpm, file_bars, notes)
