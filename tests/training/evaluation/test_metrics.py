"""Evaluation metrics on sets with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid
from training.evaluation import metrics

GRID = Grid(4, 4, 1)


def gaussian(seed: int, n: int = 300, d: int = 4, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, (n, d))


def test_one_nn_same_distribution_is_near_half():
    assert abs(metrics.one_nn_accuracy(gaussian(1), gaussian(2)) - 0.5) < 0.07


def test_one_nn_separated_sets_is_near_one():
    assert metrics.one_nn_accuracy(gaussian(1), gaussian(2, shift=8.0)) > 0.99


def test_one_nn_is_balanced_for_unequal_sizes():
    # a plain accuracy would reward always answering "the big set"; the balanced one stays at chance
    big, small = gaussian(3, n=600), gaussian(4, n=60)
    assert abs(metrics.one_nn_accuracy(big, small) - 0.5) < 0.1


def test_one_nn_ties_share_the_vote():
    # a=0 has a (2) and b (-2) both at distance 2: that vote counts half
    a, b = np.array([[0.0], [2.0]]), np.array([[-2.0], [10.0], [12.0]])
    assert metrics.one_nn_accuracy(a, b) == pytest.approx(((0.5 + 1) / 2 + (0 + 1 + 1) / 3) / 2)


def test_one_nn_of_copies_is_zero():
    # each point's nearest neighbour is its twin in the other set: memorisation reads below 0.5
    a = gaussian(5, n=20)
    assert metrics.one_nn_accuracy(a, a.copy()) == 0.0


def test_frechet_same_distribution_near_zero_and_separated_large():
    same = metrics.frechet_distance(gaussian(1, n=2000), gaussian(2, n=2000))
    apart = metrics.frechet_distance(gaussian(1), gaussian(2, shift=3.0))
    assert same < 0.05
    assert apart == pytest.approx(4 * 9.0, rel=0.15)  # |mu_a - mu_b|^2 = 4 dims x 3^2


def test_frechet_matches_closed_form_for_scaled_gaussians():
    # N(0, I) vs N(0, 4I) in 3-D: tr(I + 4I - 2 * 2I) = 3
    a = gaussian(7, n=20000, d=3)
    b = gaussian(8, n=20000, d=3) * 2.0
    assert metrics.frechet_distance(a, b) == pytest.approx(3.0, rel=0.05)


def test_zscore_uses_reference_statistics_and_drops_constant_columns():
    reference = np.column_stack([np.arange(10.0), np.full(10, 3.0)])
    stats = metrics.zscore_stats(reference)
    out = metrics.zscore(np.array([[4.5, 99.0]]), stats)
    assert out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(0.0)


def test_metric_inputs_are_validated():
    with pytest.raises(ValueError, match="finite"):
        metrics.frechet_distance(np.array([[np.nan], [1.0]]), np.ones((3, 1)))
    with pytest.raises(ValueError, match=">= 2 points"):
        metrics.one_nn_accuracy(np.ones((1, 2)), np.ones((3, 2)))


def test_overlap_area_identical_is_one_and_disjoint_is_zero():
    sample = np.random.default_rng(0).normal(size=400)
    assert metrics.overlap_area(sample, sample) == pytest.approx(1.0, abs=1e-3)
    assert metrics.overlap_area(sample, sample + 50.0) < 1e-3
    two = metrics.overlap_area(sample, np.random.default_rng(1).normal(size=400))
    assert 0.85 < two <= 1.0


def test_overlap_area_of_two_unit_gaussians_one_sigma_apart():
    rng = np.random.default_rng(2)
    expected = 2 * 0.5 * math.erfc(0.5 / math.sqrt(2))  # 2 * Phi(-0.5) = 0.617
    assert metrics.overlap_area(rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)) == pytest.approx(
        expected, abs=0.03
    )


def test_overlap_area_of_constant_samples():
    assert metrics.overlap_area(np.full(10, 2.0), np.full(10, 2.0)) == pytest.approx(1.0, abs=1e-3)
    assert metrics.overlap_area(np.full(10, 2.0), np.full(10, 3.0)) < 1e-3


def test_intra_inter_overlap_same_distribution_high_shifted_low():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=200)
    assert metrics.intra_inter_overlap(reference, rng.normal(size=200)) > 0.9
    assert metrics.intra_inter_overlap(reference, rng.normal(10.0, 1.0, size=200)) < 0.05


def eighths_pattern() -> np.ndarray:
    hits = np.zeros((N_VOICES, GRID.n_steps))
    hits[2, ::2] = 1  # closed hat on every 8th
    hits[0, ::4] = 1  # kick on every beat
    hits[1, [4, 12]] = 1  # backbeat
    return hits


def test_drum_pattern_score_of_all_eighths_is_one():
    assert metrics.drum_pattern_score(eighths_pattern()[None], GRID) == 1.0


def test_drum_pattern_score_of_off_eighth_sixteenths_is_the_tolerance():
    hits = np.zeros((1, N_VOICES, GRID.n_steps))
    hits[0, 2, 1::2] = 1  # only the 16ths between 8ths
    assert metrics.drum_pattern_score(hits, GRID) == pytest.approx(0.1)
    hits[0, 2, ::2] = 1  # now 8 on-8th and 8 off-8th hits
    assert metrics.drum_pattern_score(hits, GRID) == pytest.approx((8 * 1.0 + 8 * 0.1) / 16)


def test_drum_pattern_weights_match_musegan_mask_at_16_steps():
    assert np.array_equal(metrics.drum_pattern_weights(GRID), np.tile([1.0, 0.1], 8))
    # 8 steps per beat: 32nds between 16ths weigh 0
    assert np.array_equal(metrics.drum_pattern_weights(Grid(8, 4, 1))[:8], [1, 0, 0.1, 0, 1, 0, 0.1, 0])


def test_drum_pattern_score_of_an_empty_set_is_nan():
    assert math.isnan(metrics.drum_pattern_score(np.zeros((2, N_VOICES, GRID.n_steps)), GRID))


def random_hits(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, N_VOICES, GRID.n_steps)) < 0.2


def test_hamming_and_exact_copies():
    train = random_hits(0, 50)
    queries = random_hits(1, 6)
    queries[0] = train[17]  # an exact copy
    queries[1] = train[3]
    queries[1, 0, 0] = ~queries[1, 0, 0]  # one cell away
    distances = metrics.hamming_to_set(queries, train)
    assert distances[0] == 0 and distances[1] == 1
    assert metrics.count_exact_copies(queries, train) == 1
    brute = [min(int((q != t).sum()) for t in train) for q in queries]
    assert distances.tolist() == brute


def test_mean_pairwise_hamming():
    hits = np.zeros((3, N_VOICES, GRID.n_steps), dtype=bool)
    hits[1, 0, :4] = True  # 4 cells from the empty pattern
    hits[2, 0, :2] = True  # 2 from the empty one, 2 from the second
    assert metrics.mean_pairwise_hamming(hits) == pytest.approx((4 + 2 + 2) / 3)
    assert metrics.mean_pairwise_hamming(np.repeat(hits[1:2], 5, axis=0)) == 0.0


def test_rankdata_averages_ties():
    assert metrics.rankdata(np.array([10, 20, 20, 5])).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_on_monotone_sweeps():
    x = np.linspace(0, 1, 50)
    assert metrics.spearman_rho(x, np.exp(3 * x)) == pytest.approx(1.0)
    assert metrics.spearman_rho(x, -(x**3)) == pytest.approx(-1.0)
    assert math.isnan(metrics.spearman_rho(x, np.ones(50)))
    noise = np.random.default_rng(0).random(50)
    assert abs(metrics.spearman_rho(x, noise)) < 0.4


def test_spearman_matches_pearson_of_ranks_with_ties():
    x = np.array([1, 2, 2, 3, 4, 4, 4, 5.0])
    y = np.array([2, 1, 4, 3, 6, 5, 7, 8.0])
    rx, ry = metrics.rankdata(x), metrics.rankdata(y)
    assert metrics.spearman_rho(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_binned_kde_matches_the_exact_sum():
    samples = np.random.default_rng(4).normal(size=300)
    points = np.linspace(-5, 5, 1001)
    exact = metrics.kde(samples, points, 0.3)
    binned = metrics.kde_on_grid(samples, -5.0, 0.01, 1001, 0.3)
    assert np.max(np.abs(binned - exact)) < 1e-3 * exact.max()
