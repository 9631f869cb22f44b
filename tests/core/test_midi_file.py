"""Pattern <-> .mid through mido: round trips, tempo and meter, and broken files."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.midi_file import (
    TICKS_PER_BEAT,
    MidiFileError,
    midi_file_to_pattern,
    pattern_to_midi,
    read_drum_take,
    write_pattern_midi,
)
from companion.core.pattern import Grid, Pattern
from tests.support.midi_files import write_midi

TICK_IN_STEPS = 4 / TICKS_PER_BEAT  # one tick at 16ths


def random_pattern(grid: Grid, seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    shape = (N_VOICES, grid.n_steps)
    hits = rng.random(shape) < 0.3
    velocities = rng.integers(1, 128, shape) / 127
    offsets = rng.uniform(-0.45, 0.45, shape)
    return Pattern(grid, hits, velocities, offsets)


@pytest.mark.parametrize("grid", [Grid(4, 4, 4), Grid(4, 3, 2), Grid(4, 4, 1)], ids=str)
def test_round_trip_through_a_file(tmp_path, grid):
    pattern = random_pattern(grid, grid.n_steps)
    path = write_pattern_midi(tmp_path / "p.mid", pattern, bpm=93.5)
    back, bpm = midi_file_to_pattern(path)
    assert back.grid == grid and bpm == pytest.approx(93.5, abs=1e-3)
    assert np.array_equal(back.hits, pattern.hits)
    assert np.array_equal(np.rint(back.velocities * 127), np.rint(pattern.velocities * 127))  # 1..127 exact
    assert np.abs(back.offsets_steps - pattern.offsets_steps).max() <= TICK_IN_STEPS / 2 + 1e-6


def test_file_carries_tempo_and_time_signature(tmp_path):
    pattern = random_pattern(Grid(4, 3, 2), 1)
    midi = pattern_to_midi(pattern, bpm=140.0)
    metas = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(metas["set_tempo"].tempo) == pytest.approx(140.0, abs=1e-3)
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (3, 4)
    assert midi.length > 0 and all(m.channel == 9 for m in midi.tracks[0] if not m.is_meta)


def test_read_take_tempo_meter_and_changes(tmp_path):
    path = write_midi(
        tmp_path / "t.mid",
        [(0.0, 36, 100), (3.5, 42, 50)],
        bpm=87.0,
        time_signatures=[(0, 3, 4)],
        two_tracks=True,
    )
    take = read_drum_take(path)
    assert take.bpm == pytest.approx(87.0, abs=1e-3) and take.time_signature == (3, 4)
    assert take.notes[["start_beats", "pitch", "velocity"]].tolist() == [(0.0, 36, 100), (3.5, 42, 50)]
    midi = mido.MidiFile(path)
    midi.tracks[0].insert(1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=960))
    midi.save(tmp_path / "changes.mid")
    assert read_drum_take(tmp_path / "changes.mid").tempo_changes == 1


def test_no_tempo_means_120_and_no_meter_means_four_four(tmp_path):
    take = read_drum_take(write_midi(tmp_path / "n.mid", [(0.0, 36, 100)], bpm=None, time_signatures=[]))
    assert take.bpm == 120.0 and take.time_signature == (4, 4)


def test_write_validates_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.mid"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"bpm must be in 20\.\.999"):
        write_pattern_midi(path, Pattern.empty(Grid()), bpm=1000)
    with pytest.raises(ValueError, match="channel"):
        write_pattern_midi(path, Pattern.empty(Grid()), channel=17)  # channels are 1..16
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable MIDI file"),
        (b"RIFF....WAVEfmt ", "not a readable MIDI file"),
        (
            b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90",
            "not a readable MIDI file",
        ),
    ],
    ids=["empty", "not-midi", "truncated"],
)
def test_broken_files_raise_with_reason(tmp_path, content, message):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiFileError, match=message):
        read_drum_take(path)


def test_files_without_drums(tmp_path):
    with pytest.raises(MidiFileError, match=r"no drum notes on MIDI channel 10 \(0 notes elsewhere\)"):
        read_drum_take(write_midi(tmp_path / "empty.mid", []))
    piano = write_midi(tmp_path / "piano.mid", [(0.0, 60, 90), (1.0, 64, 90)], channel=1)
    with pytest.raises(MidiFileError, match=r"no drum notes on MIDI channel 10 \(2 notes elsewhere\)"):
        read_drum_take(piano)
    assert len(read_drum_take(piano, channel=None).notes) == 2


def test_type_two_files_are_refused(tmp_path):
    midi = mido.MidiFile(type=2)
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=90)]))
    midi.save(tmp_path / "t2.mid")
    with pytest.raises(MidiFileError, match="type 2"):
        read_drum_take(tmp_path / "t2.mid")


def test_midi_file_to_pattern_bars_and_start(tmp_path):
    notes = [(beat, 36, 100) for beat in range(0, 12)] + [(4.0, 38, 80)]
    path = write_midi(tmp_path / "k.mid", notes)
    pattern, _ = midi_file_to_pattern(path)
    assert pattern.grid.bars == 3 and pattern.hits[VOICE_INDEX["kick"]].sum() == 12
    second, _ = midi_file_to_pattern(path, bars=1, start_beats=4.0)
    assert second.hits[VOICE_INDEX["snare"], 0] and second.n_hits == 5


def test_hits_near_the_loop_end_stay_in_the_file(tmp_path):
    grid = Grid(4, 4, 1)
    shape = (N_VOICES, grid.n_steps)
    hits, velocities, offsets = (
        np.zeros(shape, bool),
        np.full(shape, 0.5, np.float32),
        np.zeros(shape, np.float32),
    )
    hits[0, 0], offsets[0, 0] = True, -0.001  # rounds to the last tick of the clip, not past it
    hits[2, 15], offsets[2, 15] = True, 0.45  # its note-off would run past the end
    pattern = Pattern(grid, hits, velocities, offsets)
    back, _ = midi_file_to_pattern(write_pattern_midi(tmp_path / "edge.mid", pattern))
    assert back.grid == grid and np.array_equal(back.hits, hits)
