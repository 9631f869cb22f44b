"""audio -> onset rhythm on the bar grid (what drumify --from AUDIO consumes), on loops with a known grid."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio.decode import AudioError
from companion.audio.rhythm import WarpMarker, audio_to_rhythm, clip_beats_to_seconds
from tests.support.audio import BASS_BAR, ROCK_BAR, render_loop, soundfont_or_skip

BPM = 100.0
LEAD_S = 0.3
BEAT_S = 60.0 / BPM


def _f1(reference: set[int], estimate: set[int]) -> float:
    hits = len(reference & estimate)
    return 0.0 if not hits else 2 * hits / (len(reference) + len(estimate))


def _steps(rhythm) -> set[int]:
    return {round(b * 4) for b in rhythm.take.notes["start_beats"]}


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    soundfont_or_skip()
    folder = tmp_path_factory.mktemp("loops")
    return {
        "band": render_loop(folder / "band.wav", bpm=BPM, bars=8, lead_s=LEAD_S),
        "bass": render_loop(folder / "bass.wav", bpm=BPM, bars=8, lead_s=LEAD_S, drums=False),
    }


def _markers(bars: int = 8) -> list[WarpMarker]:
    return [WarpMarker(LEAD_S, 0.0), WarpMarker(LEAD_S + bars * 4 * BEAT_S, bars * 4.0)]


def test_with_warp_markers_the_grid_is_lives(loops):
    rhythm = audio_to_rhythm(loops["band"], start_s=LEAD_S, warp_markers=_markers())
    assert (rhythm.grid, rhythm.bars, rhythm.beats_per_bar) == ("warp markers", 8, 4)
    assert rhythm.bpm == pytest.approx(BPM)
    assert rhythm.take.time_signature == (4, 4) and rhythm.take.length_beats == 32
    reference = {bar * 16 + step for bar in range(8) for step in ROCK_BAR}
    assert _f1(reference, _steps(rhythm)) >= 0.95
    notes = rhythm.take.notes
    kicks = {round(b * 4) % 16 for b in notes["start_beats"][notes["pitch"] == 36]}
    assert 0 in kicks  # the kick on one reads as the darkest band
    rows = rhythm.rows  # what drumify reads: pitch, start_beats, duration_beats, velocity
    assert rows.shape == (len(rhythm.take.notes), 4)
    assert np.all(np.diff(rows[:, 1]) >= 0) and rows[:, 3].min() >= 1 and rows[:, 3].max() <= 127


def test_without_markers_the_grid_is_tracked(loops):
    rhythm = audio_to_rhythm(loops["band"])
    assert rhythm.grid == "tracked"
    assert rhythm.bpm == pytest.approx(BPM, rel=0.02)
    bar_s = 4 * BEAT_S
    assert (rhythm.downbeat_s - LEAD_S) / bar_s == pytest.approx(
        round((rhythm.downbeat_s - LEAD_S) / bar_s), abs=0.05
    )
    first_bar = round((rhythm.downbeat_s - LEAD_S) / bar_s)
    reference = {bar * 16 + step for bar in range(8 - first_bar) for step in ROCK_BAR}
    reference = {s for s in reference if s < rhythm.bars * 16}
    assert rhythm.bars >= 6
    assert _f1(reference, _steps(rhythm)) >= 0.9


def test_a_bassline_gives_its_own_rhythm(loops):
    rhythm = audio_to_rhythm(loops["bass"], start_s=LEAD_S, warp_markers=_markers())
    reference = {bar * 16 + round(start * 4) for bar in range(8) for start, _, _ in BASS_BAR}
    assert _f1(reference, _steps(rhythm)) >= 0.85


def test_max_bars_and_a_part_of_the_file(loops):
    rhythm = audio_to_rhythm(loops["band"], start_s=LEAD_S, warp_markers=_markers(), max_bars=2)
    assert rhythm.bars == 2 and rhythm.take.notes["start_beats"].max() < 8
    part = audio_to_rhythm(loops["band"], start_s=LEAD_S + 4 * 4 * BEAT_S, warp_markers=_markers())
    assert part.bars == 4  # the part from bar 5 on
    assert part.take.notes["start_beats"].min() == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize(
    ("markers", "match"),
    [
        ([WarpMarker(0.0, 0.0)], "at least 2"),
        ([WarpMarker(1.0, 0.0), WarpMarker(0.5, 4.0)], "rise"),
        ([WarpMarker(0.0, 0.0), WarpMarker(float("nan"), 4.0)], "finite"),
    ],
)
def test_bad_warp_markers_are_refused(loops, markers, match):
    with pytest.raises(AudioError, match=match):
        audio_to_rhythm(loops["band"], warp_markers=markers)


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"max_bars": 0}, "max_bars"), ({"beats_per_bar": 9}, "beats_per_bar")]
)
def test_bad_arguments_are_refused(loops, kwargs, match):
    with pytest.raises(AudioError, match=match):
        audio_to_rhythm(loops["band"], **kwargs)


def test_a_warped_clips_markers_in_beats_become_seconds_in_the_file():
    markers = [WarpMarker(0.5, 0.0), WarpMarker(2.5, 4.0), WarpMarker(3.5, 8.0)]  # 120, then 240 BPM
    assert clip_beats_to_seconds(markers, [0.0, 2.0, 4.0, 6.0, 12.0]) == pytest.approx(
        [0.5, 1.5, 2.5, 3.0, 4.5]
    )
    assert clip_beats_to_seconds(markers, [-2.0]) == pytest.approx([-0.5])  # before the first: its rate
    with pytest.raises(AudioError, match="finite"):
        clip_beats_to_seconds(markers, [float("inf")])
