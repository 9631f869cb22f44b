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
``companion.runtime.search.search`` calls it for a ``SearchRequest`` with a clip and ``keep``; the primitives
it shares with ``engine`` are ``companion.runtime.candidates``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from companion.core.errors import UsageError
from companion.core.pattern import HIT, OFFSET, VELOCITY, Pattern
from companion.runtime.candidates import (
    check_grid,
    condition_vector,
    draw_latents,
    fit_clip,
    hit_change,
    run_generator,
    slider_distance,
    slider_targets,
    windows_of,
)
from companion.runtime.model import Model
from companion.runtime.search_request import SearchRequest

LOCK_ROUNDS = 3  # the search's rounds; rounds 1.. sample around the best eighth of the candidates so far
ELITE_SHARE = 8
FIRST_SPREAD = 0.5
SLIDER_WEIGHT = 100.0  # measured: docs/voice-lock.md (fit alone leaves the whole pattern unlike the clip)


def _fit(cands: np.ndarray, clip: Pattern, keep: list[int], threshold: float) -> np.ndarray:
    """[N] how far each candidate [N, 3, V, T] plays the kept voices from the clip (0: the same hits)."""
    probs = cands[:, HIT][:, keep]  # [N, K, T]
    target = clip.hits[keep]  # [K, T]
    hard = hit_change(probs >= threshold, target[None])  # [N]
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
    request: SearchRequest,
    cond: np.ndarray,
    *,
    rounds: int = LOCK_ROUNDS,
    slider_weight: float = SLIDER_WEIGHT,
) -> tuple[np.ndarray, float]:
    """The best composite [3, V, T] for the request's clip (no longer than the model), and its ``fit``
    (0..1): the request's ``keep``, ``style``, ``seed`` and ``candidates`` (per round), under ``cond``."""
    clip = request.clip
    if clip is None or clip.grid.bars > model.meta.bars:
        raise UsageError("the voice lock searches a clip no longer than the model at a time")
    grid = model.meta.grid
    threshold = model.meta.hit_threshold
    bars = clip.grid.bars
    k = grid.bars // bars  # windows per generator sample
    keep_list = list(request.keep)
    n_candidates = request.candidates
    rng = np.random.default_rng(request.seed)
    z, styles = draw_latents(model, request.style, rng, n_candidates)  # [N, latent_dim], [N] or None
    all_z: list[np.ndarray] = []  # [N, latent_dim] per round
    all_styles: list[np.ndarray] = []  # [N] per round (none for a model without styles)
    pool_windows: list[np.ndarray] = []  # [N * k, 3, V, W] per round
    pool_fit: list[np.ndarray] = []  # [N * k] per round
    for r in range(rounds):
        if r > 0:  # around the elite so far: the samples whose best window fits best
            sample_fit = np.concatenate(pool_fit).reshape(-1, k).min(axis=1)  # [samples so far]
            elite = np.argsort(sample_fit, kind="stable")[: max(1, n_candidates // ELITE_SHARE)]
            parents = elite[rng.integers(0, len(elite), n_candidates)]  # [N]
            spread = np.float32(FIRST_SPREAD / 2 ** (r - 1))
            z = np.concatenate(all_z)[parents] + spread * rng.standard_normal(z.shape, dtype=np.float32)
            styles = None if styles is None else np.concatenate(all_styles)[parents]
        raw = run_generator(model, cond, z, styles)  # [N, 3, V, T]
        windows = windows_of(raw, grid, bars)  # [N * k, 3, V, W], k windows per sample in a row
        all_z.append(z)
        if styles is not None:
            all_styles.append(styles)
        pool_windows.append(windows)
        pool_fit.append(_fit(windows, clip, keep_list, threshold))
    windows = np.concatenate(pool_windows)
    fit = np.concatenate(pool_fit)
    composites = compose(windows, clip, keep_list)
    targets = slider_targets(model, cond)
    score = fit + slider_weight * slider_distance(model, composites, clip.grid, targets)
    best = int(np.argmin(score))
    return composites[best], float(fit[best])


def generate_locked(
    model: Model, request: SearchRequest, cond: np.ndarray | None = None, *, rounds: int = LOCK_ROUNDS
) -> Pattern:
    """The request's clip's ``keep`` voices exactly (cropped or looped to its bars) and new voices around
    them, under ``cond`` (default: the sliders over the model's defaults)."""
    if request.clip is None or not request.keep:
        raise UsageError("keep names no voice: give at least one voice to keep")
    if not 1 <= rounds <= 8:
        raise UsageError(f"rounds must be in 1..8, got {rounds}")
    grid = model.meta.grid
    check_grid(model, request.clip)
    clip = fit_clip(request.clip, request.bars)
    cond = condition_vector(model, request.sliders) if cond is None else cond
    segments = []
    for i in range(math.ceil(clip.grid.bars / grid.bars)):
        first = i * grid.bars
        length = min(grid.bars, clip.grid.bars - first)
        steps = slice(first * grid.steps_per_bar, (first + length) * grid.steps_per_bar)
        planes = (clip.hits[:, steps], clip.velocities[:, steps], clip.offsets_steps[:, steps])
        part = Pattern.unchecked(clip.grid.with_bars(length), *planes)
        segment = replace(request, seed=request.seed + i, clip=part)
        composite, _ = search_segment(model, segment, cond, rounds=rounds)
        segments.append(composite)
    joined = np.concatenate(segments, axis=-1)  # [3, V, T]
    locked = Pattern.from_array(joined, clip.grid, model.meta.hit_threshold)
    # the kept voices exactly as they came (from_array thresholds and clips: the same values, bit for bit)
    keep_list = list(request.keep)
    locked.hits[keep_list] = clip.hits[keep_list]
    locked.velocities[keep_list] = clip.velocities[keep_list]
    locked.offsets_steps[keep_list] = clip.offsets_steps[keep_list]
    return locked
