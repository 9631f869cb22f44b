"""A .mid file as a clip of note rows (pitch, start_beats, duration_beats, velocity), every channel, and a
clip of note rows written back as a .mid file: what the tools (``nudge groove``, ``drumify``, ``continue``,
``interpolate``, ``fill``) read and write.

Reading keeps what ``companion.core.midi_file`` reads for a drum take (every note-on of every channel, the
first tempo and time signature) plus each note's real length (its note-off, or the next note-on of the same
pitch and channel; a note never ended lasts until the file's end). The clip is the file's whole bars: a
trailing bar counts when half played (``FILE_PARTIAL_BAR``, as ``nudge generate --from``).
Writing is ``nudge generate``'s format: type 0, ``TICKS_PER_BEAT``, tempo, time signature, channel 10,
atomically (a temp file, then a rename).
"""

from __future__ import annotations

import io
import os
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.errors import UsageError
from companion.core.midi_file import (
    DEFAULT_BPM,
    DRUM_CHANNEL,
    MAX_MIDI_FILE_BYTES,
    TICKS_PER_BEAT,
    MidiFileError,
)
from companion.core.pattern import FILE_PARTIAL_BAR, MAX_BPM, MIN_BPM, Grid, whole_bars
from companion.core.regular_files import NotRegularFileError, read_regular_file


@dataclass
class MidiClip:
    rows: np.ndarray  # float64 [M, 4]: pitch, start_beats, duration_beats, velocity 1..127; by start
    bars: int  # whole bars (a trailing bar counts when half played); may be 0
    beats_per_bar: int
    bpm: float
    time_signature: tuple[int, int]

    @property
    def length_beats(self) -> float:
        return float(self.bars * self.beats_per_bar)


def read_midi_clip(path: str | os.PathLike) -> MidiClip:
    """Every note of ``path`` (any channel, any pitch) with its length; ``MidiFileError`` naming the file
    for anything unreadable (not a regular file, larger than ``MAX_MIDI_FILE_BYTES``, not MIDI, type 2,
    SMPTE time, an unsupported time signature)."""
    where = os.fspath(path)
    try:
        data = read_regular_file(path, MAX_MIDI_FILE_BYTES)
        midi = mido.MidiFile(file=io.BytesIO(data))
    except NotRegularFileError as error:
        raise MidiFileError(
            f"{where}: not a readable MIDI file: {str(error).removeprefix(where + ': ')}"
        ) from error
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as error:
        raise MidiFileError(f"{where}: not a readable MIDI file ({type(error).__name__}: {error})") from error
    if midi.type == 2:
        raise MidiFileError(f"{where}: MIDI file type 2 (independent sequences) is not supported")
    tpb = midi.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MidiFileError(f"{where}: SMPTE time division is not supported")
    notes: list[list[float]] = []  # [start_tick, end_tick, pitch, velocity]
    tempos: list[tuple[int, int]] = []
    meters: list[tuple[int, int, int]] = []
    end_tick = 0
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], deque[int]] = defaultdict(deque)  # (channel, pitch) -> note indices
        for message in track:
            tick += message.time
            kind = message.type
            if kind in ("note_on", "note_off"):
                key = (message.channel, message.note)
                if kind == "note_on" and message.velocity > 0:
                    if sounding[key]:  # a new note-on ends the one before on the same pitch and channel
                        notes[sounding[key].popleft()][1] = tick
                    sounding[key].append(len(notes))
                    notes.append([tick, -1, message.note, message.velocity])
                elif sounding[key]:
                    notes[sounding[key].popleft()][1] = tick
            elif kind == "set_tempo":
                tempos.append((tick, message.tempo))
            elif kind == "time_signature":
                meters.append((tick, message.numerator, message.denominator))
        end_tick = max(end_tick, tick)
    numerator, denominator = min(meters)[1:] if meters else (4, 4)
    try:
        beats_per_bar = Grid.from_time_signature(numerator, denominator, 1).beats_per_bar
    except ValueError as error:
        raise MidiFileError(f"{where}: {error}") from error
    rows = np.zeros((len(notes), 4), np.float64)
    if notes:
        raw = np.array(notes, dtype=np.float64)
        raw[raw[:, 1] < 0, 1] = end_tick  # never ended: until the file's end
        rows[:, 0] = raw[:, 2]
        rows[:, 1] = raw[:, 0] / tpb
        rows[:, 2] = np.maximum(raw[:, 1] - raw[:, 0], 1) / tpb
        rows[:, 3] = raw[:, 3]
        rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))]
    last = float(rows[:, 1].max()) if len(rows) else 0.0
    length = max(end_tick / tpb, last)
    bpm = mido.tempo2bpm(min(tempos)[1]) if tempos and min(tempos)[1] > 0 else DEFAULT_BPM
    bars = whole_bars(length, beats_per_bar, FILE_PARTIAL_BAR) if len(rows) else 0
    return MidiClip(rows, max(0, bars), beats_per_bar, float(bpm), (numerator, denominator))


def clip_to_midi(
    rows: np.ndarray, length_beats: float, bpm: float, beats_per_bar: int, channel: int = DRUM_CHANNEL
) -> mido.MidiFile:
    """A type-0 file of the note rows on ``channel`` (default 10), with tempo and time signature; notes are
    kept inside ``length_beats`` (the file is exactly that long)."""
    if not MIN_BPM <= float(bpm) <= MAX_BPM:
        raise UsageError(f"bpm must be in {MIN_BPM:g}..{MAX_BPM:g}, got {bpm!r}")
    end_tick = round(length_beats * TICKS_PER_BEAT)
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message): note-offs first
    for pitch, start, duration, velocity in np.asarray(rows, dtype=np.float64).tolist():
        begin = min(max(0, round(start * TICKS_PER_BEAT)), end_tick - 1)
        end = max(begin + 1, min(end_tick, round((start + duration) * TICKS_PER_BEAT)))
        note, loud = int(pitch), int(min(127, max(1, round(velocity))))
        events.append((begin, 1, mido.Message("note_on", channel=channel, note=note, velocity=loud)))
        events.append((end, 0, mido.Message("note_off", channel=channel, note=note, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Nudge", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4, time=0))
    last = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - last)))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def write_midi_clip(
    path: str | os.PathLike, rows: np.ndarray, length_beats: float, bpm: float, beats_per_bar: int
) -> Path:
    """``clip_to_midi`` written to ``path`` atomically."""
    buffer = io.BytesIO()
    clip_to_midi(rows, length_beats, bpm, beats_per_bar).save(file=buffer)
    return atomic_write_bytes(path, buffer.getvalue())
