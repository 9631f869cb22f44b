"""Quantile normaliser: raw descriptor values <-> 0..1 sliders, by the quantiles of a reference set.

Slider 0.5 means "the median of the reference (training) data" and 0.9 "busier than 90% of it". Tied
quantiles (common for discrete descriptors) map to the middle of the span of probabilities they cover.
A table may start at a musical zero instead of the data's lowest value (swing: 0 = straight, the quantiles
of the positive values above it; ``training.conditions``): values below it have no slider position, and
``transform(..., extrapolate=True)`` mirrors them below 0 (a value ``d`` under the first quantile maps to
minus the slider of the value ``d`` above it), so a search can still tell them from the zero itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

N_QUANTILES = 101


@dataclass(frozen=True)
class QuantileNormaliser:
    names: tuple[str, ...]
    quantiles: np.ndarray  # float64 [D, Q]: the value at probability probs[q] for descriptor d
    probs: np.ndarray  # float64 [Q], 0..1 increasing
    _tables: list[tuple[np.ndarray, np.ndarray]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        quantiles = np.asarray(self.quantiles, dtype=np.float64)
        probs = np.asarray(self.probs, dtype=np.float64)
        if quantiles.shape != (len(self.names), len(probs)):
            raise ValueError(
                f"quantiles must have shape {(len(self.names), len(probs))}, got {quantiles.shape}"
            )
        if not (np.all(np.isfinite(quantiles)) and np.all(np.isfinite(probs))):
            raise ValueError("quantiles and probs must be finite")
        if np.any(np.diff(probs) <= 0) or probs[0] < 0 or probs[-1] > 1:
            raise ValueError("probs must increase strictly within 0..1")
        if np.any(np.diff(quantiles, axis=1) < 0):
            raise ValueError("quantiles must be non-decreasing along each row")
        object.__setattr__(self, "quantiles", quantiles)
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "_tables", [_tie_table(row, probs) for row in quantiles])

    @classmethod
    def fit(
        cls, values: np.ndarray, names: Sequence[str], n_quantiles: int = N_QUANTILES
    ) -> QuantileNormaliser:
        """Fit on a reference set ``values`` [N, D]."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(names) or len(values) == 0:
            raise ValueError(f"values must have shape [N>0, {len(names)}], got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values must be finite")
        probs = np.linspace(0.0, 1.0, n_quantiles)
        return cls(tuple(names), np.quantile(values, probs, axis=0).T, probs)

    def transform(self, values: np.ndarray, extrapolate: bool = False) -> np.ndarray:
        """Raw [N, D] -> 0..1 [N, D] (float32). ``extrapolate``: values beyond the table's ends are mirrored
        at them (below 0, above 1) instead of clamped, so ``x`` and ``2 * end - x`` lie the same distance
        from the end's slider value."""
        values = np.asarray(values, dtype=np.float64)
        out = np.empty(values.shape, dtype=np.float32)
        for d, (xs, ps) in enumerate(self._tables):
            x = values[..., d]
            if extrapolate:
                low, high = xs[0], xs[-1]
                inside = np.interp(np.clip(x, low, high), xs, ps)
                below = 2 * ps[0] - np.interp(np.minimum(2 * low - x, high), xs, ps)
                above = 2 * ps[-1] - np.interp(np.maximum(2 * high - x, low), xs, ps)
                out[..., d] = np.where(x < low, below, np.where(x > high, above, inside))
            else:
                out[..., d] = np.interp(x, xs, ps)
        return out

    def inverse(self, sliders: np.ndarray) -> np.ndarray:
        """0..1 [N, D] -> raw values [N, D] (float32)."""
        sliders = np.clip(np.asarray(sliders, dtype=np.float64), 0.0, 1.0)
        out = np.empty(sliders.shape, dtype=np.float32)
        for d, row in enumerate(self.quantiles):
            out[..., d] = np.interp(sliders[..., d], self.probs, row)
        return out

    def subset(self, names: Sequence[str]) -> QuantileNormaliser:
        index = [self.names.index(name) for name in names]
        return QuantileNormaliser(tuple(names), self.quantiles[index], self.probs)

    def to_dict(self) -> dict:
        return {
            "probs": [round(float(p), 6) for p in self.probs],
            "quantiles": {
                name: [float(v) for v in row] for name, row in zip(self.names, self.quantiles, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> QuantileNormaliser:
        if not isinstance(data, dict) or "probs" not in data or not isinstance(data.get("quantiles"), dict):
            raise ValueError("normaliser JSON must be an object with 'probs' and 'quantiles'")
        names = tuple(data["quantiles"])
        return cls(
            names, np.array([data["quantiles"][n] for n in names], dtype=np.float64), np.array(data["probs"])
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> QuantileNormaliser:
        return cls.from_dict(json.loads(text))


def _tie_table(row: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique quantile values and, for each, the mean probability of the quantiles equal to it."""
    values, inverse = np.unique(row, return_inverse=True)
    mean_probs = np.bincount(inverse, weights=probs) / np.bincount(inverse)
    return values, mean_probs
