"""Voice lock: keep some voices of a clip exactly and generate the others to fit them.

The generator was trained on whole patterns, so the voices it plays together fit together. A candidate whose
own hits on the kept voices are those of the clip therefore brings other voices that fit the clip's. The
search looks for such candidates in latent space (a cross-entropy-method search):

1. round 0: ``n`` seeded latent vectors, as ``engine.generate`` draws them;
2. every candidate window is scored by ``fit`` = ``hit_change`` between its kept voices and the clip's
   (0: the generator plays them exactly like the clip) plus a 1e-3 tie-breaker, the mean distance of its
   hit probabilities from the clip's hits on those voices;
3. rounds 1.. draw ``n`` new latents around the best eighth (``z_elite + spread * noise``, with ``spread``
   halving from 0.5 each round, the elite's styles kept);
4. the result is the clip's kept voices (hits, velocities, micro-timing: exactly) with the other voices of
   the candidate that minimises ``fit + SLIDER_WEIGHT * slider distance`` of the whole composite pattern
   (for vary and the measurement the sliders are the clip's own measured values: the whole pattern should
   measure like the clip; the weight was chosen by the measurement).

Clips longer than the model are searched in model-length segments (seed, seed + 1, ...). The measurement of
how well the new voices fit (the realism figures of ``nudge-train evaluate`` on whole patterns, against
sampling without the search) is ``training/evaluation/lock_eval.py``; figures in ``docs/voice-lock.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from companion.core.errors import UsageError
from companion.core.pattern import HIT, OFFSET, VELOCITY, Pattern
from companion.runtime import engine
from companion.runtime.model import Model

LOCK_ROUNDS = 3  # the search's rounds; rounds 1.. sample around the best eighth of the candidates so far
ELITE_SHARE = 8
FIRST_SPREAD = 0.5
SLIDER_WEIGHT = 100.0  # measured: docs/voice-lock.md (fit alone leaves the whole pattern unlike the clip)


def check_keep(keep: tuple[int, ...], n_voices: int) -> None:
    if any(not 0 <= v < n_voices for v in keep):
        raise UsageError(f"keep must name voices 0..{n_voices - 1}, got {list(keep)}")


def _fit(cands: np.ndarray, clip: Pattern, keep: list[int], threshold: float) -> np.ndarray:
    """[N] how far each candidate [N, 3, V, T] plays the kept voices from the clip (0: the same hits)."""
    probs = cands[:, HIT][:, keep]  # [N, K, T]
    target = clip.hits[keep]  # [K, T]
    hard = engine.hit_change(probs >= threshold, target[None])  # [N]
    soft = np.abs(probs - target[None]).mean(axis=(1, 2))  # [N]
    return hard + 1e-3 * soft


def compose(cands: np.ndarray, clip: Pattern, keep: list[int]) -> np.ndarray:
    """The candidates [N, 3, V, T] with the kept voices replaced by the clip's (hit plane 0/1)."""
    out = cands.copy()
    out[:, HIT][:, keep] = clip.hits[keep].astype(np.float32)
    out[:, VELOCITY][:, keep] = clip.velocities[keep]
    out[:, OFFSET][:, keep] = clip.offsets_steps[keep]
    return out


