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
from companion.core.pattern import HIT, OFFSET, Grid
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
    raw_mean: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> [L] mean raw descriptor
    offbeat: np.ndarray | None = None  # swing sweep: [L] mean offset (steps) of the hits on off-beat 16ths
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
            "mean_raw": {k: v.tolist() for k, v in self.raw_mean.items()},
            "swing_offbeat_offset": None if self.offbeat is None else self.offbeat.tolist(),
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


def offbeat_offsets(patterns: np.ndarray, grid: Grid) -> np.ndarray:
    """Mean offset in steps of the hits on off-beat 16ths (odd steps) of each pattern [N, 3, V, T] -> [N]
    (NaN where there are none). Swing is this minus the on-beat hits' mean (``describe_batch``)."""
    hits = patterns[:, HIT] > 0.5
    odd = hits & (np.arange(grid.n_steps) % 2 == 1)
    counts = odd.sum(axis=(1, 2))
    sums = np.where(odd, patterns[:, OFFSET], 0.0).sum(axis=(1, 2))
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def score(
    path: str,
    meta: ModelMeta,
    levels: np.ndarray,
    raw: dict[str, np.ndarray],
    swing_patterns: np.ndarray | None = None,
) -> ControlResult:
    """Score measured raw descriptors ``raw[name]`` [L * M, D] of each condition's sweep (and the off-beat
    offsets of the swing sweep's patterns ``swing_patterns`` [L * M, 3, V, T], when given)."""
    result = ControlResult(path, np.asarray(levels, dtype=np.float64))
    if swing_patterns is not None:
        offsets = offbeat_offsets(swing_patterns, meta.grid).reshape(len(levels), -1)
        result.offbeat = np.nanmean(offsets, axis=1)
    conditions = measurable(meta)
    normaliser = meta.normaliser()
    for name, values in raw.items():
        per_level = len(values) // len(levels)
        requested = np.repeat(levels, per_level)
        measured = normaliser.subset([name]).transform(values[:, [DESCRIPTOR_INDEX[name]]], extrapolate=True)[
            :, 0
        ]
        result.measured[name] = measured.reshape(len(levels), per_level)
        result.raw_mean[name] = values[:, DESCRIPTOR_INDEX[name]].reshape(len(levels), per_level).mean(axis=1)
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
    raw, swing = {}, None
    for name in measurable(meta):
        cond = sweep_conditions(meta, name, levels, per_level)
        patterns = run(np.tile(z, (len(levels), 1)), cond, style)
        raw[name] = describe_batch(patterns, meta.grid)
        swing = patterns if name == "swing" else swing
    return score("raw", meta, levels, raw, swing)


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
    patterns = {
        name: retrieve(sweep_conditions(meta, name, levels, per_level), style) for name in measurable(meta)
    }
    raw = {name: describe_batch(p, meta.grid) for name, p in patterns.items()}
    return score("retrieval", meta, levels, raw, patterns.get("swing"))


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
    raw, swing = {}, None
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
        swing = np.stack(arrays) if name == "swing" else swing
    return score("search", meta, levels, raw, swing)


SWING_NOTE = (
    "Swing sweep (the other sliders at their defaults): **swing** = mean over the takes of the off-beat "
    "16ths' "
    "mean offset minus the on-beat hits' (steps; the descriptor the slider asks for), **off-beat** = the "
    "off-beat 16ths' own mean offset (steps; it includes the whole groove's push or drag). Slider 0 asks "
    "for straight, 1 for the strongest shuffle of the training data."
)


def swing_table_rows(results: list[ControlResult]) -> list[list[str]]:
    """Header (the swept levels) and, per path, the mean swing and off-beat offset at each level."""
    with_swing = [r for r in results if "swing" in r.raw_mean]
    if not with_swing:
        return []
    rows = [["path", "figure", *(f"{level:.1f}" for level in with_swing[0].levels), "rises"]]
    for result in with_swing:
        swing = result.raw_mean["swing"]
        rises = "yes" if bool(np.all(np.diff(swing) > 0)) else "no"
        rows.append([result.path, "swing", *(f"{v:+.3f}" for v in swing), rises])
        if result.offbeat is not None:
            rows.append([result.path, "off-beat", *(f"{v:+.3f}" for v in result.offbeat), ""])
    return rows
