"""The prototype's 8 x F series on a time grid, and its MIDI renderer, on analyses with known positions."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from companion.core.drum_map import OUTPUT_PITCHES, VOICE_INDEX
from tests.support.spotify_analysis import make_analysis
from training.spotify.series import (
    ROW,
    SERIES_ROWS,
    SeriesGrid,
    analysis_to_series,
    series_to_midi,
    series_to_notes,
)
from training.spotify.validate import validate_analysis

# 120 BPM: a beat is 0.5 s, a 16th 0.125 s; the first beat (and bar) at 0.5 s; 2 bars of 4/4 end at 4.5 s
GRID = SeriesGrid(n_frames=48, frame_seconds=0.125)


def _analysis(**kwargs):
    defaults = dict(bpm=120, n_bars=2, tatums_per_beat=2, first_beat_s=0.5, segments=[(1.0, -6.0, 0.0)])
    return validate_analysis(make_analysis(**{**defaults, **kwargs}))


def test_default_grid_is_the_prototypes_8_x_3000():
    series = analysis_to_series(_analysis())
    assert series.shape == (8, 3000) and series.dtype == np.float32
    assert SERIES_ROWS == (
        "loudness",
        "beat_starts",
        "beat_durations",
        "tatum_starts",
        "tatum_durations",
        "bar_starts",
        "bar_durations",
        "section_starts",
    )


def test_event_rows_mark_the_frames_of_known_starts():
    series = analysis_to_series(_analysis(section_starts_s=(0.0, 2.5)), GRID)
    assert np.flatnonzero(series[ROW["beat_starts"]]).tolist() == [4, 8, 12, 16, 20, 24, 28, 32]
    assert np.flatnonzero(series[ROW["tatum_starts"]]).tolist() == list(range(4, 36, 2))
    assert np.flatnonzero(series[ROW["bar_starts"]]).tolist() == [4, 20]
    assert np.flatnonzero(series[ROW["section_starts"]]).tolist() == [0, 20]


def test_duration_rows_hold_the_current_events_duration_while_it_lasts():
    series = analysis_to_series(_analysis(), GRID)
    beat = series[ROW["beat_durations"]]
    assert beat[:4].tolist() == [0, 0, 0, 0]  # before the first beat
    assert np.allclose(beat[4:36], 0.5)
    assert beat[36:].tolist() == [0] * 12  # after the last beat ended at 4.5 s
    assert np.allclose(series[ROW["tatum_durations"]][4:36], 0.25)
    assert np.allclose(series[ROW["bar_durations"]][4:36], 2.0)


def test_loudness_rises_from_start_to_max_and_is_zero_outside_segments():
    # segment at 1.0 s: loudness_start -16 dB, loudness_max -6 dB at 1.02 s, lasts 0.1 s
    series = analysis_to_series(_analysis(), GRID)
    loud = series[ROW["loudness"]]
    assert loud[8] == pytest.approx((-16 + 60) / 60)  # frame 8 starts at 1.0 s: the segment's start
    assert loud[7] == 0.0 and loud[9] == 0.0  # before it and after its end (1.1 s)


def test_a_grid_shorter_than_the_track_cuts_it():
    series = analysis_to_series(_analysis(), SeriesGrid(n_frames=10, frame_seconds=0.125))
    assert np.flatnonzero(series[ROW["beat_starts"]]).tolist() == [4, 8]


def test_series_render_to_drum_notes_at_the_right_times_with_loudness_as_velocity():
    analysis = _analysis(segments=[(0.5 + 0.5 * i, -6.0 - i, 0.0) for i in range(8)])
    series = analysis_to_series(analysis, GRID)
    notes = series_to_notes(series, GRID, bpm=120)
    kick = OUTPUT_PITCHES[VOICE_INDEX["kick"]]
    kicks = notes[notes["pitch"] == kick]
    assert kicks["start_beats"].tolist() == [float(b) for b in range(1, 9)]  # at 120 BPM 1 s = 2 beats
    assert kicks["velocity"].tolist() == sorted(kicks["velocity"].tolist(), reverse=True)  # softer each beat
    assert kicks["velocity"][0] == round((-16 + 60) / 60 * 127)
    assert (notes["pitch"] == OUTPUT_PITCHES[VOICE_INDEX["closed_hat"]]).sum() == 16
    assert (notes["pitch"] == OUTPUT_PITCHES[VOICE_INDEX["ride"]]).sum() == 2


def test_series_to_midi_writes_a_readable_file(tmp_path):
    series = analysis_to_series(_analysis(), GRID)
    path = series_to_midi(tmp_path / "out" / "track.mid", series, GRID, bpm=120)
    midi = mido.MidiFile(path)
    ons = [m for m in midi.tracks[0] if m.type == "note_on" and m.velocity > 0]
    offs = [m for m in midi.tracks[0] if m.type == "note_off"]
    assert len(ons) == len(offs) == 8 + 16 + 2 + 1  # beats, tatums, bars, the section at 0 s
    assert [p.name for p in path.parent.iterdir()] == ["track.mid"]  # no temp file left behind


def test_generated_series_are_thresholded_and_bad_ones_rejected():
    series = np.zeros((8, GRID.n_frames), dtype=np.float32)
    series[ROW["beat_starts"], [3, 5]] = [0.49, 0.51]
    assert series_to_notes(series, GRID, bpm=120)["start_beats"].tolist() == [5 * 0.25]
    with pytest.raises(ValueError, match="shape"):
        series_to_notes(series[:7], GRID)
    series[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        series_to_notes(series, GRID)


def test_grid_rejects_nonsense():
    with pytest.raises(ValueError, match="n_frames"):
        SeriesGrid(n_frames=0)
    with pytest.raises(ValueError, match="frame_seconds"):
        SeriesGrid(frame_seconds=0.0)
