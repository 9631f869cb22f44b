"""The rhythm-pattern view of an audio analysis: segments on the tatum grid of each bar, three timbre voices.

Rules (also in ``docs/spotify.md``):

Bars. A bar is one of the analysis's ``bars`` (when the array is empty, bars are made from consecutive runs
of ``beats_per_bar`` beats). A bar is *regular* when it holds exactly ``beats_per_bar`` beats and its first
beat starts with it (within a quarter beat); only regular bars become pattern bars. Windows are runs of
consecutive regular bars (bar i ends where bar i+1 starts, within a quarter beat).

Steps: the tatum grid. Inside each beat the tatums are anchors: with k tatums in a beat, tatum j sits at
step ``beat * S + j * S / k`` (S = ``steps_per_beat``) and times between anchors are interpolated linearly.
With k = 2 or 4 and S = 4 every tatum lands exactly on a step; with k = 3 (triplet tatums) or other counts
that do not divide S, tatums fall between steps and their hits keep the distance as micro-timing offset
(tatum 1 of 3 at S = 4 -> step 1.33 -> step 1, offset +0.33). A beat without tatums is divided evenly.
Note that this straightens swung tatums (a long-short pair of tatums maps onto straight 8ths).

Hits. Every segment whose onset confidence is >= ``min_confidence`` and whose ``loudness_max`` lies within
``range_db`` of the track's loudest segment is a hit at its start time: rounded to the nearest step, the
remainder is the offset (-0.5..0.5 steps); a hit within half a step of the next bar goes to that bar's step
0. Velocity = (loudness_max - (peak - range_db)) / range_db, at least 1/127. Two hits of one voice on one
step: the loudest is kept.

Voices by timbre: Spotify's second timbre coefficient is the spectral "brightness". Per track, each hit's
brightness is placed within the track's range (5th to 95th percentile of its hits' brightness, mapped to
0..1); below ``band_edges[0]`` (1/3) -> low voice (kick), above ``band_edges[1]`` (2/3) -> high voice
(closed hat), between -> mid voice (snare). Equal-width bands over the track's own range, not equal counts:
a track whose hits are mostly dark gets mostly kicks. Hits without timbre, and every hit of a track whose
hits all have one brightness, go to the mid voice.

Sections: the first regular bar of each section after the first gets a crash on step 0 (velocity = the
bar's loudest hit), so section changes stay visible in the patterns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.errors import UsageError
from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid
from training.spotify.validate import Analysis, Intervals

# band    voice          (Spotify timbre coefficient 1, "brightness", in equal bands of the track's range)
BAND_VOICES: tuple[tuple[str, str], ...] = (
    ("low", "kick"),
    ("mid", "snare"),
    ("high", "closed_hat"),
)
SECTION_VOICE = "crash"
BRIGHTNESS = 1  # index of the timbre coefficient used to split voices
BRIGHTNESS_RANGE_PERCENTILES = (5.0, 95.0)
BAR_TOLERANCE_BEATS = 0.25


@dataclass(frozen=True)
class PatternConfig:
    bars: int = 4
    hop_bars: int = 1
    steps_per_beat: int = 4
    beats_per_bar: int = 4
    min_confidence: float = 0.05
    range_db: float = 30.0
    band_edges: tuple[float, float] = (1 / 3, 2 / 3)
    mark_sections: bool = True
    min_hits: int = 1

    def __post_init__(self) -> None:
        Grid(self.steps_per_beat, self.beats_per_bar, self.bars)  # validates the three
        if not isinstance(self.hop_bars, int) or not 1 <= self.hop_bars <= 64:
            raise UsageError(f"hop_bars must be an int in 1..64, got {self.hop_bars!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise UsageError(f"min_confidence must be in 0..1, got {self.min_confidence!r}")
        if not 1.0 <= self.range_db <= 100.0:
            raise UsageError(f"range_db must be in 1..100, got {self.range_db!r}")
        low, high = self.band_edges
        if not 0.0 <= low <= high <= 1.0:
            raise UsageError(f"band_edges must satisfy 0 <= low <= high <= 1, got {self.band_edges!r}")
        if not isinstance(self.min_hits, int) or self.min_hits < 0:
            raise UsageError(f"min_hits must be an int >= 0, got {self.min_hits!r}")

    @property
    def grid(self) -> Grid:
        return Grid(self.steps_per_beat, self.beats_per_bar, self.bars)


@dataclass
class TrackBars:
    """Every bar of one track on the step grid; only ``regular`` bars carry meaning."""

    steps_per_bar: int
    regular: np.ndarray  # bool [B]
    follows: np.ndarray  # bool [B]: bar i starts where bar i-1 ends (False for bar 0)
    planes: np.ndarray  # float32 [B, 3, V, steps_per_bar]
    tatums_per_beat: Counter[int] = field(default_factory=Counter)
    hits_outside: int = 0  # hits that fell outside regular bars
    synthesised_bars: bool = False


def _bars_of(analysis: Analysis, beats_per_bar: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(starts, ends) of the bars in seconds; made from beats when the analysis has no bars."""
    if len(analysis.bars):
        return analysis.bars.start, analysis.bars.end, False
    beats = analysis.beats
    starts = beats.start[::beats_per_bar]
    ends = np.append(starts[1:], beats.end[-1]) if len(starts) else starts
    return starts, ends, True


