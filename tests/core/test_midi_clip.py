"""A .mid file as notes with their real lengths, every channel; notes written back in generate's format."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from companion.core.errors import UsageError
from companion.core.midi_clip import read_midi_clip, write_midi_clip
from companion.core.midi_file import MidiFileError
from companion.core.notes import rows_to_notes
from tests.support.midi_files import write_midi


def rows(notes):
    return np.stack(
        [notes[k].astype(float) for k in ("pitch", "start_beats", "duration_beats", "velocity")], 1
    )


def test_reads_every_channel_with_lengths_and_whole_bars(tmp_path):
    path = tmp_path / "bass.mid"
    midi = mido.MidiFile(type=0, ticks_per_beat=96)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))
    track.append(mido.Message("note_on", channel=0, note=40, velocity=90, time=0))
    track.append(mido.Message("note_on", channel=3, note=52, velocity=70, time=48))
    track.append(mido.Message("note_off", channel=0, note=40, time=48))
    track.append(mido.Message("note_on", channel=3, note=52, velocity=0, time=96))  # note-on 0 ends it
    track.append(mido.Message("note_on", channel=0, note=40, velocity=80, time=384))  # never ended
    track.append(mido.MetaMessage("end_of_track", time=192))
    midi.tracks.append(track)
    midi.save(path)
    clip = read_midi_clip(path)
    np.testing.assert_allclose(rows(clip.notes), [[40, 0.0, 1.0, 90], [52, 0.5, 1.5, 70], [40, 6.0, 2.0, 80]])
    assert clip.bars == 2 and clip.bpm == pytest.approx(100) and clip.length_beats == 8.0


def test_a_trailing_bar_counts_when_half_played(tmp_path):
    assert read_midi_clip(write_midi(tmp_path / "a.mid", [(0, 36, 100)], end_beats=5.9)).bars == 1
    assert read_midi_clip(write_midi(tmp_path / "b.mid", [(0, 36, 100)], end_beats=6.0)).bars == 2


def test_writes_generates_format_and_reads_back(tmp_path):
    notes = rows_to_notes([[36, 0.0, 0.25, 100], [38, 1.02, 0.5, 90], [42, 3.9, 0.5, 40]])
    path = write_midi_clip(tmp_path / "o.mid", notes, 4.0, 97.0, 4)
    back = read_midi_clip(path)
    np.testing.assert_allclose(
        rows(back.notes), [[36, 0.0, 0.25, 100], [38, 1.02083, 0.5, 90], [42, 3.9, 0.1, 40]], atol=1e-3
    )
    midi = mido.MidiFile(path)
    assert {m.channel for m in midi.tracks[0] if m.type.startswith("note")} == {9}
    assert sum(m.time for m in midi.tracks[0]) == 4 * 480  # exactly the clip long
    with pytest.raises(UsageError, match="bpm"):
        write_midi_clip(tmp_path / "x.mid", notes, 4.0, 5.0, 4)


def test_unreadable_files_name_themselves(tmp_path):
    bad = tmp_path / "x.mid"
    bad.write_bytes(b"MThd junk")
    with pytest.raises(MidiFileError, match=r"x\.mid: not a readable MIDI file"):
        read_midi_clip(bad)
    with pytest.raises(MidiFileError, match="time signature 7/8 is not supported"):
        read_midi_clip(write_midi(tmp_path / "s.mid", [(0, 36, 100)], time_signatures=((0, 7, 8),)))
