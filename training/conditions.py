"""Condition vectors for the GAN: the sliders (normalised descriptors) and style indices of a dataset.

Descriptor conditions are measured with ``companion.core.descriptors.describe_batch`` (the daemon measures its
candidates with the same code) and mapped to 0..1 by a ``QuantileNormaliser`` fitted on the train split only.
A slider in ``ZERO_ANCHORED`` starts at the descriptor's musical zero instead of the data's lowest value:
swing 0 is straight (no offset between off-beat and on-beat 16ths), its quantiles those of the positive
swings above it; training windows below the zero (early off-beats) get mirrored slider values below 0
(``QuantileNormaliser.transform(..., extrapolate=True)``), so the generator learns them apart from straight,
and the product's 0..1 never asks for them.
A dataset's extra per-window conditions (``cond_<name>``, already 0..1, e.g. Spotify's danceability) pass
through unchanged (identity quantiles). Styles are the train split's sorted distinct labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, DESCRIPTOR_TABLE, SLIDER_ENDS, describe_batch
from companion.core.errors import UsageError
from companion.core.model_meta import ConditionMeta
from companion.core.normaliser import N_QUANTILES, QuantileNormaliser
from training.dataset import RhythmDataset

TRAIN_SPLIT = "train"
FORBIDDEN_SPLIT = "test"
_DESCRIPTIONS = {name: (unit, text) for name, unit, text in DESCRIPTOR_TABLE}
ZERO_ANCHORED = frozenset({"swing"})  # slider 0 = raw 0 (see the module docstring)


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
    defaults: tuple[float, ...] = ()  # per name: the slider of the train rows' median (() = 0.5 each)

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
                columns.append(_quantiles(name, raw[:, DESCRIPTOR_INDEX[name]].astype(np.float64), probs))
            else:
                columns.append(probs.copy())  # already 0..1: identity
        normaliser = QuantileNormaliser(tuple(names), np.stack(columns), probs)
        styles = tuple(train.styles) if use_styles else ()
        space = cls(tuple(names), normaliser, styles)
        medians = np.median(space.raw_values(train), axis=0)  # [C]
        defaults = tuple(round(float(v), 4) for v in normaliser.transform(medians[None])[0])
        return cls(tuple(names), normaliser, styles, defaults)

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
        cond = self.normaliser.transform(self.raw_values(dataset), extrapolate=True).astype(np.float32)
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
        """The metadata of every condition: description (with what each slider end means), quantiles, and
        the default (``defaults``; 0.5 for a space saved without them)."""
        defaults = self.defaults or (0.5,) * len(self.names)
        metas = []
        for name, row, default in zip(self.names, self.normaliser.quantiles, defaults, strict=True):
            unit, text = _DESCRIPTIONS.get(name, ("0..1", f"per-window condition '{name}' of the dataset"))
            low, high = SLIDER_ENDS.get(name, ("the lowest value in the training data", "the highest"))
            description = f"{text}. 0 = {low}; 1 = {high}"
            metas.append(
                ConditionMeta(
                    name, description, tuple(float(v) for v in row), default=float(default), unit=unit
                )
            )
        return tuple(metas)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "names": list(self.names),
            "normaliser": self.normaliser.to_dict(),
            "styles": list(self.styles),
        }
        if self.defaults:
            data["defaults"] = list(self.defaults)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConditionSpace:
        normaliser = QuantileNormaliser.from_dict(data["normaliser"]).subset(data["names"])
        defaults = tuple(float(v) for v in data.get("defaults", ()))
        return cls(tuple(data["names"]), normaliser, tuple(data["styles"]), defaults)


def _quantiles(name: str, values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The slider table of descriptor ``name`` over the train rows' ``values``: their quantiles at ``probs``;
    for a ``ZERO_ANCHORED`` one, 0 and then the quantiles of the values above 0 (the plain quantiles when
    there are none)."""
    if name in ZERO_ANCHORED:
        positive = values[values > 0]
        if len(positive):
            table = np.quantile(positive, probs)
            table[0] = 0.0
            return table
    return np.quantile(values, probs)
