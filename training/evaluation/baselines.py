"""Baselines the model must beat (retrieval: cannot beat on realism), learnt from the TRAIN split only.

- ``bernoulli``: every voice x step cell hit independently with its training frequency (matched density);
  velocity and offset of a hit drawn from the training hits of the same cell.
- ``shuffled_bars``: bar b of each pattern is bar b of a random training window (all planes copied).
- ``Retrieval``: answers a request (condition vector, style) with the training window whose normalised
  conditions are nearest: the realism ceiling and the novelty floor.
All take a ``numpy.random.Generator`` and are deterministic given its state.
"""

from __future__ import annotations

import numpy as np

from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid


def bernoulli(train: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` patterns [n, 3, V, T]: independent per-cell Bernoulli draws fitted on ``train`` [M, 3, V, T]."""
    train = _check_batch(train)
    hits = train[:, HIT] > 0.5  # [M, V, T]
    prob = hits.mean(axis=0)  # [V, T]
    out = np.zeros((n, *train.shape[1:]), dtype=np.float32)  # [n, 3, V, T]
    out[:, HIT] = rng.random((n, *prob.shape)) < prob[None]
    for v, t in zip(*np.nonzero(prob), strict=True):
        rows = np.flatnonzero(hits[:, v, t])  # training windows with a hit in this cell
        targets = np.flatnonzero(out[:, HIT, v, t])
        picks = rows[rng.integers(0, len(rows), size=len(targets))]
        out[targets, VELOCITY, v, t] = train[picks, VELOCITY, v, t]
        out[targets, OFFSET, v, t] = train[picks, OFFSET, v, t]
    return out


def shuffled_bars(train: np.ndarray, grid: Grid, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` patterns whose bar b is bar b of an independently chosen random training window."""
    train = _check_batch(train)
    if train.shape[-1] != grid.n_steps:
        raise ValueError(f"train has {train.shape[-1]} steps, grid {grid} has {grid.n_steps}")
    bar = grid.steps_per_bar
    sources = rng.integers(0, len(train), size=(n, grid.bars))  # [n, bars]
    out = np.empty((n, *train.shape[1:]), dtype=np.float32)
    for b in range(grid.bars):
        out[..., b * bar : (b + 1) * bar] = train[sources[:, b], ..., b * bar : (b + 1) * bar]
    return out


class Retrieval:
    """Nearest-neighbour retrieval from the training set in normalised-condition space.

    ``cond`` [M, C] are the training windows' normalised conditions, ``style`` [M] their style index (-1 for
    none). A request matches windows of its own style when there are any; ties go to a random window.
    """

    def __init__(
        self, train: np.ndarray, cond: np.ndarray, style: np.ndarray | None, rng: np.random.Generator
    ):
        self.train = _check_batch(train)
        order = rng.permutation(len(train))  # random tie-breaking: argmin takes the first of equals
        self.patterns = self.train[order]
        self.cond = np.asarray(cond, dtype=np.float64)[order]  # [M, C]
        self.style = None if style is None else np.asarray(style)[order]
        self._norms = (self.cond**2).sum(axis=1)  # [M]
        if len(self.cond) != len(self.train):
            raise ValueError(f"cond has {len(self.cond)} rows for {len(self.train)} training windows")

    def indices(self, cond: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        """Row (in ``self.patterns``) of the nearest training window for each request -> int [N]."""
        cond = np.asarray(cond, dtype=np.float64).reshape(-1, self.cond.shape[1])
        out = np.empty(len(cond), dtype=np.int64)
        for start in range(0, len(cond), 256):
            block = cond[start : start + 256]
            dist = (block**2).sum(1)[:, None] + self._norms[None, :] - 2.0 * block @ self.cond.T  # [n, M]
            if style is not None and self.style is not None:
                wanted = np.asarray(style)[start : start + 256]
                other = self.style[None, :] != wanted[:, None]  # [n, M]
                has_own = ~other.all(axis=1, keepdims=True)
                dist = np.where(other & has_own, np.inf, dist)
            out[start : start + 256] = dist.argmin(axis=1)
        return out

    def generate(self, cond: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        return self.patterns[self.indices(cond, style)]


def _check_batch(batch: np.ndarray) -> np.ndarray:
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[1] != 3 or len(batch) == 0:
        raise ValueError(f"training patterns must be a non-empty [M, 3, V, T] array, got {batch.shape}")
    return batch
