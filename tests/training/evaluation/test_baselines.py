"""Baselines: matched density, bars from real windows, retrieval by condition (and style)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid
from tests.support.synthetic_dataset import synthetic_dataset
from training.evaluation import baselines

GRID = Grid(4, 4, 4)


@pytest.fixture(scope="module")
def train() -> np.ndarray:
    return synthetic_dataset(GRID, sources={"train": 40}, per_source=5).patterns


def test_bernoulli_matches_per_cell_density(train):
    out = baselines.bernoulli(train, 4000, np.random.default_rng(0))
    expected = (train[:, HIT] > 0.5).mean(axis=0)
    assert out.shape == (4000, *train.shape[1:])
    assert np.abs(out[:, HIT].mean(axis=0) - expected).max() < 0.05
    never = expected == 0
    assert not out[:, HIT][:, never].any()  # a cell never hit in training is never hit


def test_bernoulli_velocity_and_offset_come_from_training_hits_of_that_cell(train):
    out = baselines.bernoulli(train, 200, np.random.default_rng(1))
    hits = out[:, HIT] > 0.5
    assert np.all(out[:, VELOCITY][~hits] == 0) and np.all(out[:, OFFSET][~hits] == 0)
    n, v, t = np.nonzero(hits)
    for i in range(0, len(n), 97):
        pool = train[train[:, HIT, v[i], t[i]] > 0.5][:, VELOCITY, v[i], t[i]]
        assert out[n[i], VELOCITY, v[i], t[i]] in pool


def test_baselines_are_deterministic_under_a_seed(train):
    a = baselines.bernoulli(train, 10, np.random.default_rng(5))
    b = baselines.bernoulli(train, 10, np.random.default_rng(5))
    assert np.array_equal(a, b)
    c = baselines.shuffled_bars(train, GRID, 10, np.random.default_rng(5))
    d = baselines.shuffled_bars(train, GRID, 10, np.random.default_rng(5))
    assert np.array_equal(c, d)


def test_shuffled_bars_copy_each_bar_from_the_same_position_of_a_training_window(train):
    out = baselines.shuffled_bars(train, GRID, 30, np.random.default_rng(2))
    bar = GRID.steps_per_bar
    for pattern in out:
        for b in range(GRID.bars):
            piece = pattern[..., b * bar : (b + 1) * bar]
            assert any(np.array_equal(piece, w[..., b * bar : (b + 1) * bar]) for w in train)
    # mixing windows: the patterns are (almost all) not whole training windows
    whole = sum(any(np.array_equal(p, w) for w in train) for p in out)
    assert whole <= 2


def test_shuffled_bars_rejects_a_grid_that_does_not_fit(train):
    with pytest.raises(ValueError, match="steps"):
        baselines.shuffled_bars(train, Grid(4, 4, 2), 3, np.random.default_rng(0))


def test_retrieval_returns_the_window_with_the_nearest_condition_and_own_style():
    rng = np.random.default_rng(3)
    train = rng.random((6, 3, 9, 16)).astype(np.float32)
    cond = np.array([[0.1], [0.2], [0.5], [0.9], [0.5], [0.85]])
    style = np.array([0, 0, 0, 1, 1, 1])
    retrieval = baselines.Retrieval(train, cond, style, rng)
    got = retrieval.generate(np.array([[0.18], [0.88], [0.88]]), np.array([0, 0, 1]))
    assert np.array_equal(got[0], train[1])
    assert np.array_equal(got[1], train[2])  # style 0: nearest of its own style, not window 3
    assert np.array_equal(got[2], train[3])
    # a style absent from the training windows falls back to all windows
    assert np.array_equal(retrieval.generate(np.array([[0.88]]), np.array([7]))[0], train[3])


def test_retrieval_of_training_conditions_copies_training_windows(train):
    cond = np.random.default_rng(4).random((len(train), 2))
    retrieval = baselines.Retrieval(train, cond, None, np.random.default_rng(0))
    assert np.array_equal(retrieval.generate(cond[[3, 7]]), train[[3, 7]])


def test_baselines_reject_empty_training_sets():
    with pytest.raises(ValueError, match="non-empty"):
        baselines.bernoulli(np.zeros((0, 3, 9, 16)), 3, np.random.default_rng(0))
