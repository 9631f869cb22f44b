"""Evaluation metrics: pure numpy functions of sets of patterns or of their descriptors.

Formulas and references: ``docs/evaluation.md``. Sets of descriptors are float arrays [N, D]; sets of hit
grids are bool/0-1 arrays [N, V, T]. Nothing here draws random numbers.
"""

from __future__ import annotations

import math

import numpy as np

from companion.core.errors import DataError
from companion.core.pattern import Grid

DRUM_PATTERN_TOLERANCE = 0.1  # MuseGAN's weight for 16ths that are not on an 8th


# --- descriptor-space two-sample statistics ------------------------------------------------------------


def zscore_stats(reference: np.ndarray, min_std: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std and the mask of non-constant columns of ``reference`` [N, D] (constant columns carry no
    information for a z-score and are dropped by ``zscore``)."""
    reference = _as_2d(reference, "reference")
    mean = reference.mean(axis=0)
    std = reference.std(axis=0)
    return mean, np.where(std > min_std, std, 1.0), std > min_std


def zscore(values: np.ndarray, stats: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Z-score ``values`` [N, D] with the reference ``stats`` -> [N, D'] (constant columns dropped)."""
    mean, std, keep = stats
    return ((_as_2d(values, "values") - mean) / std)[:, keep]


def one_nn_accuracy(a: np.ndarray, b: np.ndarray) -> float:
    """Leave-one-out 1-nearest-neighbour two-sample accuracy of ``a`` [Na, D] against ``b`` [Nb, D].

    Every point is classified by the label of its nearest other point (Euclidean); the result is the mean of
    the two per-set accuracies (balanced), so 0.5 means indistinguishable whatever the set sizes and 1.0
    perfectly separated. Points tied for nearest each count with an equal share.
    """
    a, b = _as_2d(a, "a"), _as_2d(b, "b")
    if len(a) < 2 or len(b) < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two sets of >= 2 points of equal width, got {a.shape} and {b.shape}")
    points = np.concatenate([a, b])  # [N, D]
    labels = np.concatenate([np.zeros(len(a), bool), np.ones(len(b), bool)])
    squared = (points**2).sum(axis=1)
    dist = squared[:, None] + squared[None, :] - 2.0 * points @ points.T  # [N, N]
    dist = np.maximum(dist, 0.0)
    np.fill_diagonal(dist, np.inf)
    nearest = dist <= dist.min(axis=1, keepdims=True) + 1e-9  # [N, N], ties share the vote
    same = (nearest & (labels[None, :] == labels[:, None])).sum(axis=1) / nearest.sum(axis=1)
    return float(0.5 * same[~labels].mean() + 0.5 * same[labels].mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to ``a`` and ``b`` [N, D]:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    a, b = _as_2d(a, "a"), _as_2d(b, "b")
    if len(a) < 2 or len(b) < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two sets of >= 2 points of equal width, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # tr (S_a S_b)^(1/2) = sum of sqrt eigenvalues of S_a^(1/2) S_b S_a^(1/2), a symmetric PSD matrix
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)
    return max(value, 0.0)


# --- overlapping area (Yang & Lerch 2020) ---------------------------------------------------------------


def kde_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule, n^(-1/5) * std, as scipy's ``gaussian_kde`` for one dimension (0 for constant data)."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    return float(samples.std(ddof=1) * len(samples) ** (-0.2)) if len(samples) > 1 else 0.0


def kde(samples: np.ndarray, points: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel density estimate of 1-D ``samples`` at ``points`` (exact sum)."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    z = (np.asarray(points, dtype=np.float64)[:, None] - samples[None, :]) / bandwidth  # [P, N]
    return np.exp(-0.5 * z**2).sum(axis=1) / (len(samples) * bandwidth * math.sqrt(2 * math.pi))


def kde_on_grid(
    samples: np.ndarray, start: float, step: float, n_points: int, bandwidth: float
) -> np.ndarray:
    """The same estimate on the uniform grid ``start + step * arange(n_points)``, fast for large samples:
    linear binning of the samples onto the grid, then a convolution with the sampled kernel."""
    u = (np.asarray(samples, dtype=np.float64).ravel() - start) / step
    low = np.clip(np.floor(u).astype(np.int64), 0, n_points - 2)
    frac = np.clip(u - low, 0.0, 1.0)
    weights = np.bincount(low, 1.0 - frac, n_points) + np.bincount(low + 1, frac, n_points)  # [P]
    reach = min(n_points - 1, math.ceil(6.0 * bandwidth / step))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) * step / bandwidth) ** 2)  # [2K+1]
    density = np.convolve(weights, kernel)[reach : reach + n_points]
    return density / (len(u) * bandwidth * math.sqrt(2 * math.pi))


