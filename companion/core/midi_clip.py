"""A .mid file as a clip of notes (``companion.core.notes.NOTE_DTYPE``), every channel, each with its length;
and a clip of notes written back as a .mid file: what the tools (``nudge groove``, ``drumify``, ``continue``,
``interpolate``, ``fill``) read and write.

Reading keeps what ``companion.core.midi_file`` reads for a drum take (every note-on of every channel, the
first tempo and time signature) plus each note's real length (its note-off, or the next note-on of the same
pitch and channel; a note never ended lasts until the file's end). The clip is the file's whole bars: a
trailing bar counts when half played (``FILE_PARTIAL_BAR``, as ``nudge generate --from``).
Writing is ``nudge generate``'s format (``midi_file.notes_to_midi``: type 0, ``TICKS_PER_BEAT``, tempo, time
signature, General MIDI drums on channel 10), atomically (a temp file, then a rename).
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
from companion.core.errors import MidiFileError
from companion.core.midi_file import MAX_MIDI_FILE_BYTES, notes_to_midi
from companion.core.midi_values import DEFAULT_BPM, DRUM_CHANNEL
from companion.core.notes import NOTE_DTYPE, OFF_GRID, sort_notes
from companion.core.pattern import FILE_PARTIAL_BAR, Grid, whole_bars
from companion.core.regular_files import NotRegularFileError, read_regular_file


@dataclass
class MidiClip:
    notes: np.ndarray  # [M] of NOTE_DTYPE, off the grid, by start
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
    clip = np.zeros(len(notes), dtype=NOTE_DTYPE)
    if notes:
        raw = np.array(notes, dtype=np.float64)  # [M, 4]: start tick, end tick, pitch, velocity
        raw[raw[:, 1] < 0, 1] = end_tick  # never ended: until the file's end
        clip["pitch"], clip["velocity"] = raw[:, 2], raw[:, 3]
        clip["start_beats"] = raw[:, 0] / tpb
        clip["duration_beats"] = np.maximum(raw[:, 1] - raw[:, 0], 1) / tpb
    clip["step"] = OFF_GRID
    clip = sort_notes(clip)
    last = float(clip["start_beats"].max()) if len(clip) else 0.0
    length = max(end_tick / tpb, last)
    bpm = mido.tempo2bpm(min(tempos)[1]) if tempos and min(tempos)[1] > 0 else DEFAULT_BPM
    bars = whole_bars(length, beats_per_bar, FILE_PARTIAL_BAR) if len(clip) else 0
    return MidiClip(clip, max(0, bars), beats_per_bar, float(bpm), (numerator, denominator))


def write_midi_clip(
    path: str | os.PathLike, notes: np.ndarray, length_beats: float, bpm: float, beats_per_bar: int
) -> Path:
    """``notes`` as ``nudge generate`` writes a file (channel 10, ``length_beats`` long), atomically."""
    midi = notes_to_midi(
        notes,
        bpm,
        channel=DRUM_CHANNEL,
        length_beats=length_beats,
        beats_per_bar=beats_per_bar,
        track_name="Nudge",
    )
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return atomic_write_bytes(path, buffer.getvalue())