def _beat_anchors(beat_start: float, beat_end: float, tatums: Intervals, tol: float) -> np.ndarray:
    """Anchor times of one beat: its start plus the tatums strictly inside it."""
    inside = tatums.start[(tatums.start > beat_start + tol) & (tatums.start < beat_end - tol)]
    return np.concatenate([[beat_start], inside])


def _bar_map(
    bar_start: float, bar_end: float, analysis: Analysis, config: PatternConfig, counts: Counter[int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(anchor times, anchor steps) of a regular bar, ending with (bar_end, steps_per_bar); else None."""
    beats = analysis.beats
    beat_len = float(np.median(beats.duration)) if len(beats) else 0.5
    tol = BAR_TOLERANCE_BEATS * beat_len
    inside = np.flatnonzero((beats.start >= bar_start - tol) & (beats.start < bar_end - tol))
    if len(inside) != config.beats_per_bar or abs(beats.start[inside[0]] - bar_start) > tol:
        return None
    spb = config.steps_per_beat
    times: list[float] = []
    steps: list[float] = []
    beat_starts = beats.start[inside]
    beat_ends = np.append(beat_starts[1:], bar_end)
    tatum_tol = 0.1 * beat_len
    for b, (start, end) in enumerate(zip(beat_starts, beat_ends, strict=True)):
        anchors = _beat_anchors(start, end, analysis.tatums, tatum_tol)
        k = len(anchors)
        counts[k] += 1
        times.extend(anchors)
        steps.extend(b * spb + np.arange(k) * spb / k)
    times.append(bar_end)
    steps.append(float(config.beats_per_bar * spb))
    times_arr = np.asarray(times, dtype=np.float64)
    if np.any(np.diff(times_arr) <= 0):
        return None
    return times_arr, np.asarray(steps, dtype=np.float64)


def _hit_voices_and_velocities(
    analysis: Analysis, config: PatternConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset times, voice index, velocity 0..1) of the segments that count as hits."""
    seg = analysis.segments
    if not len(seg):
        empty = np.zeros(0)
        return empty, empty.astype(np.int64), empty
    peak = float(seg.loudness_max.max())
    floor = peak - config.range_db
    keep = (seg.confidence >= config.min_confidence) & (seg.loudness_max >= floor)
    times = seg.start[keep]
    velocity = np.clip((seg.loudness_max[keep] - floor) / config.range_db, 1 / 127, 1.0)
    brightness = seg.timbre[keep, BRIGHTNESS]
    known = np.isfinite(brightness)
    voices = np.full(len(times), VOICE_INDEX[dict(BAND_VOICES)["mid"]], dtype=np.int64)
    if known.any():
        low_b, high_b = np.percentile(brightness[known], BRIGHTNESS_RANGE_PERCENTILES)
        if high_b > low_b:
            relative = (brightness - low_b) / (high_b - low_b)
            low_edge, high_edge = config.band_edges
            band = np.where(relative < low_edge, 0, np.where(relative > high_edge, 2, 1))
            band_voice = np.array([VOICE_INDEX[voice] for _, voice in BAND_VOICES])
            voices[known] = band_voice[band[known]]
    return times, voices, velocity


def _place(planes: np.ndarray, bar: int, voice: int, step: int, offset: float, velocity: float) -> None:
    if planes[bar, HIT, voice, step] and planes[bar, VELOCITY, voice, step] >= velocity:
        return  # keep the loudest
    planes[bar, HIT, voice, step] = 1.0
    planes[bar, VELOCITY, voice, step] = velocity
    planes[bar, OFFSET, voice, step] = float(np.clip(offset, -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS))


def analysis_to_bars(analysis: Analysis, config: PatternConfig = PatternConfig()) -> TrackBars:
    """Place the track's hits on the step grid of each regular bar (see the module docstring)."""
    starts, ends, synthesised = _bars_of(analysis, config.beats_per_bar)
    n_bars = len(starts)
    steps_per_bar = config.steps_per_beat * config.beats_per_bar
    counts: Counter[int] = Counter()
    maps = [_bar_map(s, e, analysis, config, counts) for s, e in zip(starts, ends, strict=True)]
    regular = np.array([m is not None for m in maps], dtype=bool)
    beat_len = float(np.median(analysis.beats.duration)) if len(analysis.beats) else 0.5
    follows = np.zeros(n_bars, dtype=bool)
    follows[1:] = np.abs(starts[1:] - ends[:-1]) <= BAR_TOLERANCE_BEATS * beat_len
    planes = np.zeros((n_bars, 3, N_VOICES, steps_per_bar), dtype=np.float32)  # [B, 3, V, S]
    result = TrackBars(steps_per_bar, regular, follows, planes, counts, synthesised_bars=synthesised)
    times, voices, velocities = _hit_voices_and_velocities(analysis, config)
    bar_of = np.searchsorted(starts, times, side="right") - 1  # [H], -1 before the first bar
    for t, voice, velocity, bar in zip(times, voices, velocities, bar_of, strict=True):
        placed = _place_hit(result, maps, starts, float(t), int(bar), int(voice), float(velocity))
        result.hits_outside += 0 if placed else 1
    if config.mark_sections:
        _mark_sections(result, analysis, starts, ends)
    return result


def _place_hit(
    result: TrackBars, maps: list, starts: np.ndarray, t: float, bar: int, voice: int, velocity: float
) -> bool:
    steps_per_bar = result.steps_per_bar
    if bar >= 0 and maps[bar] is not None:
        times, steps = maps[bar]
        position = float(np.interp(t, times, steps))
        if t > times[-1]:  # past the bar's end (a gap before the next bar): extrapolate on the last beat
            position = steps[-1] + (t - times[-1]) / (times[-1] - times[-2]) * (steps[-1] - steps[-2])
        step = int(np.floor(position + 0.5))
        if step < steps_per_bar:
            _place(result.planes, bar, voice, step, position - step, velocity)
            return True
        position -= steps_per_bar
        bar += 1
        if bar >= len(maps) or maps[bar] is None or not result.follows[bar] or position > MAX_OFFSET_STEPS:
            return False
        _place(result.planes, bar, voice, 0, position, velocity)
        return True
    following = bar + 1
    if following < len(maps) and maps[following] is not None:  # just before a regular bar: its step 0?
        times, steps = maps[following]
        step_seconds = (times[1] - times[0]) / (steps[1] - steps[0])
        position = (t - starts[following]) / step_seconds
        if position >= -MAX_OFFSET_STEPS:
            _place(result.planes, following, voice, 0, position, velocity)
            return True
    return False


def _mark_sections(result: TrackBars, analysis: Analysis, starts: np.ndarray, ends: np.ndarray) -> None:
    crash = VOICE_INDEX[SECTION_VOICE]
    for section_start in analysis.sections.start[1:]:
        candidates = np.flatnonzero(result.regular & (ends > section_start))
        if not len(candidates):
            continue
        bar = int(candidates[np.argmin(np.abs(starts[candidates] - section_start))])
        lengths = ends[bar] - starts[bar]
        if abs(starts[bar] - section_start) > 0.5 * lengths:
            continue
        loudest = float(result.planes[bar, VELOCITY].max())
        _place(result.planes, bar, crash, 0, 0.0, max(loudest, 1 / 127))


def window_starts(bars: TrackBars, n_bars: int, hop_bars: int) -> list[int]:
    """First bar of each window: within each run of consecutive regular bars, one every ``hop_bars``."""
    starts: list[int] = []
    run_start = None
    total = len(bars.regular)
    for i in range(total + 1):
        inside = i < total and bars.regular[i] and (run_start is None or bars.follows[i])
        if inside and run_start is None:
            run_start = i
            continue
        if inside:
            continue
        if run_start is not None:
            starts.extend(range(run_start, i - n_bars + 1, hop_bars))
        run_start = i if i < total and bars.regular[i] else None
    return starts


def window_planes(bars: TrackBars, start: int, n_bars: int) -> np.ndarray:
    """float32 [3, V, n_bars * steps_per_bar]: bars ``start .. start + n_bars - 1`` side by side."""
    chunk = bars.planes[start : start + n_bars]  # [n, 3, V, S]
    return np.concatenate(list(chunk), axis=-1)
