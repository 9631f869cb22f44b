"""The Spotify-shaped analysis of a rendered loop with a known grid: shape, validity, and the grid itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.audio.analysis import analyse, key_of
from companion.audio.decode import load_audio
from tests.support.audio import ROOT, render_loop, soundfont_or_skip
from training.spotify.patterns import PatternConfig, analysis_to_bars
from training.spotify.validate import validate_analysis

EXAMPLE = ROOT.parent / "shared" / "data" / "spotify-audio-analysis" / "example-1.json"
BPM = 112.0
LEAD_S = 0.4


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    soundfont_or_skip()
    path = render_loop(tmp_path_factory.mktemp("loop") / "loop.wav", bpm=BPM, bars=12, lead_s=LEAD_S)
    return analyse(load_audio(path))


def expected_keys() -> dict[str, set[str]]:
    """Every key of these objects in a real response (where the shared example is present) or the documented
    ones: meta; track; bars, beats, tatums; sections; segments."""
    documented = {
        "meta": {"analyzer_version", "platform", "detailed_status", "status_code", "timestamp"},
        "track": {"duration", "tempo", "tempo_confidence", "time_signature", "loudness", "key", "mode"},
        "sections": {"start", "duration", "confidence", "loudness", "tempo", "time_signature"},
        "segments": {
            "start",
            "duration",
            "confidence",
            "loudness_start",
            "loudness_max",
            "timbre",
            "pitches",
        },
    }
    if EXAMPLE.is_file():
        example = json.loads(EXAMPLE.read_text())
        documented["sections"] |= set(example["sections"][0])
        documented["segments"] |= set(example["segments"][0])
        documented["track"] |= set(example["track"]) - {"codestring", "code_version", "echoprintstring",
                                                        "echoprint_version", "synchstring", "synch_version",
                                                        "rhythmstring", "rhythm_version"}  # fmt: skip
    return documented


def test_shape_and_validity(analysis):
    spotify_keys = expected_keys()
    for name in ("meta", "track"):
        assert spotify_keys[name] <= set(analysis[name]), name
    for name in ("bars", "beats", "tatums"):
        assert analysis[name] and all({"start", "duration", "confidence"} <= set(i) for i in analysis[name])
    assert all(spotify_keys["sections"] <= set(s) for s in analysis["sections"])
    assert all(spotify_keys["segments"] <= set(s) for s in analysis["segments"])
    assert all(len(s["timbre"]) == 12 and len(s["pitches"]) == 12 for s in analysis["segments"])
    checked = validate_analysis(analysis)
    assert checked.warnings == ()
    assert json.loads(json.dumps(analysis)) == analysis  # plain JSON


def test_the_grid_is_the_loops(analysis):
    track = analysis["track"]
    assert track["tempo"] == pytest.approx(BPM, rel=0.02)
    assert track["time_signature"] == 4
    beat_s = 60.0 / BPM
    beats = np.array([b["start"] for b in analysis["beats"]])
    truth = LEAD_S + np.arange(12 * 4) * beat_s
    matched = np.min(np.abs(beats[:, None] - truth[None, :]), axis=1)
    assert np.mean(matched < 0.07) >= 0.9
    downbeats = np.array([b["start"] for b in analysis["bars"]])
    bar_truth = LEAD_S + np.arange(12) * 4 * beat_s
    assert np.mean(np.min(np.abs(downbeats[:, None] - bar_truth[None, :]), axis=1) < 0.07) >= 0.8
    assert all(b["duration"] == pytest.approx(4 * beat_s, rel=0.05) for b in analysis["bars"][:-1])


def test_sections_start_at_zero_and_tile_the_track(analysis):
    sections = analysis["sections"]
    assert sections[0]["start"] == 0.0
    ends = [s["start"] + s["duration"] for s in sections]
    assert ends[-1] == pytest.approx(analysis["track"]["duration"], abs=1e-3)
    assert all(b["start"] == pytest.approx(a, abs=1e-4) for a, b in zip(ends, sections[1:], strict=False))


def test_segments_follow_the_hits(analysis):
    """The loop has a hit on every 8th: the segment starts find them."""
    starts = np.array([s["start"] for s in analysis["segments"] if s["confidence"] > 0.1])
    eighths = LEAD_S + np.arange(12 * 8) * 30.0 / BPM
    found = np.min(np.abs(eighths[:, None] - starts[None, :]), axis=1) < 0.05
    assert found.mean() >= 0.9
    assert analysis["track"]["loudness"] < 0 and analysis["track"]["end_of_fade_in"] >= LEAD_S - 0.1


def test_the_ingest_finds_regular_bars_in_it(analysis):
    bars = analysis_to_bars(validate_analysis(analysis), PatternConfig())
    assert bars.regular.sum() >= 10


def test_key_of_a_c_major_profile():
    c_major = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)
    key, _, mode, _ = key_of(c_major)
    assert (key, mode) == (0, 1)
    a_minor = np.roll(np.array([3, 0, 1, 2, 0, 1, 0, 2, 1, 0, 1, 0], dtype=float), 9)  # tonic, third, fifth
    assert key_of(a_minor)[0::2] == (9, 0)
