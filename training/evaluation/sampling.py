"""Draw patterns from an exported generator (.onnx) with onnxruntime, and the requests to draw them with.

A request is a condition vector (normalised 0..1, in the model's input order) plus a style index. For
evaluation they come from the training split: the conditions and style of randomly chosen training windows,
so the generated set follows the training data's joint distribution of sliders and styles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, describe_batch
from companion.core.drum_map import N_VOICES
from companion.core.errors import DataError, UsageError
from companion.core.model_meta import ModelMeta
from companion.core.pattern import Grid, binarize
from companion.runtime.model import load_model
from training.dataset import RhythmDataset

BATCH = 1024  # generator rows per onnxruntime call


class OnnxGenerator:
    """A generator .onnx file, loaded by the daemon's loader (``companion.runtime.model.load_model``: the same
    checks, ``ModelError`` naming the problem) with one thread per core; ``run`` maps (z, cond, style) to
    patterns in batches."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.model = load_model(path, threads=0)
        self.meta = self.model.meta

    @property
    def grid(self) -> Grid:
        return self.meta.grid

    def run(self, z: np.ndarray, cond: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        """Raw generator output [N, 3, V, T] for z [N, latent], cond [N, C] and style int [N]."""
        z = np.asarray(z, dtype=np.float32)
        cond = np.asarray(cond, dtype=np.float32).reshape(len(z), len(self.meta.conditions))
        if self.meta.has_styles:
            if style is None:
                raise ValueError("this model has styles: pass a style index per row")
            style = np.asarray(style, dtype=np.int64).reshape(len(z))
        else:
            style = None
        parts = [
            self.model.run(
                z[i : i + BATCH], cond[i : i + BATCH], None if style is None else style[i : i + BATCH]
            )
            for i in range(0, len(z), BATCH)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 3, N_VOICES, self.grid.n_steps), np.float32)

    def sample(self, cond: np.ndarray, style: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """Decoded patterns [N, 3, V, T] for the requests, with z ~ N(0, 1) drawn from ``rng``."""
        cond = np.asarray(cond, dtype=np.float32)
        z = rng.standard_normal((len(cond), self.meta.latent_dim)).astype(np.float32)  # [N, latent]
        return self.patterns(z, cond, style)

    def patterns(self, z: np.ndarray, cond: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        """Like ``run``, decoded: hits 0/1 at the model's threshold, velocity and offset zero elsewhere."""
        return binarize(self.run(z, cond, style), self.meta.hit_threshold)


@dataclass(frozen=True)
class Requests:
    cond: np.ndarray  # float32 [N, C], normalised 0..1
    style: np.ndarray | None  # int64 [N] into meta.styles, None for a model without styles


def condition_values(dataset: RhythmDataset, meta: ModelMeta) -> np.ndarray:
    """The model's conditions of every window of ``dataset``, normalised by the model's quantiles -> [N, C].

    Descriptor conditions are measured; others must be the dataset's per-window extra conditions (0..1).
    """
    names = meta.condition_names
    out = np.zeros((len(dataset), len(names)), dtype=np.float32)
    measured = [n for n in names if n in DESCRIPTOR_INDEX]
    if measured:
        raw = describe_batch(dataset.patterns, dataset.grid)[:, [DESCRIPTOR_INDEX[n] for n in measured]]
        normalised = meta.normaliser().subset(measured).transform(raw)
        for j, name in enumerate(measured):
            out[:, names.index(name)] = normalised[:, j]
    for name in names:
        if name in DESCRIPTOR_INDEX:
            continue
        if name not in dataset.extra_conditions:
            raise UsageError(
                f"condition '{name}' is neither a descriptor nor a column cond_{name} of the dataset"
            )
        out[:, names.index(name)] = np.clip(dataset.extra_conditions[name], 0, 1)
    return out


def style_indices(dataset: RhythmDataset, meta: ModelMeta) -> np.ndarray:
    """Index into ``meta.styles`` of every window's style -> int64 [N]; -1 where the model lacks it."""
    lookup = {s: i for i, s in enumerate(meta.styles)}
    return np.array([lookup.get(s, -1) for s in dataset.style.tolist()], dtype=np.int64)


def style_frequencies(dataset: RhythmDataset, meta: ModelMeta) -> np.ndarray:
    """Share of the model's styles among ``dataset``'s windows -> float [S] (uniform if none match)."""
    index = style_indices(dataset, meta)
    counts = np.bincount(index[index >= 0], minlength=len(meta.styles)).astype(np.float64)
    return (
        counts / counts.sum() if counts.sum() else np.full(len(meta.styles), 1.0 / max(1, len(meta.styles)))
    )


def draw_styles(freq: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(freq), size=n, p=freq).astype(np.int64)


def draw_requests(train: RhythmDataset, meta: ModelMeta, n: int, rng: np.random.Generator) -> Requests:
    """``n`` requests: the conditions and style of ``n`` random training windows (without replacement while
    possible). A window whose style the model lacks gets a style drawn by training frequency."""
    if len(train) == 0:
        raise DataError("the training split is empty: cannot draw conditions")
    rows = rng.choice(len(train), size=n, replace=n > len(train))
    cond = condition_values(train.select(rows), meta)
    if not meta.has_styles:
        return Requests(cond, None)
    style = style_indices(train.select(rows), meta)
    missing = style < 0
    style[missing] = draw_styles(style_frequencies(train, meta), int(missing.sum()), rng)
    return Requests(cond, style)
