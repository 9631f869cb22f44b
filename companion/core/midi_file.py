"""Pattern <-> Standard MIDI File (through mido), with tempo and time signature.

Reading gives ``DrumArrays`` (the drum notes as arrays, in ticks: what the training ingest slices) or a
``DrumTake`` built on them: every drum note of the file in beats, the first tempo and time signature.
Slicing a take into patterns is the caller's business (``take_to_pattern`` for one window).
Writing is atomic: a temp file beside the target, then a rename.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import OUTPUT_PITCHES, PitchMapper
from companion.core.errors import MidiFileError
from companion.core.midi_values import DEFAULT_BPM, DRUM_CHANNEL, channel_to_wire, check_bpm
from companion.core.notes import NOTE_DTYPE, OFF_GRID, notes_to_pattern, pattern_to_notes, sort_notes
from companion.core.pattern import FILE_PARTIAL_BAR, Grid, Pattern, bars_for_length
from companion.core.regular_files import NotRegularFileError, read_regular_file

# caps on the .mid files read: mido takes ~3 s and ~90 MB for 256 KiB of dense notes. A clip to nudge
# (--from) is a few KB and the longest GMD performance 152 KB; a training corpus may hold longer takes.
MAX_MIDI_FILE_BYTES = 256 * 1024
MAX_INGEST_FILE_BYTES = 16 * 1024 * 1024
TICKS_PER_BEAT = 480


@dataclass
class DrumTake:
    """The drum notes of one MIDI file, in quarter-note beats from the file's start."""

    notes: np.ndarray  # [K] of NOTE_DTYPE (companion.core.notes), off the grid, by start
    bpm: float
    time_signature: tuple[int, int]
    length_beats: float
    other_channel_notes: int = 0  # note-ons that were not on the drum channel
    tempo_changes: int = 0
    source: str = ""


@dataclass
class DrumArrays:
    """The drum notes of one MIDI file as arrays, in ticks, plus tempo and meter."""

    ticks: np.ndarray  # int64 [K], note-on times, in file order within a tick
    pitches: np.ndarray  # int16 [K]
    velocities: np.ndarray  # int16 [K], 1..127
    ticks_per_beat: int
    end_tick: int  # the file's end (its longest track's end_of_track)
    tempos: list[tuple[int, int]]  # (tick, microseconds per beat), by tick, file order within a tick
    time_signatures: list[tuple[int, int, int]]  # (tick, numerator, denominator), likewise
    other_channel_notes: int  # note-ons that were not on the drum channel

    @property
    def bpm(self) -> float | None:
        """The first tempo; None when the file sets none (or a tempo of 0)."""
        return float(mido.tempo2bpm(self.tempos[0][1])) if self.tempos and self.tempos[0][1] > 0 else None


def read_drum_arrays(
    path: str | os.PathLike, channel: int | None = DRUM_CHANNEL, max_bytes: int = MAX_INGEST_FILE_BYTES
) -> DrumArrays:
    """Note-ons of ``path`` on ``channel`` (1..16; ``None``: any), track by track (no per-message copies).

    ``MidiFileError`` (without the path: the caller names it) for unreadable and unsupported files, and
    for anything but a regular file of at most ``max_bytes`` (a FIFO is refused at once, never waited on).
    """
    try:
        data = read_regular_file(path, max_bytes)
    except NotRegularFileError as error:
        reason = str(error).removeprefix(f"{os.fspath(path)}: ")
        raise MidiFileError(f"not a readable MIDI file: {reason}") from error
    except OSError as error:
        raise MidiFileError(f"not a readable MIDI file ({type(error).__name__}: {error})") from error
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as error:
        raise MidiFileError(f"not a readable MIDI file ({type(error).__name__}: {error})") from error
    wire_channel = None if channel is None else channel_to_wire(channel)
    if midi.type == 2:
        raise MidiFileError("MIDI file type 2 (independent sequences) is not supported")
    if not midi.ticks_per_beat or midi.ticks_per_beat <= 0:
        raise MidiFileError("SMPTE time division is not supported")
    ticks: list[int] = []
    pitches: list[int] = []
    velocities: list[int] = []
    tempos: list[tuple[int, int]] = []
    meters: list[tuple[int, int, int]] = []
    other = 0
    end_tick = 0
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            kind = message.type
            if kind == "note_on":
                if message.velocity == 0:
                    continue
                if wire_channel is not None and message.channel != wire_channel:
                    other += 1
                    continue
                ticks.append(tick)
                pitches.append(message.note)
                velocities.append(message.velocity)
            elif kind == "set_tempo":
                tempos.append((tick, message.tempo))
            elif kind == "time_signature":
                meters.append((tick, message.numerator, message.denominator))
        end_tick = max(end_tick, tick)
    order = np.argsort(np.asarray(ticks, dtype=np.int64), kind="stable")  # as mido.merge_tracks orders
    return DrumArrays(
        ticks=np.asarray(ticks, dtype=np.int64)[order],
        pitches=np.asarray(pitches, dtype=np.int16)[order],
        velocities=np.asarray(velocities, dtype=np.int16)[order],
        ticks_per_beat=int(midi.ticks_per_beat),
        end_tick=int(end_tick),
        tempos=sorted(tempos, key=lambda t: t[0]),
        time_signatures=sorted(meters, key=lambda m: m[0]),
        other_channel_notes=other,
    )