def overlap_area(a: np.ndarray, b: np.ndarray, n_points: int = 1024) -> float:
    """Overlapping area, integral of min(p_a, p_b), of the Gaussian KDEs of two 1-D samples: 1 for identical
    distributions, 0 for disjoint ones. A constant sample gets a narrow kernel (1% of the pooled range)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if len(a) == 0 or len(b) == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("overlap_area needs two non-empty finite samples")
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    floor = 0.01 * (high - low) if high > low else 1e-3 * max(1.0, abs(high))
    bw_a, bw_b = max(kde_bandwidth(a), floor), max(kde_bandwidth(b), floor)
    pad = 4.0 * max(bw_a, bw_b)
    step = (high - low + 2 * pad) / (n_points - 1)
    p_a = kde_on_grid(a, low - pad, step, n_points, bw_a)
    p_b = kde_on_grid(b, low - pad, step, n_points, bw_b)
    overlap = np.minimum(p_a, p_b)
    area = (overlap.sum() - 0.5 * (overlap[0] + overlap[-1])) * step  # trapezoid rule
    return float(min(1.0, area))


def intra_inter_overlap(reference: np.ndarray, other: np.ndarray, max_pairs: int = 200_000) -> float:
    """Yang & Lerch's OA for one feature: the overlap of the KDEs of the intra-set distances of ``reference``
    (|x_i - x_j|, i < j) and the inter-set distances between ``reference`` and ``other`` (|x_i - y_j|).
    Pairs are thinned by a fixed stride beyond ``max_pairs`` (deterministic)."""
    x = np.asarray(reference, dtype=np.float64).ravel()
    y = np.asarray(other, dtype=np.float64).ravel()
    if len(x) < 2 or len(y) < 1:
        raise ValueError("intra_inter_overlap needs >= 2 reference and >= 1 other values")
    rows, cols = np.triu_indices(len(x), k=1)
    intra = np.abs(x[rows] - x[cols])
    inter = np.abs(x[:, None] - y[None, :]).ravel()
    return overlap_area(_thin(intra, max_pairs), _thin(inter, max_pairs))


def _thin(values: np.ndarray, limit: int) -> np.ndarray:
    return values[:: max(1, math.ceil(len(values) / limit))]


# --- rhythm-specific --------------------------------------------------------------------------------------


def drum_pattern_weights(grid: Grid, tolerance: float = DRUM_PATTERN_TOLERANCE) -> np.ndarray:
    """Weight of every step [T]: 1 on 8th-note positions, ``tolerance`` on the 16ths between them, 0 on
    anything finer (32nds, triplets). At 16 steps per 4/4 bar this is MuseGAN's mask ``tile([1, tol], 8)``."""
    if grid.steps_per_beat % 2:
        raise DataError(f"drum-pattern score needs an even steps_per_beat, got {grid.steps_per_beat}")
    in_beat = np.arange(grid.n_steps) % grid.steps_per_beat
    eighth = (2 * in_beat) % grid.steps_per_beat == 0
    sixteenth = (4 * in_beat) % grid.steps_per_beat == 0
    return np.where(eighth, 1.0, np.where(sixteenth, tolerance, 0.0))


def drum_pattern_score(hits: np.ndarray, grid: Grid, tolerance: float = DRUM_PATTERN_TOLERANCE) -> float:
    """MuseGAN's drum-in-pattern rate pooled over a set: sum of the step weights of all hits divided by the
    number of hits (NaN for a set without hits). ``hits`` [N, V, T] (or [V, T])."""
    hits = np.asarray(hits) > 0
    if hits.shape[-1] != grid.n_steps:
        raise ValueError(f"hits must have {grid.n_steps} steps, got shape {hits.shape}")
    total = hits.sum()
    weights = drum_pattern_weights(grid, tolerance)
    return float((hits * weights).sum() / total) if total else math.nan


def hamming_to_set(queries: np.ndarray, reference: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Hamming distance (differing cells) of each query hit grid [N, V, T] to its nearest in ``reference``
    [M, V, T] -> int [N]."""
    q = _flat_hits(queries, "queries")
    r = _flat_hits(reference, "reference")
    if q.shape[1] != r.shape[1] or len(r) == 0:
        raise ValueError(f"queries {np.shape(queries)} and reference {np.shape(reference)} do not match")
    r_counts = r.sum(axis=1)
    out = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        dist = block.sum(axis=1)[:, None] + r_counts[None, :] - 2.0 * (block @ r.T)  # [n, M], exact integers
        out[start : start + chunk] = np.rint(dist.min(axis=1)).astype(np.int64)
    return out


def count_exact_copies(queries: np.ndarray, reference: np.ndarray) -> int:
    """How many query hit grids occur exactly (every cell equal) in ``reference``."""
    return int((hamming_to_set(queries, reference) == 0).sum())


def mean_pairwise_hamming(hits: np.ndarray) -> float:
    """Mean Hamming distance over all distinct pairs of a set of hit grids [N, V, T] (N >= 2)."""
    h = _flat_hits(hits, "hits")
    if len(h) < 2:
        raise ValueError("mean_pairwise_hamming needs at least 2 patterns")
    counts = h.sum(axis=1)
    dist = counts[:, None] + counts[None, :] - 2.0 * (h @ h.T)  # [N, N]
    return float(dist[np.triu_indices(len(h), k=1)].mean())


# --- control ------------------------------------------------------------------------------------------------


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 1..N of a 1-D array, ties sharing their mean rank (scipy's ``rankdata(method='average')``)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(starts) - 1  # [N]: tie group of each sorted position
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:], [len(values)]]) - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[group] + last[group]) / 2.0 + 1.0
    return ranks


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two equal-length 1-D samples; NaN when either is constant."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"spearman_rho needs two samples of equal length >= 2, got {len(x)} and {len(y)}")
    rx, ry = rankdata(x) - (len(x) + 1) / 2.0, rankdata(y) - (len(y) + 1) / 2.0
    denominator = math.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denominator) if denominator > 0 else math.nan


# --- helpers -----------------------------------------------------------------------------------------------


def _as_2d(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be 2-D [N, D], got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return values


def _flat_hits(hits: np.ndarray, name: str) -> np.ndarray:
    hits = np.asarray(hits)
    if hits.ndim != 3:
        raise ValueError(f"{name} must be hit grids [N, V, T], got shape {hits.shape}")
    return (hits > 0).reshape(len(hits), -1).astype(np.float32)
