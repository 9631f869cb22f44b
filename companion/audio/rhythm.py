"""An audio loop -> its onset rhythm on the bar grid: what ``nudge drumify --from AUDIO`` drumifies.

``audio_to_rhythm`` decodes the file (or the part between ``start_s`` and ``end_s``), finds its onsets
(``onsets``) and places them on a bar grid:

- with Live's warp markers (``WarpMarker(seconds, beats)``: the clip's ``sample_time`` and ``beat_time``
  pairs), the grid is Live's: a time maps to beats by the markers (linearly between them, beyond the ends
  at the nearest pair's rate), and bar 1 starts at the clip's start (``start_s``);
- without them, the grid is tracked (``beats``): bar 1 starts at the first tracked downbeat, and a time
  maps to beats through the tracked beats (beyond them at the tracked tempo).

The result is a ``DrumTake`` (the canonical form of a read MIDI clip: notes in beats from bar 1, tempo,
time signature, length), so drumify treats audio like any MIDI clip. Each onset becomes a 16th-long note
at its beat position (micro-timing kept), pitched by its brightness within the clip's range (low third:
kick 36, middle: snare 38, top: closed hat 42) with its strength as velocity. Onsets weaker than
``MIN_STRENGTH`` are left out; so are pickups before bar 1 (more than half a 16th early) and everything
past ``max_bars`` whole bars.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.audio import beats as beat_tracking
from companion.audio.decode import AudioError, load_audio
from companion.audio.features import mel_frames
from companion.audio.onsets import detect_onsets
from companion.core.midi_file import DrumTake
from companion.core.midi_values import MAX_BPM, MIN_BPM
from companion.core.notes import rows_to_notes, sort_notes
from companion.core.pattern import FILE_PARTIAL_BAR, MAX_BARS, bars_for_length

MIN_STRENGTH = 0.08
PREROLL_S = 0.1
NOTE_BEATS = 0.25
EARLY_STEPS = 0.5  # an onset this little before bar 1 counts as bar 1's first step
# brightness band  pitch   (low / middle / top third of the clip's onset brightness, 5th..95th percentile)
BAND_PITCHES = (36, 38, 42)


@dataclass(frozen=True)
class WarpMarker:
    seconds: float  # Live's sample_time: seconds into the audio file
    beats: float  # Live's beat_time: the clip's beat at that point


@dataclass(frozen=True)
class AudioRhythm:
    take: DrumTake  # the onsets as notes, in beats from bar 1
    bars: int
    bpm: float
    beats_per_bar: int
    downbeat_s: float  # where bar 1 starts, in seconds into the file
    grid: str  # "tracked" or "warp markers"
    onsets: int  # onsets found in the part analysed (before leaving any out)

    @property
    def rows(self) -> np.ndarray:
        """float64 [M, 4]: pitch, start_beats, duration_beats, velocity, by start (the tools' clip rows)."""
        notes = self.take.notes
        columns = ("pitch", "start_beats", "duration_beats", "velocity")
        return np.stack([notes[c].astype(np.float64) for c in columns], axis=1).reshape(-1, 4)


def _check_markers(markers: Sequence[WarpMarker]) -> tuple[np.ndarray, np.ndarray]:
    seconds = np.array([m.seconds for m in markers], dtype=np.float64)
    beats = np.array([m.beats for m in markers], dtype=np.float64)
    if len(markers) < 2:
        raise AudioError("warp markers: need at least 2 (sample_time, beat_time) pairs")
    if not (np.all(np.isfinite(seconds)) and np.all(np.isfinite(beats))):
        raise AudioError("warp markers: times must be finite numbers")
    if np.any(np.diff(seconds) <= 0) or np.any(np.diff(beats) <= 0):
        raise AudioError("warp markers: sample_time and beat_time must both rise from marker to marker")
    return seconds, beats


def _piecewise(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Linear through (xs, ys), extended beyond both ends at the end segments' slopes."""
    y = np.interp(x, xs, ys)
    before, after = x < xs[0], x > xs[-1]
    y[before] = ys[0] + (x[before] - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
    y[after] = ys[-1] + (x[after] - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return y


def _pitches(brightness: np.ndarray) -> np.ndarray:
    if not len(brightness):
        return np.zeros(0, dtype=np.int64)
    low, high = np.percentile(brightness, (5, 95))
    relative = (brightness - low) / (high - low) if high > low else np.full(len(brightness), 0.5)
    band = np.where(relative < 1 / 3, 0, np.where(relative > 2 / 3, 2, 1))
    return np.asarray(BAND_PITCHES)[band]


def clip_beats_to_seconds(markers: Sequence[WarpMarker], beats: Sequence[float]) -> list[float]:
    """Clip beats (Live's ``start_marker`` / ``end_marker`` of a warped clip) -> seconds into the file."""
    seconds, marker_beats = _check_markers(markers)
    values = np.asarray(beats, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise AudioError("clip start and end must be finite numbers of beats")
    return [float(v) for v in _piecewise(values, marker_beats, seconds)]


def audio_to_rhythm(
    path: str | os.PathLike,
    start_s: float = 0.0,
    end_s: float | None = None,
    *,
    warp_markers: Sequence[WarpMarker] | None = None,
    beats_per_bar: int | None = None,
    max_bars: int = MAX_BARS,
) -> AudioRhythm:
    """The onset rhythm of an audio file (or its ``start_s``..``end_s`` part) on the bar grid. For a warped
    Live clip, ``clip_beats_to_seconds(markers, [start_marker, end_marker])`` gives ``start_s`` and
    ``end_s``."""
    if not isinstance(max_bars, int) or not 1 <= max_bars <= MAX_BARS:
        raise AudioError(f"max_bars must be an int in 1..{MAX_BARS}, got {max_bars!r}")
    if beats_per_bar is not None and beats_per_bar not in range(2, 8):
        raise AudioError(f"beats_per_bar must be in 2..7, got {beats_per_bar!r}")
    if not math.isfinite(start_s) or start_s < 0:
        raise AudioError(f"start must be a finite number of seconds >= 0, got {start_s!r}")
    # a little audio before the start, so that an onset right at the start is seen rising
    audio = load_audio(path, max(0.0, start_s - PREROLL_S), end_s)
    frames = mel_frames(audio)
    onsets = detect_onsets(frames)
    times = onsets.times_s + audio.start_s  # seconds into the file
    if warp_markers:
        seconds, marker_beats = _check_markers(warp_markers)
        origin = float(_piecewise(np.array([start_s]), seconds, marker_beats)[0])
        positions = _piecewise(times, seconds, marker_beats) - origin  # beats from bar 1
        end_beats = float(_piecewise(np.array([audio.start_s + audio.duration_s]), seconds, marker_beats)[0])
        length_beats = end_beats - origin
        bpm = 60.0 * (marker_beats[-1] - marker_beats[0]) / (seconds[-1] - seconds[0])
        meter, downbeat_s, grid_kind = beats_per_bar or 4, float(start_s), "warp markers"
    else:
        grid = beat_tracking.track(frames)
        if len(grid.beats_s) < 2:
            raise AudioError("no beat found: is there a steady pulse in this audio?")
        meter = beats_per_bar or grid.beats_per_bar
        first = grid.first_downbeat if beats_per_bar is None else 0
        beat_times = grid.beats_s[first:] + audio.start_s  # from the first downbeat on
        inside = np.flatnonzero(beat_times >= start_s - PREROLL_S / 2)  # the pre-roll holds no downbeat
        skip = -(-int(inside[0]) // meter) * meter if len(inside) else 0  # whole bars
        beat_times = beat_times[skip:] if skip < len(beat_times) else beat_times[-1:]
        period = 60.0 / grid.tempo_bpm
        if len(beat_times) < 2:
            beat_times = np.array([beat_times[0], beat_times[0] + period])
        index = np.arange(len(beat_times), dtype=np.float64)
        positions = _piecewise(times, beat_times, index)
        length_beats = float(_piecewise(np.array([audio.start_s + audio.duration_s]), beat_times, index)[0])
        bpm, downbeat_s, grid_kind = grid.tempo_bpm, float(beat_times[0]), "tracked"
    if not (math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise AudioError(f"tempo {bpm:.1f} BPM is outside {MIN_BPM:g}..{MAX_BPM:g}")
    bars = min(max_bars, bars_for_length(length_beats, meter, FILE_PARTIAL_BAR))
    if bars < 1:
        raise AudioError("shorter than one bar after the first downbeat")
    span = bars * meter
    pitches = _pitches(onsets.brightness)
    rows = []
    for position, strength, pitch in zip(positions, onsets.strength, pitches, strict=True):
        if strength < MIN_STRENGTH or position < -EARLY_STEPS / 4 or position >= span - EARLY_STEPS / 4:
            continue
        velocity = int(np.clip(round(strength * 127), 1, 127))
        rows.append((int(pitch), max(0.0, float(position)), NOTE_BEATS, velocity))
    take = DrumTake(
        notes=sort_notes(rows_to_notes(np.array(rows, dtype=np.float64).reshape(-1, 4))),
        bpm=float(bpm),
        time_signature=(meter, 4),
        length_beats=float(span),
        source=os.fspath(path),
    )
    return AudioRhythm(take, bars, float(bpm), meter, downbeat_s, grid_kind, len(onsets))
