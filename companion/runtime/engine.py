"""The generation search: sample the generator once per request, measure, pick the best candidate.

``generate``: draw ``n_candidates`` latent vectors (seeded), run the generator once on the batch, measure
every candidate's descriptors with ``companion.core.descriptors.describe_batch`` (the training code), map them
to 0..1 with the model's quantile normaliser and return a candidate that meets the requested sliders
(mean squared difference over the conditions that are descriptors; other conditions, e.g. Spotify's
danceability, are only generator inputs): one picked with the seed among those whose RMS error is within
``candidates.TAKE_MARGIN`` of the nearest (``choose_take``), so that each seed is a different take, not the
nearest candidate every time (issue 21: those were near-duplicates across seeds). Shorter than the model:
every non-overlapping window of the requested length is a candidate. Longer: the chosen candidate, then the
candidates that meet the sliders and stay closest to it, concatenated.

``vary``: the "subtle nudge". The change between two patterns is

    hit_change(a, b) = |hits(a) XOR hits(b)| / max(1, |hits(a)| + |hits(b)|)     (0 same .. 1 disjoint)

For each of the VARY_BLENDS candidates nearest to the clip among those at least VARY_REACH away from it
(a clip Nudge made has near-copies among the candidates at its own sliders, which would leave nothing to
nudge; with the reach, each amount changes a made clip about as much as a real one, issue 21), the clip is
moved towards the candidate c by flipping ceil(amount * H) of the H cells where they
disagree, most musically sensible first: where the generator is most certain (|p - threshold|) and the
position is metrically weak (16ths before 8ths before beats before bar lines), so downbeats survive small
nudges. Hits that persist keep the clip's velocity and micro-timing; new hits take the candidate's. The
blend that best meets the sliders, with a preference for candidates near the clip (weight 1 - amount),
wins. amount 0 returns the clip itself; amount 1 is a fresh pattern under the sliders.

Both take a ``companion.runtime.search.SearchRequest`` (checked, defaults resolved); ``search.search`` picks
between them and the voice lock. The primitives they share with the lock are ``companion.runtime.candidates``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from companion.core.descriptors import metrical_levels, metrical_weights
from companion.core.drum_map import N_VOICES
from companion.core.errors import ModelError, UsageError
from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid, Pattern
from companion.runtime.candidates import (
    check_grid,
    choose_take,
    condition_vector,
    fit_candidates,
    fit_clip,
    hit_change,
    model_search,
    sample,
    slider_distance,
    slider_targets,
    vary_conditions,
    windows_of,
)
from companion.runtime.model import Model
from companion.runtime.search_request import SearchRequest


def generate(model: Model, request: SearchRequest) -> Pattern:
    """The candidate that best meets the request's sliders (condition name -> 0..1; silent: the defaults)."""
    cond = condition_vector(model, request.sliders)
    return _generate(model, cond, request.style, request.bars, request.seed, request.candidates)


def _generate(model: Model, cond: np.ndarray, style: str | None, bars: int, seed: int, n: int) -> Pattern:
    search = model_search(model)
    grid = search.grid
    targets = slider_targets(model, cond)
    raw = sample(model, cond, style, seed, n)  # [N, 3, V, T]
    if bars <= grid.bars:
        windows = windows_of(raw, grid, bars)  # [N * k, 3, V, bars * steps_per_bar]
        out_grid = grid.with_bars(bars)
        take = choose_take(slider_distance(model, windows, out_grid, targets), seed)
        return Pattern.from_array(windows[take], out_grid, search.threshold)
    score = slider_distance(model, raw, grid, targets)  # [N]
    chosen = [choose_take(score, seed)]
    hits = raw[:, HIT] >= search.threshold  # [N, V, T]
    closeness = hit_change(hits, hits[chosen[0]][None])  # [N]: prefer segments that sound like the first
    for _ in range(math.ceil(bars / grid.bars) - 1):
        combined = score + closeness
        combined[chosen[: len(raw) - 1]] = np.inf  # no immediate copies while there are other candidates
        chosen.append(int(np.argmin(combined)))
    joined = np.concatenate([raw[i] for i in chosen], axis=-1)[..., : bars * grid.steps_per_bar]
    return Pattern.from_array(joined, grid.with_bars(bars), search.threshold)


