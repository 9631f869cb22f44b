"""Rhythm descriptors: pure functions of a pattern, vectorised over a batch.

These are the constraint sliders' raw values, measured by the same code in training (conditions, evaluation)
and in the daemon (candidate search). Formulas: ``docs/descriptors.md``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from companion.drum_map import VOICE_GROUPS
from companion.pattern import HIT, OFFSET, VELOCITY, Grid, Pattern

# name                 unit             what it measures
DESCRIPTOR_TABLE: tuple[tuple[str, str, str], ...] = (
    ("density", "hits/bar", "how busy the pattern is: onsets per bar, all voices"),
    ("density_low", "hits/bar", "onsets per bar of kick and low tom"),
    ("density_mid", "hits/bar", "onsets per bar of snare, mid and high tom"),
    ("density_high", "hits/bar", "onsets per bar of hi-hats, crash and ride"),
    ("syncopation", "LHL/hit", "Longuet-Higgins & Lee syncopation per onset: how off the beat the hits sit"),
    ("swing", "steps", "mean offset of off-beat 16ths minus that of on-beat ones: the shuffle"),
    ("energy", "vel/bar", "velocity-weighted onsets per bar: how hard the pattern hits"),
    ("microtiming_spread", "steps", "standard deviation of the hits' offsets from the grid: how loose it is"),
    ("symmetry", "0..1", "share of onsets common to the pattern's two halves (Jaccard)"),
    ("consistency", "0..1", "mean share of onsets common to consecutive bars (Jaccard)"),
)
DESCRIPTOR_NAMES: tuple[str, ...] = tuple(name for name, _, _ in DESCRIPTOR_TABLE)
DESCRIPTOR_INDEX: dict[str, int] = {name: i for i, name in enumerate(DESCRIPTOR_NAMES)}


@lru_cache(maxsize=32)
def metrical_levels(grid: Grid) -> tuple[int, ...]:
    """Spacings in steps of the metrical levels, coarsest first: the bar, its halves (in even meters),
    the beat, then the beat's subdivisions (factors of 2 first). 4/4 at 16ths: (16, 8, 4, 2, 1)."""
    levels = [grid.steps_per_bar]
    if grid.beats_per_bar % 2 == 0 and grid.beats_per_bar > 2:
        levels.append(grid.steps_per_bar // 2)
    levels.append(grid.steps_per_beat)
    remaining = grid.steps_per_beat
    spacing = grid.steps_per_beat
    for factor in (2, 3, 5, 7, 11):
        while remaining % factor == 0:
            remaining //= factor
            spacing //= factor
            levels.append(spacing)
    return tuple(dict.fromkeys(levels))  # drop repeats (e.g. 2/4: bar == half)


@lru_cache(maxsize=32)
def metrical_weights(grid: Grid) -> np.ndarray:
    """LHL weight of every step of the pattern: 0 on the bar line, -k at level k. Shape [T]."""
    steps = np.arange(grid.n_steps)
    weights = np.full(grid.n_steps, -len(metrical_levels(grid)), dtype=np.int32)
    for k, spacing in reversed(list(enumerate(metrical_levels(grid)))):
        weights[steps % spacing == 0] = -k
    weights.setflags(write=False)
    return weights


def _jaccard(a: np.ndarray, b: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    both = np.logical_and(a, b).sum(axis=axis)
    either = np.logical_or(a, b).sum(axis=axis)
    return np.where(either > 0, both / np.maximum(either, 1), 1.0)


def syncopation_per_voice(onsets: np.ndarray, grid: Grid) -> np.ndarray:
    """LHL syncopation summed per row of ``onsets`` [M, T] (bool), treating the pattern as a loop.

    A hit at weight w_n followed (before the next hit of the same row) by a rest at a higher weight w_r
    scores w_r - w_n, with w_r the highest weight among those rests.
    """
    m, t = onsets.shape
    doubled = np.concatenate([onsets, onsets], axis=1)  # [M, 2T] for the loop wrap
    index = np.where(doubled, np.arange(2 * t), 4 * t)  # [M, 2T]
    next_inclusive = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]
    next_after = next_inclusive[:, 1 : t + 1]  # [M, T]: first hit strictly after each step
    steps = np.arange(t)
    weights = metrical_weights(grid)
    rest_weight = np.full((m, t), -100, dtype=np.int32)
    for k, spacing in reversed(list(enumerate(metrical_levels(grid)))):
        grid_point = (steps // spacing + 1) * spacing  # [T]: first level-k point after each step
        rest_weight = np.where(grid_point[None, :] < next_after, -k, rest_weight)
    score = np.maximum(rest_weight - weights[None, :], 0) * onsets
    return score.sum(axis=1)


def describe_batch(batch: np.ndarray, grid: Grid, hit_threshold: float = 0.5) -> np.ndarray:
    """Descriptors of every pattern in ``batch`` [N, 3, V, T] -> float32 [N, D] in ``DESCRIPTOR_NAMES`` order."""
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[1] != 3 or batch.shape[3] != grid.n_steps:
        raise ValueError(f"batch must have shape [N, 3, V, {grid.n_steps}], got {batch.shape}")
    n, _, v, t = batch.shape
    hits = batch[:, HIT] >= hit_threshold  # [N, V, T]
    velocities = np.where(hits, np.clip(batch[:, VELOCITY], 0, 1), 0.0)
    offsets = np.where(hits, batch[:, OFFSET], 0.0)
    bars = grid.bars
    out = np.zeros((n, len(DESCRIPTOR_NAMES)), dtype=np.float32)
    counts = hits.sum(axis=(1, 2)).astype(np.float32)  # [N]
    safe = np.maximum(counts, 1)

    out[:, 0] = counts / bars
    for column, group in ((1, "low"), (2, "mid"), (3, "high")):
        out[:, column] = hits[:, list(VOICE_GROUPS[group])].sum(axis=(1, 2)) / bars
    out[:, 4] = syncopation_per_voice(hits.reshape(n * v, t), grid).reshape(n, v).sum(axis=1) / safe

    off_beat = (np.arange(t) % 2 == 1)[None, None, :]
    odd_hits, even_hits = hits & off_beat, hits & ~off_beat
    odd_n, even_n = odd_hits.sum(axis=(1, 2)), even_hits.sum(axis=(1, 2))
    odd_mean = np.where(odd_hits, offsets, 0).sum(axis=(1, 2)) / np.maximum(odd_n, 1)
    even_mean = np.where(even_hits, offsets, 0).sum(axis=(1, 2)) / np.maximum(even_n, 1)
    out[:, 5] = np.where((odd_n > 0) & (even_n > 0), odd_mean - even_mean, 0.0)

    out[:, 6] = velocities.sum(axis=(1, 2)) / bars
    mean_offset = offsets.sum(axis=(1, 2)) / safe
    variance = np.where(hits, (offsets - mean_offset[:, None, None]) ** 2, 0).sum(axis=(1, 2)) / safe
    out[:, 7] = np.sqrt(variance)

    half = t // 2
    out[:, 8] = _jaccard(hits[:, :, :half], hits[:, :, half : 2 * half], axis=(1, 2))
    if bars > 1:
        per_bar = hits.reshape(n, v, bars, grid.steps_per_bar)
        pairs = _jaccard(per_bar[:, :, :-1], per_bar[:, :, 1:], axis=(1, 3))  # [N, bars-1]
        out[:, 9] = pairs.mean(axis=1)
    else:
        out[:, 9] = 1.0
    return out


def describe(pattern: Pattern) -> dict[str, float]:
    """Descriptors of one pattern, by name."""
    values = describe_batch(pattern.to_array()[None], pattern.grid)[0]
    return {name: float(value) for name, value in zip(DESCRIPTOR_NAMES, values, strict=True)}
