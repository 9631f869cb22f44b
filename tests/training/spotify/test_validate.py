"""The validator takes the real variety of audio-analysis responses and rejects garbage with a reason."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from tests.support.spotify_analysis import features, make_analysis
from training.spotify.records import read_record
from training.spotify.validate import AnalysisError, validate_analysis, validate_features


def test_a_full_analysis_is_accepted_and_normalised():
    analysis = validate_analysis(make_analysis(bpm=120, n_bars=2, segments=[(0.5, -6.0, 10.0)]))
    assert len(analysis.beats) == 8 and len(analysis.bars) == 2 and len(analysis.tatums) == 32
    assert analysis.tempo_bpm == 120 and analysis.time_signature == 4
    assert analysis.beats.start[1] == pytest.approx(1.0)
    assert analysis.segments.timbre.shape == (1, 12) and analysis.segments.timbre[0, 1] == 10.0
    assert analysis.warnings == ()


@pytest.mark.parametrize("name", ["bars", "beats", "tatums", "sections", "segments"])
@pytest.mark.parametrize("value", [None, [], "missing"])
def test_missing_null_or_empty_arrays_are_accepted(name, value):
    payload = make_analysis(n_bars=2, segments=[(0.5, -6.0, 0.0)])
    if value == "missing":
        del payload[name]
    else:
        payload[name] = value
    analysis = validate_analysis(payload)
    assert len(getattr(analysis, name)) == 0


def test_tracks_without_sections_track_or_meta_are_accepted_and_duration_comes_from_events():
    payload = make_analysis(n_bars=2)
    del payload["sections"], payload["track"], payload["meta"]
    analysis = validate_analysis(payload)
    assert analysis.duration_s == pytest.approx(0.5 + 8 * 0.5)
    assert analysis.tempo_bpm is None and analysis.time_signature is None


@pytest.mark.parametrize("signature", [3, 4, 5, 6, 7])
def test_time_signatures_3_to_7_are_kept(signature):
    assert validate_analysis(make_analysis(n_bars=1, time_signature=signature)).time_signature == signature


@pytest.mark.parametrize("signature", [1, 0, 12])
def test_other_time_signatures_become_unknown_with_a_warning(signature):
    analysis = validate_analysis(make_analysis(n_bars=1, time_signature=signature))
    assert analysis.time_signature is None
    assert any("time_signature" in w for w in analysis.warnings)


def test_confidences_missing_or_slightly_out_of_range_are_repaired():
    payload = make_analysis(n_bars=1)
    del payload["beats"][0]["confidence"]
    payload["beats"][1]["confidence"] = 1.2
    payload["beats"][2]["confidence"] = -0.001
    analysis = validate_analysis(payload)
    assert analysis.beats.confidence[:3].tolist() == [1.0, 1.0, 0.0]
    assert any("beats[1].confidence" in w for w in analysis.warnings)


def test_out_of_order_events_are_sorted_with_a_warning():
    payload = make_analysis(n_bars=1)
    payload["beats"].reverse()
    analysis = validate_analysis(payload)
    assert np.all(np.diff(analysis.beats.start) > 0)
    assert any("beats were out of time order" in w for w in analysis.warnings)


def test_segments_without_timbre_get_nan_timbre():
    payload = make_analysis(n_bars=1, segments=[(0.5, -6.0, 0.0)])
    del payload["segments"][0]["timbre"], payload["segments"][0]["pitches"]
    assert np.all(np.isnan(validate_analysis(payload).segments.timbre[0]))


def _broken(path: str, value):
    payload = make_analysis(n_bars=1, segments=[(0.5, -6.0, 0.0)])
    keys = path.split(".")
    target = payload
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    target[int(last) if last.isdigit() else last] = value
    return payload


@pytest.mark.parametrize(
    "payload, reason",
    [
        ([1, 2, 3], "expected a JSON object"),
        ({"hello": "world"}, "not an audio analysis"),
        (_broken("beats", "many"), "beats: expected a list"),
        (_broken("beats.0.start", "soon"), "beats[0].start"),
        (_broken("beats.0.start", math.nan), "beats[0].start"),
        (_broken("bars.0.duration", -1.0), "bars[0].duration"),
        (_broken("tatums.0", 3), "tatums[0]: expected an object"),
        (_broken("segments.0.loudness_max", None), "segments[0].loudness_max: missing"),
        (_broken("segments.0.timbre", [1.0] * 11), "segments[0].timbre"),
        (_broken("segments.0.pitches", "CDE"), "segments[0].pitches"),
        (_broken("track.time_signature", "4/4"), "track.time_signature"),
        (_broken("track.time_signature", math.nan), "track.time_signature"),
        (_broken("track.time_signature", math.inf), "track.time_signature"),
        (_broken("track.tempo", math.inf), "track.tempo"),
        (_broken("meta.status_code", 1), "meta.status_code"),
        ({"beats": [], "segments": []}, "empty analysis"),
    ],
)
def test_garbage_is_rejected_with_a_reason_naming_the_field(payload, reason):
    with pytest.raises(AnalysisError) as caught:
        validate_analysis(payload)
    assert reason in str(caught.value)


def test_features_are_checked_and_optional():
    assert validate_features(None) is None
    assert validate_features(features("x", danceability=0.3))["danceability"] == 0.3
    with pytest.raises(AnalysisError, match=r"audio_features\.energy"):
        validate_features(features("x", energy=1.5))


def test_a_record_with_an_unsafe_track_id_is_rejected(tmp_path):
    record = {"audio_analysis": make_analysis(n_bars=1), "track_id": "../../etc/passwd"}
    (tmp_path / "x.json").write_text(json.dumps(record))
    with pytest.raises(AnalysisError, match="track_id"):
        read_record(tmp_path / "x.json")


def test_validation_does_not_change_the_payload():
    payload = make_analysis(n_bars=1, segments=[(0.5, -6.0, 0.0)])
    before = copy.deepcopy(payload)
    validate_analysis(payload)
    assert payload == before
