"""The dataset .npz format: round trip, validation, selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid
from training.dataset import DatasetError, RhythmDataset


def make(n: int = 6, grid: Grid | None = None, **overrides) -> RhythmDataset:
    grid = grid or Grid(4, 4, 2)
    rng = np.random.default_rng(n)
    patterns = np.zeros((n, 3, N_VOICES, grid.n_steps), np.float32)  # [N, 3, V, T]
    hits = rng.random((n, N_VOICES, grid.n_steps)) < 0.3
    patterns[:, 0] = hits
    patterns[:, 1] = hits * rng.integers(1, 128, hits.shape) / 127
    patterns[:, 2] = hits * rng.integers(-60, 61, hits.shape) / 120  # whole ticks at 480 per beat
    fields = dict(
        grid=grid,
        patterns=patterns,
        style=np.array(["funk", "rock", "", "funk", "jazz", "rock"][:n]),
        split=np.array(["train", "train", "validation", "test", "train", "test"][:n]),
        source=np.array([f"f{i // 2}.mid" for i in range(n)]),
        beat_type=np.array(["beat"] * n),
        bpm=np.linspace(80, 130, n).astype(np.float32),
        start_bar=np.arange(n, dtype=np.int32),
        extra_conditions={"danceability": np.linspace(0, 1, n).astype(np.float32)},
        meta={"source": "test", "licence": "none"},
    )
    return RhythmDataset(**{**fields, **overrides})


def test_round_trip(tmp_path):
    data = make()
    back = RhythmDataset.load(data.save(tmp_path / "d.npz"))
    assert back.grid == data.grid and len(back) == 6
    assert np.array_equal(back.patterns[:, 0], data.patterns[:, 0])
    assert np.array_equal(
        np.rint(back.patterns[:, 1] * 127), np.rint(data.patterns[:, 1] * 127)
    )  # float16 ok
    assert np.abs(back.patterns[:, 2] - data.patterns[:, 2]).max() < 1e-3
    for name in ("style", "split", "source", "beat_type", "start_bar"):
        assert getattr(back, name).tolist() == getattr(data, name).tolist()
    np.testing.assert_allclose(back.bpm, data.bpm)
    np.testing.assert_allclose(back.extra_conditions["danceability"], data.extra_conditions["danceability"])
    assert back.meta["source"] == "test" and back.meta["grid"] == {
        "steps_per_beat": 4,
        "beats_per_bar": 4,
        "bars": 2,
    }


def test_select_split_and_styles():
    data = make()
    assert data.styles == ["funk", "jazz", "rock"]
    test = data.of_split("test")
    assert test.split.tolist() == ["test", "test"] and test.start_bar.tolist() == [3, 5]
    assert len(data.of_split("train", "validation")) == 4
    assert len(data.select(data.bpm > 100).extra_conditions["danceability"]) == 3


def test_three_four_and_empty(tmp_path):
    waltz = make(grid=Grid(4, 3, 3))
    assert RhythmDataset.load(waltz.save(tmp_path / "w.npz")).grid.beats_per_bar == 3
    empty = make().select(np.zeros(6, bool))
    assert len(RhythmDataset.load(empty.save(tmp_path / "e.npz"))) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"patterns": np.zeros((6, 3, N_VOICES, 16), np.float32)},
            r"patterns must have shape \(6, 3, 9, 32\)",
        ),
        ({"style": np.array(["a"])}, "style must have 6 entries, got 1"),
        (
            {"split": np.array(["train", "dev", "train", "test", "train", "test"])},
            r"split has unknown values \['dev'\]",
        ),
        ({"extra_conditions": {"x": np.zeros(2, np.float32)}}, "cond_x must have 6 entries"),
    ],
)
def test_inconsistent_datasets_are_refused(overrides, message):
    with pytest.raises(DatasetError, match=message):
        make(**overrides)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="not a readable dataset"):
        RhythmDataset.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(DatasetError, match="not a readable dataset"):
        RhythmDataset.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "partial.npz", hits=np.zeros((1, 9, 16), np.uint8))
    with pytest.raises(DatasetError, match="dataset is missing"):
        RhythmDataset.load(tmp_path / "partial.npz")
    path = make().save(tmp_path / "d.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    np.savez(
        tmp_path / "voices.npz", **{**arrays, "meta": np.array(json.dumps({**meta, "voices": ["kick"]}))}
    )
    with pytest.raises(DatasetError, match="voices"):
        RhythmDataset.load(tmp_path / "voices.npz")
    np.savez(
        tmp_path / "grid.npz", **{**arrays, "meta": np.array(json.dumps({**meta, "grid": {"bars": 99}}))}
    )
    with pytest.raises(DatasetError, match="meta is malformed"):
        RhythmDataset.load(tmp_path / "grid.npz")


def _with(plane: int, row: int, value: float) -> np.ndarray:
    patterns = make().patterns.copy()
    patterns[row, plane, 0, 0] = value
    return patterns


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"patterns": _with(0, 2, 7.0)}, "hits must be 0 or 1; row 2"),
        ({"patterns": _with(1, 1, float("nan"))}, r"velocities must be in 0\.\.1; row 1"),
        ({"patterns": _with(1, 0, 1.5)}, r"velocities must be in 0\.\.1; row 0"),
        ({"patterns": _with(2, 3, 0.75)}, r"offsets must be in -0\.5\.\.0\.5 steps; row 3"),
        ({"bpm": np.array([120, 0, 120, 120, 120, 120], np.float32)}, "bpm must be a tempo > 0; row 1"),
        (
            {"extra_conditions": {"energy": np.array([0, 0, 42, 0, 0, 0], np.float32)}},
            r"cond_energy must be in 0\.\.1",
        ),
        (
            {"extra_conditions": {"energy": np.full(6, np.nan, np.float32)}},
            "cond_energy must be in 0..1; row 0",
        ),
    ],
)
def test_values_out_of_range_or_nan_are_refused_naming_the_array_and_row(overrides, message):
    with pytest.raises(DatasetError, match=message):
        make(**overrides)


def test_a_file_whose_planes_disagree_in_shape_is_refused_by_name(tmp_path):
    path = make().save(tmp_path / "d.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(tmp_path / "shapes.npz", **{**arrays, "offsets": arrays["offsets"][:, :, :16]})
    with pytest.raises(DatasetError, match=r"shapes.npz: hits, velocities and offsets must share one"):
        RhythmDataset.load(tmp_path / "shapes.npz")
    np.savez(tmp_path / "nan.npz", **{**arrays, "cond_danceability": np.full(6, np.nan, np.float32)})
    with pytest.raises(DatasetError, match=r"nan.npz: cond_danceability must be in 0\.\.1"):
        RhythmDataset.load(tmp_path / "nan.npz")