def read_drum_take(path: str | os.PathLike, channel: int | None = DRUM_CHANNEL) -> DrumTake:
    """Read the drum notes (note-ons on ``channel`` 1..16; ``None`` = any channel) of a .mid file.

    Raises ``MidiFileError`` for unreadable files (a FIFO, a device, a folder, over ``MAX_MIDI_FILE_BYTES``)
    and files without any note on the drum channel.
    """
    try:
        arrays = read_drum_arrays(path, channel, MAX_MIDI_FILE_BYTES)
    except MidiFileError as error:
        raise MidiFileError(f"{path}: {error}") from error
    tpb = arrays.ticks_per_beat
    if len(arrays.ticks) == 0:
        where = "on any channel" if channel is None else f"on MIDI channel {channel}"
        raise MidiFileError(f"{path}: no drum notes {where} ({arrays.other_channel_notes} notes elsewhere)")
    notes = np.empty(len(arrays.ticks), dtype=NOTE_DTYPE)  # [K]
    notes["pitch"], notes["start_beats"] = arrays.pitches, arrays.ticks / tpb
    notes["duration_beats"], notes["velocity"], notes["step"] = 0.1, arrays.velocities, OFF_GRID
    notes = sort_notes(notes)
    first_tempo = arrays.tempos[0][1] if arrays.tempos else None
    return DrumTake(
        notes=notes,
        bpm=arrays.bpm or DEFAULT_BPM,
        time_signature=arrays.time_signatures[0][1:] if arrays.time_signatures else (4, 4),
        length_beats=max(arrays.end_tick / tpb, float(notes["start_beats"][-1])),
        other_channel_notes=arrays.other_channel_notes,
        tempo_changes=sum(tempo != first_tempo for _, tempo in arrays.tempos),
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
    """A type-0 MIDI file holding the pattern on ``channel`` (1..16) with tempo and time signature, exactly
    the pattern long."""
    grid = pattern.grid
    notes = pattern_to_notes(pattern, output_pitches)
    return notes_to_midi(
        notes,
        bpm,
        channel=channel,
        length_beats=grid.length_beats,
        beats_per_bar=grid.beats_per_bar,
        track_name=track_name,
    )


def notes_to_midi(
    notes: np.ndarray,
    bpm: float = DEFAULT_BPM,
    *,
    channel: int = DRUM_CHANNEL,
    length_beats: float | None = None,
    beats_per_bar: int | None = None,
    track_name: str | None = None,
) -> mido.MidiFile:
    """A type-0 MIDI file of ``notes`` ([K] of ``NOTE_DTYPE``) on ``channel`` (1..16) at ``bpm``.

    With ``length_beats`` the file is exactly that long: a note stays inside (one looped to the very end
    stops at the end); with ``beats_per_bar`` it carries that time signature (over a quarter note)."""
    bpm = check_bpm(bpm)
    wire_channel = channel_to_wire(channel)
    end_tick = None if length_beats is None else round(length_beats * TICKS_PER_BEAT)
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message); note-offs sort first
    columns = (notes["pitch"], notes["start_beats"], notes["duration_beats"], notes["velocity"])
    for pitch, start_beats, duration_beats, velocity in zip(*(c.tolist() for c in columns), strict=True):
        start = round(start_beats * TICKS_PER_BEAT)
        end = round((start_beats + duration_beats) * TICKS_PER_BEAT)
        if end_tick is not None:  # rounding must not leave the clip
            start, end = min(start, end_tick - 1), min(end_tick, end)
        end = max(start + 1, end)
        on = mido.Message("note_on", channel=wire_channel, note=pitch, velocity=velocity)
        off = mido.Message("note_off", channel=wire_channel, note=pitch, velocity=0)
        events += [(start, 1, on), (end, 0, off)]
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    if track_name is not None:
        track.append(mido.MetaMessage("track_name", name=track_name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    if beats_per_bar is not None:
        track.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4, time=0))
    last = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0 if end_tick is None else max(0, end_tick - last)))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def write_pattern_midi(path: str | os.PathLike, pattern: Pattern, **kwargs: Any) -> Path:
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
    """Read a .mid file as one pattern (and its bpm). ``bars`` defaults to the file's length from
    ``start_beats`` (``bars_for_length``: a trailing bar counts when half played; at most ``MAX_BARS``)."""
    take = read_drum_take(path, channel=None)
    numerator, denominator = take.time_signature
    probe = Grid.from_time_signature(numerator, denominator, 1, steps_per_beat)
    if bars is None:
        bars = bars_for_length(take.length_beats - start_beats, probe.beats_per_bar, FILE_PARTIAL_BAR)
    grid = Grid.from_time_signature(numerator, denominator, bars, steps_per_beat)
    return take_to_pattern(take, grid, start_beats, mapper), take.bpm
