"""The tools on a plain generator (a model without a tools graph): a latent search for samples that already
play what is given, as voice lock does (``companion.runtime.lock``), generalised from kept voices to any
given cells or a rhythm.

A cross-entropy search: ``n`` seeded latents, scored by how far each sample is from what is given (``fit``,
0 = it plays it exactly), then ``rounds - 1`` rounds of ``n`` latents around the best eighth so far
(spread halving from 0.5). The sample with the lowest ``fit + slider_weight * slider distance`` wins.
This is the fallback the tools graph improves on: ``nudge-train evaluate-tools`` measures both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from companion.core.pattern import HIT, Pattern
from companion.runtime import candidates
from companion.runtime.model import Model

ROUNDS = 3
ELITE_SHARE = 8
FIRST_SPREAD = 0.5
SLIDER_WEIGHT = 100.0  # as voice lock's (docs/voice-lock.md)


def latent_search(
    model: Model,
    cond: np.ndarray,
    fit: Callable[[np.ndarray], np.ndarray],
    *,
    style: str | None,
    seed: int,
    n: int,
    slider_weight: float = SLIDER_WEIGHT,
    rounds: int = ROUNDS,
) -> np.ndarray:
    """The best raw model-length sample [3, V, T] by ``fit`` (raw [N, 3, V, T] -> [N], lower is better) plus
    ``slider_weight`` x the slider distance from ``cond`` [C] (0..1 everywhere)."""
    rng = np.random.default_rng(seed)
    z, styles = candidates.draw_latents(model, style, rng, n)  # [N, L], [N] or None
    pool_z: list[np.ndarray] = []
    pool_styles: list[np.ndarray] = []  # empty when the model has no styles
    pool_raw: list[np.ndarray] = []
    pool_fit: list[np.ndarray] = []
    for r in range(rounds):
        if r > 0:
            scores = np.concatenate(pool_fit)
            elite = np.argsort(scores, kind="stable")[: max(1, n // ELITE_SHARE)]
            parents = elite[rng.integers(0, len(elite), n)]
            spread = np.float32(FIRST_SPREAD / 2 ** (r - 1))
            z = np.concatenate(pool_z)[parents] + spread * rng.standard_normal(z.shape, dtype=np.float32)
            styles = None if styles is None else np.concatenate(pool_styles)[parents]
        raw = candidates.run_generator(model, cond, z, styles)  # [N, 3, V, T]
        pool_z.append(z)
        if styles is not None:
            pool_styles.append(styles)
        pool_raw.append(raw)
        pool_fit.append(fit(raw))
    raw, scores = np.concatenate(pool_raw), np.concatenate(pool_fit)
    if slider_weight:
        targets = candidates.slider_targets(model, cond)
        scores = scores + slider_weight * candidates.slider_distance(model, raw, model.meta.grid, targets)
    return raw[int(np.argmin(scores))]


def search_hits(
    model: Model, window: Pattern, cond: np.ndarray, *, style: str | None, seed: int, n: int
) -> np.ndarray:
    """A sample that plays the window's hits (Groove): its velocities and offsets there are the answer."""
    threshold = model.meta.hit_threshold

    def fit(raw: np.ndarray) -> np.ndarray:
        return candidates.hit_change(raw[:, HIT] >= threshold, window.hits[None])

    return latent_search(model, cond, fit, style=style, seed=seed, n=n, slider_weight=0.0)


def search_rhythm(
    model: Model, onsets: np.ndarray, cond: np.ndarray, *, style: str | None, seed: int, n: int
) -> np.ndarray:
    """A sample whose onsets (any voice) follow ``onsets`` bool [T] (Drumify): 1 - F1 as the fit."""
    threshold = model.meta.hit_threshold

    def fit(raw: np.ndarray) -> np.ndarray:
        played = (raw[:, HIT] >= threshold).any(axis=1)  # [N, T]
        both = (played & onsets[None]).sum(axis=1)
        return 1 - 2 * both / np.maximum(played.sum(axis=1) + onsets.sum(), 1)

    return latent_search(model, cond, fit, style=style, seed=seed, n=n)


def search_bars(
    model: Model, window: Pattern, context: int, cond: np.ndarray, *, style: str | None, seed: int, n: int
) -> np.ndarray:
    """A sample whose first ``context`` bars play the window's (Continue): its later bars go on from them."""
    threshold = model.meta.hit_threshold
    steps = context * window.grid.steps_per_bar
    given = window.hits[:, :steps][None]

    def fit(raw: np.ndarray) -> np.ndarray:
        return candidates.hit_change(raw[:, HIT, :, :steps] >= threshold, given)

    return latent_search(model, cond, fit, style=style, seed=seed, n=n)
