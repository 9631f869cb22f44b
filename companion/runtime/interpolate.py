"""Interpolate: ``count`` patterns that lead from A to B, A itself first and B itself last.

Between them the path moves as ``vary`` does (``companion.runtime.engine``): only the cells where A and B
differ change, one share of them per step (the same share of B's new hits and of A's hits that B lacks, so
the density moves evenly), and a cell once changed stays changed. So every step is at least as far from A
and at least as near to B as the one before, by construction, and no step changes much more than its share
of the A-B difference (1 / (count - 1), give or take the rounding of the two kinds).

The generator chooses the order. It is sampled ``n_candidates`` times (at most ``MAX_ORDERS``) under the
sliders halfway between A's and B's (as measured); each sample ranks the differing cells by how surely it
plays B's state there (its hit probability where B hits, one minus it where A hits), metrically weak
positions first (as vary flips them). Of the orders, the one whose path meets the sliders best, each step
against the sliders interpolated between A's and B's, is the answer. Hits that A and B share move their
velocity and micro-timing from A's to B's along the path; a hit A alone plays keeps A's, one that B alone
plays takes B's.
"""

from __future__ import annotations

import math

import numpy as np

from companion.core.errors import UsageError
from companion.core.pattern import HIT, OFFSET, VELOCITY, Pattern
from companion.runtime import candidates, engine
from companion.runtime.model import Model
from companion.runtime.search_request import DEFAULT_CANDIDATES

MIN_COUNT, MAX_COUNT = 3, 16  # the ends are A and B: 3 is the shortest path that has a step between
MAX_ORDERS = 8  # generator samples (orders) tried: beyond this the path barely changes, its cost grows
_JITTER = np.random.default_rng(1).random(1 << 16) * 1e-4  # a fixed tie-breaker per differing cell


def check_count(count: int) -> None:
    if (
        isinstance(count, bool)
        or not isinstance(count, int | np.integer)
        or not MIN_COUNT <= count <= MAX_COUNT
    ):
        raise UsageError(
            f"count must be an int in {MIN_COUNT}..{MAX_COUNT} (A and B are the ends), got {count!r}"
        )


def interpolate(
    model: Model,
    a: Pattern,
    b: Pattern,
    count: int,
    *,
    seed: int = 0,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> list[Pattern]:
    """``count`` patterns from ``a`` to ``b`` (both the same length, on the model's grid)."""
    check_count(count)
    if a.grid != b.grid:
        raise UsageError(
            f"A and B must have the same length: A is {a.grid.bars} bars, B {b.grid.bars} "
            f"({a.grid.beats_per_bar} beats a bar)"
        )
    meta = model.meta
    if (a.grid.steps_per_beat, a.grid.beats_per_bar) != (meta.steps_per_beat, meta.beats_per_bar):
        raise UsageError(
            f"the clips' grid ({a.grid.beats_per_bar} beats of {a.grid.steps_per_beat} steps) does not "
            f"match the model's ({meta.beats_per_bar} beats of {meta.steps_per_beat} steps)"
        )
    grid = a.grid
    cond_a = candidates.vary_conditions(model, a, {})
    cond_b = candidates.vary_conditions(model, b, {})
    raw = candidates.run_generator(
        model,
        (cond_a + cond_b) / 2,
        *candidates.draw_latents(model, None, np.random.default_rng(seed), min(n_candidates, MAX_ORDERS)),
    )  # [N, 3, V, T_model]
    probs = _cover(raw[:, HIT], grid.n_steps)  # [N, V, T]
    differ = np.flatnonzero((a.hits ^ b.hits).ravel())  # [D] flat cells where A and B differ
    t = np.linspace(0.0, 1.0, count)  # [K]
    flat_probs = probs.reshape(len(probs), -1)[:, differ]  # [N, D]
    coming = b.hits.ravel()[differ]  # [D] B's hits (A's rests) vs A's hits (B's rests)
    sure = np.where(coming[None], flat_probs, 1 - flat_probs)  # how surely each sample plays B's state
    weak = np.tile(engine.position_factors(grid), a.hits.shape[0])[differ]  # [D]
    priority = sure * weak[None] + _JITTER[: len(differ)][None]  # [N, D]
    paths = np.stack([_path(a, b, differ, coming, row, t) for row in priority])  # [N, K, 3, V, T]
    targets = (1 - t)[:, None] * candidates.slider_targets(model, cond_a)[None] + t[
        :, None
    ] * candidates.slider_targets(model, cond_b)[None]
    inner = paths[:, 1:-1]  # the ends are A and B in every path
    flat = inner.reshape(-1, *paths.shape[2:])
    measured = candidates.measure(model, flat, grid, 0.5).reshape(len(paths), count - 2, -1)  # [N, K-2, M]
    targets = targets[1:-1]
    score = (
        ((measured - targets[None]) ** 2).mean(axis=(1, 2)) if measured.shape[-1] else np.zeros(len(paths))
    )
    best = paths[int(np.argmin(score))]
    return [Pattern(grid, p[HIT] > 0, p[VELOCITY], p[OFFSET]) for p in best]


def _path(
    a: Pattern, b: Pattern, differ: np.ndarray, coming: np.ndarray, priority: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """The patterns [K, 3, V, T] of one order: at step k the share ``t[k]`` of B's new hits (``coming``) and
    the same share of A's hits that B lacks have changed, each kind in ``priority`` order (so the density
    moves evenly from A's to B's)."""
    shape = a.hits.shape
    shared = a.hits & b.hits
    adds = differ[coming][np.argsort(-priority[coming], kind="stable")]
    drops = differ[~coming][np.argsort(-priority[~coming], kind="stable")]
    out = np.empty((len(t), 3, *shape), np.float32)
    for k, weight in enumerate(t):
        flat_hits = a.hits.ravel().copy()  # [V*T]
        flat_hits[adds[: int(np.rint(weight * len(adds)))]] = True
        flat_hits[drops[: int(np.rint(weight * len(drops)))]] = False
        hits = flat_hits.reshape(shape)  # [V, T]
        from_b = hits & ~a.hits  # B's hits that came in take B's feel
        velocities = np.where(shared, (1 - weight) * a.velocities + weight * b.velocities, a.velocities)
        offsets = np.where(shared, (1 - weight) * a.offsets_steps + weight * b.offsets_steps, a.offsets_steps)
        velocities = np.where(from_b, b.velocities, velocities)
        offsets = np.where(from_b, b.offsets_steps, offsets)
        out[k, HIT] = hits
        out[k, VELOCITY] = np.where(hits, velocities, 0)
        out[k, OFFSET] = np.where(hits, offsets, 0)
    return out


def _cover(planes: np.ndarray, steps: int) -> np.ndarray:
    """Model-length planes [N, V, T_model] looped or cropped to ``steps``."""
    reps = math.ceil(steps / planes.shape[-1])
    return np.tile(planes, (1, 1, reps))[..., :steps]
