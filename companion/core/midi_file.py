"""Pattern <-> Standard MIDI File (through mido), with tempo and time signature.

Reading gives a ``DrumTake``: every drum note of the file in beats, the first tempo and time signature.
Slicing a take into patterns is the caller's business (``take_to_pattern`` for one window).
Writing is atomic: a temp file beside the target, then a rename.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import OUTPUT_PITCHES, PitchMapper
from companion.core.notes import Note, notes_to_pattern, pattern_to_notes
from companion.core.pattern import MAX_BPM, MIN_BPM, Grid, Pattern
from companion.core.regular_files import NotRegularFileError, read_regular_file

DRUM_CHANNEL = 9  # zero-based: MIDI channel 10
# a cap on the .mid files read: mido takes ~3 s and ~90 MB for 256 KiB of dense notes; the longest GMD
# performance is 152 KB (and a clip to nudge is a few KB)
MAX_MIDI_FILE_BYTES = 256 * 1024
DEFAULT_BPM = 120.0
TICKS_PER_BEAT = 480


class MidiFileError(ValueError):
    """A MIDI file cannot be read as a drum performance; the message says why."""


@dataclass
class DrumTake:
    """The drum notes of one MIDI file, in quarter-note beats from the file's start."""

    notes: list[Note]
    bpm: float
    time_signature: tuple[int, int]
    length_beats: float
    other_channel_notes: int = 0  # note-ons that were not on the drum channel
    tempo_changes: int = 0
    source: str = ""


def read_drum_take(path: str | os.PathLike, channel: int | None = DRUM_CHANNEL) -> DrumTake:
    """Read the drum notes (note-ons on ``channel``; ``None`` = any channel) of a .mid file.

    Raises ``MidiFileError`` for unreadable files (a FIFO, a device, a folder, over ``MAX_MIDI_FILE_BYTES``)
    and files without any note on the drum channel.
    """
    try:
        data = read_regular_file(path, MAX_MIDI_FILE_BYTES)
    except NotRegularFileError as error:
        raise MidiFileError(f"not a readable MIDI file: {error}") from error
    except OSError as error:
        raise MidiFileError(f"{path}: not a readable MIDI file ({type(error).__name__}: {error})") from error
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise MidiFileError(f"{path}: not a readable MIDI file ({type(error).__name__}: {error})") from error
    if midi.type == 2:
        raise MidiFileError(f"{path}: MIDI file type 2 (independent sequences) is not supported")
    tpb = midi.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MidiFileError(f"{path}: SMPTE time division is not supported")
    tempo = None
    time_signature = None
    tempo_changes = 0
    notes: list[Note] = []
    other = 0
    ticks = 0
    for message in mido.merge_tracks(midi.tracks):
        ticks += message.time
        if message.type == "set_tempo":
            if tempo is None:
                tempo = message.tempo
            elif message.tempo != tempo:
                tempo_changes += 1
        elif message.type == "time_signature" and time_signature is None:
            time_signature = (message.numerator, message.denominator)
        elif message.type == "note_on" and message.velocity > 0:
            if channel is not None and message.channel != channel:
                other += 1
                continue
            notes.append(Note(ticks / tpb, message.note, 0.1, message.velocity))
    if not notes:
        where = "on any channel" if channel is None else f"on MIDI channel {channel + 1}"
        raise MidiFileError(f"{path}: no drum notes {where} ({other} notes elsewhere)")
    bpm = mido.tempo2bpm(tempo) if tempo else DEFAULT_BPM
    return DrumTake(
        notes=sorted(notes),
        bpm=float(bpm),
        time_signature=time_signature or (4, 4),
        length_beats=max(ticks / tpb, notes[-1].start_beats),
        other_channel_notes=other,
        tempo_changes=tempo_changes,
        source=os.fspath(path),
    )


def take_to_pattern(
    take: DrumTake, grid: Grid, start_beats: float, mapper: PitchMapper | None = None
) -> Pattern:
    """The window of ``take`` that starts at ``start_beats`` and spans ``grid``."""
    return notes_to_pattern(take.notes, grid, mapper=mapper, start_beats=start_beats)


def pattern_to_midi(
    pattern: Pattern,
    bpm: float = DEFAULT_BPM,
    output_pitches: Sequence[int] = OUTPUT_PITCHES,
    channel: int = DRUM_CHANNEL,
    track_name: str = "Nudge",
) -> mido.MidiFile:
    """A type-0 MIDI file holding the pattern on ``channel`` with tempo and time signature."""
    if not (MIN_BPM <= float(bpm) <= MAX_BPM):
        raise ValueError(f"bpm must be in {MIN_BPM:g}..{MAX_BPM:g}, got {bpm!r}")
    if not 0 <= channel <= 15:
        raise ValueError(f"channel must be in 0..15 (zero-based), got {channel!r}")
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message); note-offs sort first
    end_tick = round(pattern.grid.length_beats * TICKS_PER_BEAT)
    for note in pattern_to_notes(pattern, output_pitches):
        start = min(
            round(note.start_beats * TICKS_PER_BEAT), end_tick - 1
        )  # rounding must not leave the clip
        # a note looped to the very end stops at the clip's end, so that the file is exactly the pattern long
        end = max(start + 1, min(end_tick, round((note.start_beats + note.duration_beats) * TICKS_PER_BEAT)))
        events.append(
            (start, 1, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity))
        )
        events.append((end, 0, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=track_name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(
        mido.MetaMessage("time_signature", numerator=pattern.grid.beats_per_bar, denominator=4, time=0)
    )
    last = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - last)))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def write_pattern_midi(path: str | os.PathLike, pattern: Pattern, **kwargs) -> Path:
    """Write ``pattern`` to ``path`` atomically; keyword arguments go to ``pattern_to_midi``."""
    buffer = io.BytesIO()
    pattern_to_midi(pattern, **kwargs).save(file=buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def midi_file_to_pattern(
    path: str | os.PathLike,
    bars: int | None = None,
    steps_per_beat: int = 4,
    mapper: PitchMapper | None = None,
    start_beats: float = 0.0,
) -> tuple[Pattern, float]:
    """Read a .mid file as one pattern (and its bpm). ``bars`` defaults to the file's length, capped at 8."""
    take = read_drum_take(path, channel=None)
    numerator, denominator = take.time_signature
    probe = Grid.from_time_signature(numerator, denominator, 1, steps_per_beat)
    if bars is None:
        whole = (take.length_beats - start_beats) / probe.beats_per_bar
        bars = min(8, max(1, math.ceil(whole - 1e-3)))
    grid = Grid.from_time_signature(numerator, denominator, bars, steps_per_beat)
    return take_to_pattern(take, grid, start_beats, mapper), take.bpm
