"""The rhythm-pattern view: segments on the tatum grid of each bar, timbre voices, windows -> dataset."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import VOICE_INDEX
from companion.core.pattern import HIT, OFFSET, VELOCITY
from tests.support.spotify_analysis import four_on_the_floor, make_analysis
from training.spotify.patterns import PatternConfig, analysis_to_bars, window_planes, window_starts
from training.spotify.validate import validate_analysis

KICK, SNARE, HAT, CRASH = (VOICE_INDEX[v] for v in ("kick", "snare", "closed_hat", "crash"))
# 120 BPM, 4/4, first beat and bar at 0.5 s: a beat is 0.5 s, a 16th step 0.125 s, a bar 2 s (16 steps)
T0, STEP = 0.5, 0.125
NO_SECTIONS = PatternConfig(mark_sections=False)


def _bars(segments, config=NO_SECTIONS, **kwargs):
    defaults = dict(bpm=120, n_bars=4, tatums_per_beat=4, first_beat_s=T0, segments=segments)
    return analysis_to_bars(validate_analysis(make_analysis(**{**defaults, **kwargs})), config)


def _hits(bars, voice=None):
    """[(bar, step)] of every hit (of ``voice``, or any voice)."""
    planes = bars.planes[:, HIT] if voice is None else bars.planes[:, HIT, voice][:, None]
    found = np.argwhere(planes > 0)
    return sorted({(int(b), int(s)) for b, _, s in found})


def test_segments_land_on_their_bar_and_step():
    # 3.5 s is 3.0 s after the first bar: bar index 1 (the second bar), 1.0 s in = beat 3 = step 8
    segments = [
        (T0, -6.0, 0.0),
        (T0 + 5 * STEP, -6.0, 0.0),
        (3.5, -6.0, 0.0),
        (T0 + 2 * 16 * STEP + 15 * STEP, -6.0, 0.0),
    ]
    bars = _bars(segments)
    assert _hits(bars) == [(0, 0), (0, 5), (1, 8), (2, 15)]
    assert bars.regular.all() and bars.tatums_per_beat == {4: 16}


def test_late_and_early_hits_keep_their_offset_and_cross_the_bar_line():
    late = 3.5 + 0.03  # 0.24 of a step late
    early = T0 + 16 * STEP - 0.01  # 0.08 of a step before bar 1 -> bar 1, step 0
    bars = _bars([(late, -6.0, 0.0), (early, -6.0, 0.0)])
    assert _hits(bars) == [(1, 0), (1, 8)]
    voice = SNARE  # one brightness for all hits -> the mid voice
    assert bars.planes[1, OFFSET, voice, 8] == pytest.approx(0.24, abs=1e-4)
    assert bars.planes[1, OFFSET, voice, 0] == pytest.approx(-0.08, abs=1e-4)


def test_a_hit_just_before_the_first_bar_goes_to_its_step_0():
    bars = _bars([(T0 - 0.02, -6.0, 0.0)])
    assert _hits(bars) == [(0, 0)]
    assert bars.planes[0, OFFSET, SNARE, 0] == pytest.approx(-0.16, abs=1e-4)


def test_triplet_tatums_fall_between_16th_steps_and_keep_the_distance_as_offset():
    beat = 0.5
    bars = _bars([(T0 + beat / 3, -6.0, 0.0), (T0 + 2 * beat / 3, -6.0, 0.0)], tatums_per_beat=3)
    assert _hits(bars) == [(0, 1), (0, 3)]
    assert bars.planes[0, OFFSET, SNARE, 1] == pytest.approx(1 / 3, abs=1e-4)  # 4/3 steps -> step 1 + 0.33
    assert bars.planes[0, OFFSET, SNARE, 3] == pytest.approx(-1 / 3, abs=1e-4)  # 8/3 steps -> step 3 - 0.33
    assert bars.tatums_per_beat == {3: 16}


def test_swung_tatums_are_straightened_onto_the_grid():
    payload = make_analysis(
        bpm=120, n_bars=1, tatums_per_beat=2, first_beat_s=T0, segments=[(T0 + 0.5 * 2 / 3, -6.0, 0.0)]
    )
    for i, tatum in enumerate(payload["tatums"]):  # long-short pairs: the off-beat tatum at 2/3 of the beat
        tatum["start"] = T0 + (i // 2) * 0.5 + (i % 2) * 0.5 * 2 / 3
    bars = analysis_to_bars(validate_analysis(payload), NO_SECTIONS)
    assert _hits(bars) == [(0, 2)]
    assert bars.planes[0, OFFSET, SNARE, 2] == pytest.approx(0.0, abs=1e-6)


def test_voices_follow_brightness_within_the_track():
    segments = [
        (T0, -6.0, -80.0),
        (T0 + 4 * STEP, -6.0, 0.0),
        (T0 + 2 * STEP, -6.0, 90.0),
        (T0 + 6 * STEP, -6.0, 100.0),
    ]
    bars = _bars(segments)
    assert _hits(bars, KICK) == [(0, 0)]
    assert _hits(bars, SNARE) == [(0, 4)]
    assert _hits(bars, HAT) == [(0, 2), (0, 6)]


def test_velocity_is_loudness_within_the_range_and_quiet_or_unsure_segments_are_no_hits():
    segments = [(T0, -5.0, 0.0), (T0 + 4 * STEP, -20.0, 0.0), (T0 + 8 * STEP, -40.0, 0.0)]
    bars = _bars(segments)
    assert _hits(bars) == [(0, 0), (0, 4)]  # -40 dB is more than 30 dB below the loudest
    assert bars.planes[0, VELOCITY, SNARE, 0] == pytest.approx(1.0)
    assert bars.planes[0, VELOCITY, SNARE, 4] == pytest.approx(0.5)
    unsure = _bars([(T0, -5.0, 0.0)], confidence=0.01)
    assert _hits(unsure) == []


def test_two_hits_on_one_step_keep_the_loudest():
    bars = _bars([(T0, -10.0, 0.0), (T0 + 0.01, -5.0, 0.0)])
    assert _hits(bars) == [(0, 0)] and bars.planes[0, VELOCITY, SNARE, 0] == pytest.approx(1.0)


def test_bars_with_another_beat_count_are_left_out_and_windows_do_not_span_them():
    payload = four_on_the_floor(n_bars=5)
    del payload["beats"][5]  # bar 1 now holds 3 beats
    bars = analysis_to_bars(validate_analysis(payload), NO_SECTIONS)
    assert bars.regular.tolist() == [True, False, True, True, True]
    assert window_starts(bars, 2, 1) == [2, 3]
    assert window_starts(bars, 1, 1) == [0, 2, 3, 4]
    assert window_starts(bars, 1, 2) == [0, 2, 4]
    assert not bars.planes[1].any()


def test_three_four_tracks_use_three_beat_bars():
    config = PatternConfig(beats_per_bar=3, bars=2, mark_sections=False)
    payload = make_analysis(
        bpm=120, beats_per_bar=3, n_bars=3, first_beat_s=T0, segments=[(T0 + 1.5 + 0.5, -6.0, 0.0)]
    )
    bars = analysis_to_bars(validate_analysis(payload), config)
    assert bars.planes.shape == (3, 3, 9, 12) and bars.regular.all()
    assert _hits(bars) == [(1, 4)]  # 1.5 s = one 3/4 bar, then one beat = step 4
    four = analysis_to_bars(validate_analysis(payload), NO_SECTIONS)
    assert not four.regular.any()


def test_without_a_bars_array_bars_are_made_from_beats():
    payload = four_on_the_floor(n_bars=2)
    payload["bars"] = []
    bars = analysis_to_bars(validate_analysis(payload), NO_SECTIONS)
    assert bars.synthesised_bars and bars.regular.tolist() == [True, True]
    assert _hits(bars, KICK) == [(b, s) for b in range(2) for s in (0, 4, 8, 12)]
    assert _hits(bars, HAT) == [(b, s) for b in range(2) for s in (2, 6, 10, 14)]


def test_section_starts_put_a_crash_on_the_first_step_of_their_bar():
    payload = four_on_the_floor(n_bars=4, section_starts_s=(0.0, T0 + 4.0 + 0.05))
    bars = analysis_to_bars(validate_analysis(payload), PatternConfig())
    assert _hits(bars, CRASH) == [(2, 0)]
    unmarked = analysis_to_bars(validate_analysis(payload), NO_SECTIONS)
    assert _hits(unmarked, CRASH) == []


def test_window_planes_put_bars_side_by_side():
    bars = analysis_to_bars(validate_analysis(four_on_the_floor(n_bars=4)), NO_SECTIONS)
    window = window_planes(bars, 1, 2)
    assert window.shape == (3, 9, 32)
    assert np.flatnonzero(window[HIT, KICK]).tolist() == [0, 4, 8, 12, 16, 20, 24, 28]
