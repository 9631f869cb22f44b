"""Condition vectors for the GAN: the sliders (normalised descriptors) and style indices of a dataset.

Descriptor conditions are measured with ``companion.core.descriptors.describe_batch`` (the daemon measures its
candidates with the same code) and mapped to 0..1 by a ``QuantileNormaliser`` fitted on the train split only.
A dataset's extra per-window conditions (``cond_<name>``, already 0..1, e.g. Spotify's danceability) pass
through unchanged (identity quantiles). Styles are the train split's sorted distinct labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, DESCRIPTOR_TABLE, describe_batch
from companion.core.errors import UsageError
from companion.core.model_meta import ConditionMeta
from companion.core.normaliser import N_QUANTILES, QuantileNormaliser
from training.dataset import RhythmDataset

TRAIN_SPLIT = "train"
FORBIDDEN_SPLIT = "test"
_DESCRIPTIONS = {name: (unit, text) for name, unit, text in DESCRIPTOR_TABLE}


class ConditionError(UsageError):
    """The requested conditions do not fit the dataset."""


def training_rows(dataset: RhythmDataset, beat_types: tuple[str, ...] = ()) -> RhythmDataset:
    """The rows the GAN may learn from: split ``train`` only (never ``test``), optionally some beat types."""
    keep = dataset.split == TRAIN_SPLIT
    if beat_types:
        keep &= np.isin(dataset.beat_type, beat_types)
    rows = dataset.select(keep)
    if np.any(rows.split == FORBIDDEN_SPLIT):  # defensive: the mask above cannot let one through
        raise ConditionError("refusing to train on rows of the test split")
    if len(rows) == 0:
        raise ConditionError(
            f"the dataset has no '{TRAIN_SPLIT}' rows"
            + (f" of beat types {list(beat_types)}" if beat_types else "")
            + f" (splits present: {sorted(set(dataset.split.tolist()))})"
        )
    return rows


@dataclass(frozen=True)
class ConditionSpace:
    """Names (in ONNX ``cond`` order), their normaliser, and the style labels (``()`` = no styles)."""

    names: tuple[str, ...]
    normaliser: QuantileNormaliser  # one row per name, in ``names`` order
    styles: tuple[str, ...] = ()

    @classmethod
    def fit(cls, train: RhythmDataset, names: tuple[str, ...], use_styles: bool = True) -> ConditionSpace:
        """Fit on the train rows (``training_rows``): quantiles of each descriptor, the style list."""
        if np.any(train.split == FORBIDDEN_SPLIT):
            raise ConditionError("conditions must be fitted on training rows only, got test rows")
        columns = []
        for name in names:
            if name in DESCRIPTOR_INDEX:
                continue
            if name not in train.extra_conditions:
                allowed = sorted(DESCRIPTOR_INDEX) + sorted(train.extra_conditions)
                raise ConditionError(f"unknown condition {name!r}; allowed: {allowed}")
        raw = describe_batch(train.patterns, train.grid)  # [N, D]
        probs = np.linspace(0.0, 1.0, N_QUANTILES)
        for name in names:
            if name in DESCRIPTOR_INDEX:
                columns.append(np.quantile(raw[:, DESCRIPTOR_INDEX[name]].astype(np.float64), probs))
            else:
                columns.append(probs.copy())  # already 0..1: identity
        normaliser = QuantileNormaliser(tuple(names), np.stack(columns), probs)
        styles = tuple(train.styles) if use_styles else ()
        return cls(tuple(names), normaliser, styles)

    @property
    def measured(self) -> tuple[int, ...]:
        """Positions in ``names`` of the descriptor conditions (those the auxiliary loss can measure)."""
        return tuple(i for i, n in enumerate(self.names) if n in DESCRIPTOR_INDEX)

    def raw_from_descriptors(self, descriptors: np.ndarray) -> np.ndarray:
        """Raw condition values [N, C] from ``describe_batch`` output [N, D]; extra conditions are 0."""
        out = np.zeros((len(descriptors), len(self.names)), dtype=np.float32)
        for i, name in enumerate(self.names):
            if name in DESCRIPTOR_INDEX:
                out[:, i] = descriptors[:, DESCRIPTOR_INDEX[name]]
        return out

    def raw_values(self, dataset: RhythmDataset) -> np.ndarray:
        """Raw condition values [N, C] (descriptors measured; extras as stored)."""
        out = self.raw_from_descriptors(describe_batch(dataset.patterns, dataset.grid))
        for i, name in enumerate(self.names):
            if name in DESCRIPTOR_INDEX:
                continue
            if name in dataset.extra_conditions:
                out[:, i] = np.clip(dataset.extra_conditions[name], 0, 1)
            else:
                raise ConditionError(f"dataset has no column cond_{name} for condition {name!r}")
        return out

    def encode(self, dataset: RhythmDataset) -> tuple[np.ndarray, np.ndarray]:
        """Normalised conditions float32 [N, C] in 0..1 and style indices int64 [N] (-1: unknown style)."""
        cond = self.normaliser.transform(self.raw_values(dataset)).astype(np.float32)
        return cond, self.style_indices(dataset)

    def style_indices(self, dataset: RhythmDataset) -> np.ndarray:
        lookup = {s: i for i, s in enumerate(self.styles)}
        return np.array([lookup.get(s, -1) for s in dataset.style.tolist()], dtype=np.int64)

    def scales(self) -> np.ndarray:
        """A robust spread per condition (inter-quartile range of raw values, >= 1e-3) -> float32 [C]."""
        q = self.normaliser.quantiles
        p = self.normaliser.probs
        q75 = np.array([np.interp(0.75, p, row) for row in q])
        q25 = np.array([np.interp(0.25, p, row) for row in q])
        return np.maximum(q75 - q25, 1e-3).astype(np.float32)

    def condition_metas(self) -> tuple[ConditionMeta, ...]:
        metas = []
        for name, row in zip(self.names, self.normaliser.quantiles, strict=True):
            unit, text = _DESCRIPTIONS.get(name, ("0..1", f"per-window condition '{name}' of the dataset"))
            metas.append(ConditionMeta(name, text, tuple(float(v) for v in row), default=0.5, unit=unit))
        return tuple(metas)

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "normaliser": self.normaliser.to_dict(),
            "styles": list(self.styles),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConditionSpace:
        normaliser = QuantileNormaliser.from_dict(data["normaliser"]).subset(data["names"])
        return cls(tuple(data["names"]), normaliser, tuple(data["styles"]))
