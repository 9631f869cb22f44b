"""The original prototype's view of a track: 8 time series on a fixed time grid (8 x 3000 by default).

The grid is ``n_frames`` frames of ``frame_seconds`` each; frame ``i`` covers ``[i*h, (i+1)*h)`` seconds from
the start of the track (h = ``frame_seconds``; the default 3000 x 0.1 s covers the first 5 minutes). Longer
tracks are cut at the grid's end, shorter ones padded with zeros. Rows (``SERIES_ROWS`` order):

0 ``loudness``        0..1: segment loudness in dB, mapped by (dB + 60) / 60 and clipped; within a segment it
                      rises linearly from ``loudness_start`` (at its start) to ``loudness_max`` (at
                      ``start + loudness_max_time``), then falls linearly to the next segment's
                      ``loudness_start``; sampled at each frame's start; 0 before the first segment and
                      after the last one ends.
1 ``beat_starts``     1.0 in the frame that holds a beat's start, else 0 (two beats in one frame: still 1).
2 ``beat_durations``  seconds: the duration of the latest beat that started in or before this frame, while
                      that beat lasts (the frame's start time is before the beat's end); 0 elsewhere.
3 ``tatum_starts``    as row 1, for tatums.
4 ``tatum_durations`` as row 2, for tatums.
5 ``bar_starts``      as row 1, for bars.
6 ``bar_durations``   as row 2, for bars.
7 ``section_starts``  as row 1, for sections (the first section, which starts at 0 s, included).

Events are kept only if the grid is finer than the shortest gap between them (the default 0.1 s is finer
than a 16th at 150 BPM); ``series_to_midi`` renders such a series — real or generated — back to drums.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import OUTPUT_PITCHES, VOICE_INDEX
from companion.core.errors import UsageError
from companion.core.midi_file import notes_to_midi
from companion.core.midi_values import DEFAULT_BPM, check_bpm, velocities_to_midi
from companion.core.notes import rows_to_notes, sort_notes
from training.spotify.validate import Analysis, Intervals

SERIES_ROWS: tuple[str, ...] = (
    "loudness",
    "beat_starts",
    "beat_durations",
    "tatum_starts",
    "tatum_durations",
    "bar_starts",
    "bar_durations",
    "section_starts",
)
ROW = {name: i for i, name in enumerate(SERIES_ROWS)}
LOUDNESS_FLOOR_DB = -60.0

# event row        drum voice     (rendering by series_to_midi; velocity from the loudness row)
SERIES_VOICES: tuple[tuple[str, str], ...] = (
    ("beat_starts", "kick"),
    ("tatum_starts", "closed_hat"),
    ("bar_starts", "ride"),
    ("section_starts", "crash"),
)


@dataclass(frozen=True)
class SeriesGrid:
    """``n_frames`` frames of ``frame_seconds`` each."""

    n_frames: int = 3000
    frame_seconds: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.n_frames, int) or not 1 <= self.n_frames <= 1_000_000:
            raise UsageError(f"n_frames must be an int in 1..1000000, got {self.n_frames!r}")
        if not (isinstance(self.frame_seconds, int | float) and 0.001 <= self.frame_seconds <= 10):
            raise UsageError(f"frame_seconds must be in 0.001..10, got {self.frame_seconds!r}")

    @property
    def frame_starts_s(self) -> np.ndarray:
        return np.arange(self.n_frames) * float(self.frame_seconds)  # float64 [F]

    def frame_of(self, seconds: np.ndarray) -> np.ndarray:
        """Frame index holding each time (int64; may be >= n_frames, callers drop those)."""
        return np.floor(np.asarray(seconds, dtype=np.float64) / self.frame_seconds + 1e-9).astype(np.int64)


def _loudness_row(analysis: Analysis, grid: SeriesGrid) -> np.ndarray:
    seg = analysis.segments
    if not len(seg):
        return np.zeros(grid.n_frames, dtype=np.float32)
    peak_times = seg.start + seg.loudness_max_time
    times = np.ravel(np.column_stack([seg.start, peak_times]))  # [2K]: start, peak, start, peak, ...
    levels = np.ravel(np.column_stack([seg.loudness_start, seg.loudness_max]))
    order = np.argsort(times, kind="stable")
    t = grid.frame_starts_s
    db = np.interp(t, times[order], levels[order])
    end = float(np.max(seg.start + seg.duration))
    row = np.clip((db - LOUDNESS_FLOOR_DB) / -LOUDNESS_FLOOR_DB, 0.0, 1.0)
    row[(t < seg.start[0]) | (t >= end)] = 0.0
    return row.astype(np.float32)


def _start_row(intervals: Intervals, grid: SeriesGrid) -> np.ndarray:
    row = np.zeros(grid.n_frames, dtype=np.float32)
    frames = grid.frame_of(intervals.start)
    row[frames[frames < grid.n_frames]] = 1.0
    return row


def _duration_row(intervals: Intervals, grid: SeriesGrid) -> np.ndarray:
    row = np.zeros(grid.n_frames, dtype=np.float32)
    if not len(intervals):
        return row
    start_frames = grid.frame_of(intervals.start)
    latest = np.searchsorted(start_frames, np.arange(grid.n_frames), side="right") - 1  # [F]
    has = latest >= 0
    index = np.where(has, latest, 0)
    lasting = has & (grid.frame_starts_s < intervals.end[index])
    row[lasting] = intervals.duration[index[lasting]]
    return row


def analysis_to_series(analysis: Analysis, grid: SeriesGrid = SeriesGrid()) -> np.ndarray:
    """float32 [8, n_frames] in ``SERIES_ROWS`` order (see the module docstring for each row)."""
    rows = [
        _loudness_row(analysis, grid),
        _start_row(analysis.beats, grid),
        _duration_row(analysis.beats, grid),
        _start_row(analysis.tatums, grid),
        _duration_row(analysis.tatums, grid),
        _start_row(analysis.bars, grid),
        _duration_row(analysis.bars, grid),
        _start_row(analysis.sections, grid),
    ]
    return np.stack(rows)  # [8, F]


def series_to_notes(
    series: np.ndarray, grid: SeriesGrid = SeriesGrid(), bpm: float = DEFAULT_BPM, threshold: float = 0.5
) -> np.ndarray:
    """Event rows (>= ``threshold``) -> drum notes [K] of ``NOTE_DTYPE`` at ``frame * frame_seconds`` s, in
    beats at ``bpm``, off the grid, by start."""
    series = np.asarray(series, dtype=np.float32)
    if series.shape != (len(SERIES_ROWS), grid.n_frames):
        raise ValueError(f"series must have shape {(len(SERIES_ROWS), grid.n_frames)}, got {series.shape}")
    if not np.all(np.isfinite(series)):
        raise ValueError("series must be finite (no NaN or inf)")
    beats_per_frame = grid.frame_seconds * check_bpm(bpm) / 60.0
    loudness = velocities_to_midi(np.clip(series[ROW["loudness"]], 0.0, 1.0))  # [F]
    rows = []
    for row_name, voice in SERIES_VOICES:
        frames = np.flatnonzero(series[ROW[row_name]] >= threshold)  # [k]
        pitch = OUTPUT_PITCHES[VOICE_INDEX[voice]]
        rows += [
            (pitch, f * beats_per_frame, min(0.25, beats_per_frame), loudness[f]) for f in frames.tolist()
        ]
    return sort_notes(rows_to_notes(rows))


def series_to_midi(
    path: str | os.PathLike,
    series: np.ndarray,
    grid: SeriesGrid = SeriesGrid(),
    bpm: float = DEFAULT_BPM,
    threshold: float = 0.5,
) -> Path:
    """Render a series to a .mid file (written atomically); returns the path."""
    notes = series_to_notes(series, grid, bpm, threshold)
    buffer = io.BytesIO()
    notes_to_midi(notes, bpm).save(file=buffer)  # the one .mid writer: no track name, no time signature
    return atomic_write_bytes(path, buffer.getvalue())
