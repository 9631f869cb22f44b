"""Conditional diversity: takes at one fixed setting against real neighbours, on real tiny ONNX models."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.pattern import HIT, Grid
from companion.runtime.candidates import hit_change
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import write_tiny_model
from training.evaluation.diversity import (
    NEAR_DUPLICATE,
    DiversityConfig,
    conditional_diversity,
    diversity_table_rows,
    pairwise_changes,
    partners,
    plot_diversity,
    real_changes,
    summarise,
)

GRID = Grid(4, 4, 4)
SMALL = DiversityConfig(settings=6, samples=4, reference_anchors=40, pairs_per_anchor=3, n_candidates=8)


@pytest.fixture(scope="module")
def train():
    return synthetic_dataset(GRID).of_split("train")


def test_pairwise_changes_are_the_engines_hit_change_of_every_pair():
    rng = np.random.default_rng(0)
    hits = rng.random((5, 9, 16)) < 0.2
    got = pairwise_changes(hits)
    assert got.shape == (10,)
    first, second = np.triu_indices(5, k=1)
    want = [hit_change(hits[a], hits[b]) for a, b in zip(first, second, strict=True)]
    np.testing.assert_allclose(got, want)
    assert np.all(pairwise_changes(np.repeat(hits[:1], 4, axis=0)) == 0)  # identical takes: no change


def test_partners_share_style_not_file_and_lie_within_the_tolerance():
    cond = np.array([[0.5, 0.5], [0.55, 0.45], [0.58, 0.5], [0.7, 0.5], [0.52, 0.5], [0.5, 0.61]])
    style = np.array([0, 0, 0, 0, 1, 0])
    source = np.array(["a", "b", "a", "c", "d", "e"])
    # row 1: other file, within 0.1; row 2: same file; row 3: 0.2 away; row 4: other style; row 5: 0.11 away
    assert partners(0, cond, style, source).tolist() == [1]
    assert set(partners(1, cond, style, source).tolist()) == {0, 2}


def test_real_changes_draw_at_most_per_anchor_partners():
    rng = np.random.default_rng(1)
    hits = rng.random((30, 9, 16)) < 0.2
    cond = np.full((30, 2), 0.5)
    style = np.zeros(30, dtype=np.int64)
    source = np.array([f"f{i % 10}" for i in range(30)])
    changes = real_changes(hits, cond, style, source, anchors=np.arange(5), per_anchor=3, rng=rng)
    assert len(changes) == 15 and np.all((changes > 0) & (changes <= 1))
    lonely = real_changes(hits, cond, np.arange(30), source, anchors=np.arange(5), per_anchor=3, rng=rng)
    # (every window its own style: no partner)
    assert len(lonely) == 0


def test_summarise_gives_the_median_near_duplicates_and_their_spread():
    first = np.array([0.0, 0.05, 0.5, 0.6, 0.7])
    second = np.array([0.2, 0.4, 0.6, 0.8, 0.9])
    row = summarise("raw", [first, second])
    assert row.median == pytest.approx((0.5 + 0.6) / 2)
    assert row.near_duplicates == pytest.approx((2 / 5 + 0) / 2)
    assert row.repeats == 2 and row.sd["median"] == pytest.approx(np.std([0.5, 0.6], ddof=1))
    assert NEAR_DUPLICATE == 0.1


@pytest.fixture(scope="module")
def lively(tmp_path_factory, train):
    path = tmp_path_factory.mktemp("lively") / "lively.onnx"
    write_tiny_model(path, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock"))
    return conditional_diversity(path, train, SMALL, 2, np.random.default_rng(0))


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory, train):
    path = tmp_path_factory.mktemp("collapsed") / "collapsed.onnx"
    write_tiny_model(
        path, z_scale=0.0, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock")
    )
    return conditional_diversity(path, train, SMALL, 2, np.random.default_rng(0))


def test_a_generator_that_ignores_its_noise_is_caught(collapsed, lively):
    raw = collapsed.row("raw")
    assert raw.median == 0.0 and raw.near_duplicates == 1.0 and raw.ratio == 0.0
    # the search draws 8 candidates per seed and picks the best: even a collapsed generator's takes can
    # differ a little there (windows of another candidate), never more than the lively generator's
    assert collapsed.row("search").median <= lively.row("search").median
    assert lively.row("raw").median > 0.05 and lively.row("raw").near_duplicates < 0.9


def test_rows_paths_pairs_and_the_real_reference(lively):
    assert [r.path for r in lively.rows] == ["real", "raw", "search"]
    real = lively.row("real")
    assert real.ratio == pytest.approx(1.0) and 0 < real.median < 1 and real.pairs > 0
    assert lively.row("raw").pairs == SMALL.settings * SMALL.samples * (SMALL.samples - 1) // 2
    assert lively.setting_medians["raw"].shape == (SMALL.settings,)
    assert lively.row("raw").ratio == pytest.approx(lively.row("raw").median / real.median)


def test_table_and_plot(lively):
    rows = diversity_table_rows(lively)
    assert rows[0][0] == "path" and [r[0] for r in rows[1:]] == ["real", "raw", "search"]
    assert plot_diversity(lively).startswith(b"\x89PNG")


def test_without_search_there_is_no_search_row(tmp_path, train):
    path = write_tiny_model(tmp_path / "m.onnx", grid=GRID, conditions=("density",), styles=())
    config = DiversityConfig(settings=3, samples=3, reference_anchors=20, search=False)
    result = conditional_diversity(path, train, config, 1, np.random.default_rng(2))
    assert [r.path for r in result.rows] == ["real", "raw"]
    with pytest.raises(ValueError, match="2 samples"):
        conditional_diversity(path, train, DiversityConfig(samples=1), 1, np.random.default_rng(2))


def test_synthetic_real_windows_of_one_setting_differ(train):
    hits = train.patterns[:, HIT] > 0.5
    assert pairwise_changes(hits[:4]).min() > 0  # the synthetic data has random extra hits per window
