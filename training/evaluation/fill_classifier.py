"""Is this bar a fill? A fill-vs-beat classifier learnt from the Groove MIDI Dataset, to measure Fill.

Features of one bar [3, V, S]: every cell's hit (V x S), each voice's hit count and mean velocity, the
hits per step (all voices), and the bar's count of hits on toms, snare and cymbals; standardised with the
training set's mean and spread. The model is a logistic regression with an L2 penalty, fitted by full-batch
gradient descent with the two classes weighted equally (GMD's train split has some 600 fill bars against
60,000 bars of beats). ``fit_fill_classifier`` learns from train rows only; its accuracy is measured on the
test split (balanced: the mean of the accuracy on fills and on beats). numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.core.pattern import HIT, VELOCITY

TOMS, SNARE, CYMBALS = (4, 5, 6), (1,), (7, 8)  # voice indices (companion.core.drum_map.VOICES order)


def bar_features(bars: np.ndarray) -> np.ndarray:
    """[N, 3, V, S] bars -> features [N, F] float64."""
    bars = np.asarray(bars, dtype=np.float64)
    hits = (bars[:, HIT] > 0.5).astype(np.float64)  # [N, V, S]
    counts = hits.sum(axis=2)  # [N, V]
    loud = (bars[:, VELOCITY] * hits).sum(axis=2) / np.maximum(counts, 1)  # [N, V]
    per_step = hits.sum(axis=1)  # [N, S]
    groups = np.stack([hits[:, list(g)].sum(axis=(1, 2)) for g in (TOMS, SNARE, CYMBALS)], axis=1)  # [N, 3]
    return np.concatenate([hits.reshape(len(bars), -1), counts, loud, per_step, groups], axis=1)


def last_bars(windows: np.ndarray, steps_per_bar: int) -> np.ndarray:
    """The last bar [N, 3, V, S] of windows [N, 3, V, T]."""
    return np.asarray(windows)[..., -steps_per_bar:]


def every_bar(windows: np.ndarray, steps_per_bar: int) -> np.ndarray:
    """Every bar of windows [N, 3, V, B*S] -> [N*B, 3, V, S]."""
    n, planes, voices, t = np.shape(windows)
    bars = np.asarray(windows).reshape(n, planes, voices, t // steps_per_bar, steps_per_bar)
    return bars.transpose(0, 3, 1, 2, 4).reshape(-1, planes, voices, steps_per_bar)


@dataclass(frozen=True)
class FillClassifier:
    weights: np.ndarray  # [F]
    bias: float
    mean: np.ndarray  # [F]
    std: np.ndarray  # [F]

    def probability(self, bars: np.ndarray) -> np.ndarray:
        """P(fill) [N] of bars [N, 3, V, S]."""
        x = (bar_features(bars) - self.mean) / self.std
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))

    def is_fill(self, bars: np.ndarray) -> np.ndarray:
        return self.probability(bars) >= 0.5

    def balanced_accuracy(self, fill_bars: np.ndarray, beat_bars: np.ndarray) -> float:
        return float((self.is_fill(fill_bars).mean() + (~self.is_fill(beat_bars)).mean()) / 2)


def fit_fill_classifier(
    fill_bars: np.ndarray, beat_bars: np.ndarray, l2: float = 0.1, steps: int = 400, lr: float = 0.5
) -> FillClassifier:
    """Logistic regression of fill (1) vs beat (0) bars, the classes weighted equally."""
    x = np.concatenate([bar_features(fill_bars), bar_features(beat_bars)])
    y = np.concatenate([np.ones(len(fill_bars)), np.zeros(len(beat_bars))])
    if not len(fill_bars) or not len(beat_bars):
        raise ValueError("the fill classifier needs fill bars and beat bars")
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    x = (x - mean) / std
    weight = np.where(y == 1, 0.5 / len(fill_bars), 0.5 / len(beat_bars))  # [N], sums to 1
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = weight * (p - y)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum()
    return FillClassifier(w, float(b), mean, std)
