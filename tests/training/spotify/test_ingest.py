"""training.spotify.ingest: cached tracks -> a RhythmDataset (windows, labels, splits, extra conditions)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.pattern import HIT
from tests.support.spotify_analysis import features, four_on_the_floor, make_analysis
from training.dataset import RhythmDataset
from training.spotify.ingest import build_dataset, split_of, tempo_condition
from training.spotify.patterns import PatternConfig
from training.spotify.records import TrackRecord
from training.spotify.validate import validate_analysis


def _record(track_id, with_features=True, style="house", bpm=120.0, n_bars=6):
    analysis = validate_analysis(four_on_the_floor(bpm=bpm, n_bars=n_bars))
    return TrackRecord(
        track_id, analysis, features(track_id, danceability=0.9, tempo=bpm) if with_features else None, style
    )


def test_build_dataset_writes_windows_labels_and_extra_conditions(tmp_path):
    records = [_record("trackA"), _record("trackB", bpm=130.0)]
    dataset, summary = build_dataset(records, PatternConfig(bars=4, hop_bars=1))
    assert len(dataset) == 2 * 3 and summary.files_used == 2
    assert dataset.patterns.shape == (6, 3, 9, 64)
    assert set(dataset.extra_conditions) == {"danceability", "track_energy", "valence", "tempo"}
    assert np.allclose(dataset.extra_conditions["danceability"], 0.9)
    assert np.allclose(dataset.extra_conditions["track_energy"], 0.7)
    assert dataset.extra_conditions["tempo"].tolist() == pytest.approx(
        [tempo_condition(120)] * 3 + [tempo_condition(130)] * 3
    )
    assert dataset.source.tolist() == ["trackA"] * 3 + ["trackB"] * 3
    assert dataset.start_bar.tolist() == [0, 1, 2, 0, 1, 2]
    assert set(dataset.style.tolist()) == {"house"}
    loaded = RhythmDataset.load(dataset.save(tmp_path / "spotify.npz"))
    assert np.array_equal(loaded.patterns[:, HIT], dataset.patterns[:, HIT])
    assert set(loaded.extra_conditions) == set(dataset.extra_conditions)
    assert loaded.meta["ingest"]["windows"] == 6
    assert set(loaded.meta["condition_descriptions"]) == set(dataset.extra_conditions)
    for values in loaded.extra_conditions.values():
        assert np.all((values >= 0) & (values <= 1))


def test_tracks_without_features_get_the_median_or_are_skipped():
    records = [_record("a1"), _record("b2", with_features=False)]
    filled, summary = build_dataset(records, PatternConfig(bars=4))
    assert summary.features_filled == 1 and np.allclose(filled.extra_conditions["danceability"], 0.9)
    skipped, summary = build_dataset(records, PatternConfig(bars=4), missing_features="skip")
    assert set(skipped.source.tolist()) == {"a1"} and summary.skipped["no audio features"] == 1
    only_tempo, _ = build_dataset([_record("c3", with_features=False)], PatternConfig(bars=4))
    assert list(only_tempo.extra_conditions) == ["tempo"]


def test_tracks_without_usable_windows_are_counted_with_a_reason():
    records = [
        _record("short", n_bars=2),
        TrackRecord("empty", validate_analysis(make_analysis(n_bars=0, segments=[(1.0, -6, 0)])), None),
    ]
    dataset, summary = build_dataset(records, PatternConfig(bars=4))
    assert len(dataset) == 0
    assert summary.skipped == {"no 4-bar window of 4-beat bars": 1, "no beats": 1}


def test_split_is_stable_per_track_and_follows_the_shares():
    ids = [f"track{i}" for i in range(2000)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    share = {s: splits.count(s) / len(ids) for s in ("train", "validation", "test")}
    assert share["train"] == pytest.approx(0.8, abs=0.04) and share["test"] == pytest.approx(0.1, abs=0.03)
    assert tempo_condition(60) == 0.0 and tempo_condition(200) == 1.0 and tempo_condition(130) == 0.5


def _ids_of_split(split: str, n: int) -> list[str]:
    return [t for t in (f"trk{i}" for i in range(500)) if split_of(t) == split][:n]


def test_missing_features_take_the_median_of_train_tracks_only():
    (train_id,) = _ids_of_split("train", 1)
    (test_id, other_test) = _ids_of_split("test", 2)
    analysis = validate_analysis(four_on_the_floor(n_bars=6))
    records = [
        TrackRecord(train_id, analysis, features(train_id, danceability=0.9), "house"),
        TrackRecord(test_id, analysis, features(test_id, danceability=0.1), "house"),
        TrackRecord(other_test, analysis, None, "house"),  # filled: 0.9 (train), not 0.5 (train and test)
    ]
    dataset, _ = build_dataset(records, PatternConfig(bars=4))
    filled = dataset.extra_conditions["danceability"][dataset.source == other_test]
    assert len(filled) and np.allclose(filled, 0.9)
    # a feature only test tracks have is not a condition at all
    only_test = [TrackRecord(train_id, analysis, None, "house"), records[1]]
    dataset, _ = build_dataset(only_test, PatternConfig(bars=4))
    assert list(dataset.extra_conditions) == ["tempo"]


def test_a_track_without_any_tempo_is_rejected_with_a_reason_not_a_crash():
    payload = four_on_the_floor(n_bars=6)
    payload["track"]["tempo"] = 0.0
    for beat in payload["beats"]:
        beat["duration"] = 0.0
    record = TrackRecord("notempo", validate_analysis(payload), features("notempo", tempo=0.0), "house")
    dataset, summary = build_dataset([record, _record("fine")], PatternConfig(bars=4))
    assert summary.skipped["no tempo"] == 1 and set(dataset.source.tolist()) == {"fine"}