def fitted_clip(model: Model, request: SearchRequest) -> Pattern:
    """The request's clip on the model's grid (checked), cropped or looped to the request's bars."""
    if request.clip is None:
        raise UsageError("this request has no clip")
    check_grid(model, request.clip)
    return fit_clip(request.clip, request.bars)


@functools.lru_cache(maxsize=32)
def position_factors(grid: Grid) -> np.ndarray:
    """[T] 1 on the finest metrical level down to 1/L on the bar line: weak positions change first."""
    levels = len(metrical_levels(grid))
    factors = (1.0 - metrical_weights(grid)) / levels
    factors.setflags(write=False)
    return factors


def vary(model: Model, request: SearchRequest) -> Pattern:
    """Nudge the request's clip by its ``amount`` (0..1) towards patterns that meet its sliders.

    Conditions missing from the sliders keep the clip's own measured value (so a nudge stays in character);
    conditions that are not descriptors take the model's defaults. The voices in ``keep`` (indices) never
    change; the candidates whose own hits on them are nearest to the clip's are blended (see
    ``companion.runtime.lock``; amount 1 with ``keep`` is ``lock.generate_locked``, chosen by ``search``).
    """
    amount = 1.0 if request.amount is None else request.amount
    clip = fitted_clip(model, request)
    if amount == 0:
        return clip
    search = model_search(model)
    cond = vary_conditions(model, clip, request.sliders)
    bars, style, seed, n, keep = clip.grid.bars, request.style, request.seed, request.candidates, request.keep
    if amount == 1 and not keep:
        return _generate(model, cond, style, bars, seed, n)
    raw = sample(model, cond, style, seed, n)
    cands = fit_candidates(raw, search.grid, bars)  # [M, 3, V, T]
    frozen = None
    if keep:  # the candidates that already play the kept voices most like the clip, then no flip on them
        kept = list(keep)
        fit = hit_change(cands[:, HIT][:, kept] >= search.threshold, clip.hits[kept][None])  # [M]
        cands = cands[np.argsort(fit, kind="stable")[: max(VARY_BLENDS, len(cands) // 4)]]
        frozen = np.zeros(clip.hits.shape, dtype=bool)
        frozen[kept] = True
    blends, changes = blend(clip, cands, amount, search.threshold, frozen)
    targets = slider_targets(model, cond)
    score = slider_distance(model, blends, clip.grid, targets, 0.5) + (1 - amount) * changes
    best = int(np.argmin(score))
    velocities, offsets = blends[best, VELOCITY], blends[best, OFFSET]
    if not (np.isfinite(velocities).all() and np.isfinite(offsets).all()):
        raise ModelError("the generator returned NaN or inf velocities or offsets")
    # in range and 0 where no hit by construction (blend keeps the clip's values or clips the candidate's)
    return Pattern.unchecked(clip.grid, blends[best, HIT] > 0, velocities, offsets)


VARY_BLENDS = 16  # the candidates nearest to the clip that are blended and scored
VARY_REACH = 0.4  # ... of those at least this hit change away from it (see _blend)
_JITTER = np.random.default_rng(0).random(1 << 16).astype(np.float32) * 1e-4  # fixed tie-breaker per cell


@functools.lru_cache(maxsize=32)
def _weakness(grid: Grid, threshold: float) -> np.ndarray:
    """[V*T] float32: every cell's position factor / max(threshold, 1 - threshold)."""
    factors = position_factors(grid).astype(np.float32) / np.float32(max(threshold, 1 - threshold))
    weakness = np.tile(factors, N_VOICES)
    weakness.setflags(write=False)
    return weakness


def blend(
    clip: Pattern, cands: np.ndarray, amount: float, threshold: float, frozen: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Move the clip towards the candidates nearest to it (at least VARY_REACH away) -> blends [B, 3, V, T],
    hit_change to each [B].

    ``frozen`` (bool [V, T]): cells that never flip (the kept voices)."""
    m, _, v, t = cands.shape
    w = v * t
    flat = cands.reshape(m, 3, w)  # [M, 3, W]
    clip_hits = clip.hits.reshape(w)  # [W]
    # hit_change(clip, c) for every candidate from one matrix product: |c| and |c and clip| as two columns,
    # then |clip xor c| = |clip| + |c| - 2 |c and clip|
    cand_hits = flat[:, HIT] >= threshold  # [M, W]
    selector = np.ones((w, 2), dtype=np.float32)  # [W, 2]: (every cell, the clip's hits)
    selector[:, 1] = clip_hits
    counts = cand_hits.astype(np.float32) @ selector  # [M, 2], exact small integers
    total = counts[:, 0] + np.float32(np.count_nonzero(clip_hits))  # [M]
    changes = (total - 2 * counts[:, 1]).astype(np.float64) / np.maximum(total, 1)  # [M]: equals hit_change
    # the nearest candidates at least VARY_REACH away from the clip (then nearer ones, if too few are): a
    # candidate that is nearly the clip itself (a clip Nudge made, at its own sliders) leaves nothing to nudge
    reach = np.where(changes >= VARY_REACH, changes, changes + 2.0)  # [M]
    near = np.argsort(reach, kind="stable")[:VARY_BLENDS]  # [B]
    flat, changes, b = flat[near], changes[near], len(near)
    disagree = cand_hits[near] ^ clip_hits  # [B, W]
    if frozen is not None:
        disagree &= ~frozen.reshape(w)
    priority = np.abs(flat[:, HIT] - np.float32(threshold))  # [B, W]
    priority *= _weakness(clip.grid, threshold)
    priority += _JITTER[:w]  # certainty x weakness, distinct per cell
    k = np.ceil(amount * disagree.sum(axis=1)).astype(np.int64)  # [B] flips per candidate
    hits = clip_hits ^ top_k_mask(priority, disagree, k)  # [B, W]
    new = hits & ~clip_hits  # new hits take the candidate's feel; hits that persist keep the clip's
    blends = np.empty((b, 3, w), dtype=np.float32)
    blends[:, HIT] = hits
    # the clip's planes are 0 where it has no hit, so hits * plane keeps exactly the persisting hits' values;
    # then the new hits' cells take the candidate's value, clipped to the contract's range
    np.multiply(hits, clip.velocities.reshape(w), out=blends[:, VELOCITY])
    np.clip(flat[:, VELOCITY], 0, 1, out=blends[:, VELOCITY], where=new)
    np.multiply(hits, clip.offsets_steps.reshape(w), out=blends[:, OFFSET])
    np.clip(flat[:, OFFSET], -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS, out=blends[:, OFFSET], where=new)
    return blends.reshape(b, 3, v, t), changes


def top_k_mask(priority: np.ndarray, allowed: np.ndarray, k: np.ndarray) -> np.ndarray:
    """[B, W] priorities, [B, W] bool cells that may flip -> mask of the k[b] highest allowed cells per row.

    Only the allowed cells (where clip and candidate disagree: a few dozen per row) are ranked, in one sort.
    """
    rows, cols = np.nonzero(allowed)  # [P], by row
    order = np.lexsort((-priority[rows, cols], rows))  # by row, then highest priority first
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(len(k)))  # [B] first index of each row
    rank = np.arange(len(rows)) - starts[rows]  # [P] rank within its row
    chosen = rank < k[rows]
    mask = np.zeros(priority.shape, dtype=bool)
    mask[rows[chosen], cols[chosen]] = True
    return mask
