"""Slider control: sweep one condition 0..1 with the others at their defaults, measure what comes out.

For each measurable condition (a descriptor), ``levels`` requested values x ``per_level`` samples; the same
latent vectors / seeds and styles at every level (common random numbers), so only the slider changes.
Scores: Spearman rho between requested and measured (normalised) value over all samples, the mean absolute
error, and the leakage |rho| between the requested value and every other descriptor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, DESCRIPTOR_NAMES, describe_batch
from companion.core.model_meta import ModelMeta
from companion.runtime.search_request import DEFAULT_CANDIDATES
from training.evaluation.metrics import spearman_rho


@dataclass
class ControlResult:
    path: str  # "raw", "search", "retrieval"
    levels: np.ndarray  # [L]
    measured: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> [L, M] normalised measured
    rho: dict[str, float] = field(default_factory=dict)
    mae: dict[str, float] = field(default_factory=dict)
    leakage: dict[str, dict[str, float]] = field(default_factory=dict)  # condition -> descriptor -> |rho|
    max_leak: dict[str, tuple[str, float]] = field(default_factory=dict)  # onto the other conditions
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "levels": [float(x) for x in self.levels],
            "rho": self.rho,
            "mae": self.mae,
            "leakage": self.leakage,
            "max_leak": {k: {"onto": v[0], "abs_rho": v[1]} for k, v in self.max_leak.items()},
            "median_measured": {k: np.median(v, axis=1).tolist() for k, v in self.measured.items()},
            "seconds": round(self.seconds, 3),
        }


def measurable(meta: ModelMeta) -> tuple[str, ...]:
    """The model's conditions that are descriptors (and so can be measured on a pattern)."""
    return tuple(n for n in meta.condition_names if n in DESCRIPTOR_INDEX)


def sweep_conditions(meta: ModelMeta, name: str, levels: np.ndarray, per_level: int) -> np.ndarray:
    """Condition rows [L * M, C]: defaults everywhere, ``name`` at each level (level-major)."""
    rows = np.tile(meta.defaults(), (len(levels) * per_level, 1))  # [L*M, C]
    rows[:, meta.condition_names.index(name)] = np.repeat(levels, per_level)
    return rows.astype(np.float32)


def score(path: str, meta: ModelMeta, levels: np.ndarray, raw: dict[str, np.ndarray]) -> ControlResult:
    """Score measured raw descriptors ``raw[name]`` [L * M, D] of each condition's sweep."""
    result = ControlResult(path, np.asarray(levels, dtype=np.float64))
    conditions = measurable(meta)
    normaliser = meta.normaliser()
    for name, values in raw.items():
        per_level = len(values) // len(levels)
        requested = np.repeat(levels, per_level)
        measured = normaliser.subset([name]).transform(values[:, [DESCRIPTOR_INDEX[name]]])[:, 0]
        result.measured[name] = measured.reshape(len(levels), per_level)
        result.rho[name] = spearman_rho(requested, measured)
        result.mae[name] = float(np.abs(measured - requested).mean())
        leak = {}
        for other in DESCRIPTOR_NAMES:
            if other != name:
                rho = spearman_rho(requested, values[:, DESCRIPTOR_INDEX[other]])
                leak[other] = abs(rho) if not math.isnan(rho) else 0.0  # a constant descriptor does not leak
        result.leakage[name] = leak
        others = [c for c in conditions if c != name]
        if others:
            worst = max(others, key=lambda c: leak[c])
            result.max_leak[name] = (worst, leak[worst])
    return result


def raw_sweep(
    run: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray],
    meta: ModelMeta,
    levels: np.ndarray,
    *,
    per_level: int,
    style_freq: np.ndarray | None,
    rng: np.random.Generator,
) -> ControlResult:
    """The generator alone: ``run(z, cond, style)`` -> binarised patterns [N, 3, V, T]."""
    z = rng.standard_normal((per_level, meta.latent_dim)).astype(np.float32)  # [M, latent], reused per level
    style = None
    if meta.has_styles:
        style = np.tile(rng.choice(len(meta.styles), size=per_level, p=style_freq), len(levels))
    raw = {}
    for name in measurable(meta):
        cond = sweep_conditions(meta, name, levels, per_level)
        patterns = run(np.tile(z, (len(levels), 1)), cond, style)
        raw[name] = describe_batch(patterns, meta.grid)
    return score("raw", meta, levels, raw)


def retrieval_sweep(
    retrieve: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
    meta: ModelMeta,
    levels: np.ndarray,
    *,
    per_level: int,
    style_freq: np.ndarray | None,
    rng: np.random.Generator,
) -> ControlResult:
    """The retrieval baseline answering the same sweep: ``retrieve(cond, style)`` -> patterns."""
    style = None
    if meta.has_styles:
        style = np.tile(rng.choice(len(meta.styles), size=per_level, p=style_freq), len(levels))
    raw = {
        name: describe_batch(retrieve(sweep_conditions(meta, name, levels, per_level), style), meta.grid)
        for name in measurable(meta)
    }
    return score("retrieval", meta, levels, raw)


def search_sweep(
    model_path: str | os.PathLike,
    meta: ModelMeta,
    levels: np.ndarray,
    *,
    per_level: int,
    style_freq: np.ndarray | None,
    rng: np.random.Generator,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> ControlResult:
    """The product path: ``companion.runtime.search`` (generator + candidate search) per request."""
    from companion.runtime.model import load_model
    from companion.runtime.search import SearchRequest, search  # the daemon's own search, not a copy of it

    model = load_model(model_path)
    seeds = rng.integers(0, 2**31 - 1, size=per_level)
    styles: list[str | None] = [None] * per_level
    if meta.has_styles:
        styles = [meta.styles[i] for i in rng.choice(len(meta.styles), size=per_level, p=style_freq)]
    defaults = dict(zip(meta.condition_names, meta.defaults().tolist(), strict=True))
    raw = {}
    for name in measurable(meta):
        arrays = []
        for level in levels:
            sliders = {**defaults, name: float(level)}
            for seed, style in zip(seeds, styles, strict=True):
                request = SearchRequest.of(
                    meta, seed=int(seed), sliders=sliders, style=style, candidates=n_candidates
                )
                pattern = search(model, request)
                arrays.append(pattern.to_array())
        raw[name] = describe_batch(np.stack(arrays), meta.grid)
    return score("search", meta, levels, raw)