def search_segment(
    model: Model,
    clip: Pattern,
    keep: tuple[int, ...],
    cond: np.ndarray,
    style: str | None,
    seed: int,
    n_candidates: int,
    rounds: int = LOCK_ROUNDS,
    slider_weight: float = SLIDER_WEIGHT,
) -> tuple[np.ndarray, float]:
    """The best composite [3, V, T] for a clip no longer than the model, and its ``fit`` (0..1)."""
    grid = model.meta.grid
    threshold = model.meta.hit_threshold
    bars = clip.grid.bars
    k = grid.bars // bars  # windows per generator sample
    keep_list = list(keep)
    rng = np.random.default_rng(seed)
    z, styles = engine.draw_latents(model, style, rng, n_candidates)  # [N, latent_dim], [N] or None
    all_z, all_styles, pool_windows, pool_fit = [], [], [], []
    for r in range(rounds):
        if r > 0:  # around the elite so far: the samples whose best window fits best
            sample_fit = np.concatenate(pool_fit).reshape(-1, k).min(axis=1)  # [samples so far]
            elite = np.argsort(sample_fit, kind="stable")[: max(1, n_candidates // ELITE_SHARE)]
            parents = elite[rng.integers(0, len(elite), n_candidates)]  # [N]
            spread = np.float32(FIRST_SPREAD / 2 ** (r - 1))
            z = np.concatenate(all_z)[parents] + spread * rng.standard_normal(z.shape, dtype=np.float32)
            styles = None if styles is None else np.concatenate(all_styles)[parents]
        raw = engine.run_generator(model, cond, z, styles)  # [N, 3, V, T]
        windows = engine.windows_of(raw, grid, bars)  # [N * k, 3, V, W], k windows per sample in a row
        all_z.append(z)
        all_styles.append(styles)
        pool_windows.append(windows)
        pool_fit.append(_fit(windows, clip, keep_list, threshold))
    windows = np.concatenate(pool_windows)
    fit = np.concatenate(pool_fit)
    composites = compose(windows, clip, keep_list)
    targets = engine.slider_targets(model, cond)
    score = fit + slider_weight * engine.slider_distance(model, composites, clip.grid, targets)
    best = int(np.argmin(score))
    return composites[best], float(fit[best])


def generate_locked(
    model: Model,
    clip: Pattern,
    keep: tuple[int, ...],
    sliders: Mapping[str, float],
    style: str | None,
    seed: int,
    n_candidates: int = engine.DEFAULT_CANDIDATES,
    bars: int | None = None,
    rounds: int = LOCK_ROUNDS,
    cond: np.ndarray | None = None,
) -> Pattern:
    """``clip``'s ``keep`` voices exactly (cropped or looped to ``bars``) and new voices around them."""
    grid = model.meta.grid
    _check_grid(model, clip)
    check_keep(keep, clip.hits.shape[0])
    if not keep:
        raise UsageError("keep names no voice: give at least one voice to keep")
    if not 1 <= rounds <= 8:
        raise UsageError(f"rounds must be in 1..8, got {rounds}")
    if bars is not None:
        engine.check_bars(bars)
        clip = engine.fit_clip(clip, bars)
    cond = engine.condition_vector(model, sliders) if cond is None else cond
    segments = []
    for i in range(math.ceil(clip.grid.bars / grid.bars)):
        first = i * grid.bars
        length = min(grid.bars, clip.grid.bars - first)
        steps = slice(first * grid.steps_per_bar, (first + length) * grid.steps_per_bar)
        planes = (clip.hits[:, steps], clip.velocities[:, steps], clip.offsets_steps[:, steps])
        part = Pattern.unchecked(clip.grid.with_bars(length), *planes)
        composite, _ = search_segment(model, part, keep, cond, style, seed + i, n_candidates, rounds)
        segments.append(composite)
    joined = np.concatenate(segments, axis=-1)  # [3, V, T]
    locked = Pattern.from_array(joined, clip.grid, model.meta.hit_threshold)
    # the kept voices exactly as they came (from_array thresholds and clips: the same values, bit for bit)
    keep_list = list(keep)
    locked.hits[keep_list] = clip.hits[keep_list]
    locked.velocities[keep_list] = clip.velocities[keep_list]
    locked.offsets_steps[keep_list] = clip.offsets_steps[keep_list]
    return locked


def vary_locked(
    model: Model,
    clip: Pattern,
    keep: tuple[int, ...],
    amount: float,
    sliders: Mapping[str, float],
    style: str | None,
    seed: int,
    n_candidates: int = engine.DEFAULT_CANDIDATES,
    bars: int | None = None,
) -> Pattern:
    """``engine.vary`` that never changes the ``keep`` voices; amount 1 is ``generate_locked`` under the
    clip's own measured conditions where ``sliders`` are silent (as vary)."""
    check_keep(keep, clip.hits.shape[0])
    if amount != 1 or not keep:
        return engine.vary(model, clip, amount, sliders, style, seed, n_candidates, bars, keep)
    _check_grid(model, clip)
    if bars is not None:
        engine.check_bars(bars)
        clip = engine.fit_clip(clip, bars)
    cond = engine.vary_conditions(model, clip, sliders)
    return generate_locked(model, clip, keep, sliders, style, seed, n_candidates, cond=cond)


def _check_grid(model: Model, clip: Pattern) -> None:
    grid = model.meta.grid
    if (clip.grid.steps_per_beat, clip.grid.beats_per_bar) != (grid.steps_per_beat, grid.beats_per_bar):
        raise UsageError(
            f"the clip's grid ({clip.grid.beats_per_bar} beats of {clip.grid.steps_per_beat} steps) "
            f"does not match the model's ({grid.beats_per_bar} beats of {grid.steps_per_beat} steps)"
        )
