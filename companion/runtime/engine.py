"""The generation search: sample the generator once per request, measure, pick the best candidate.

``generate``: draw ``n_candidates`` latent vectors (seeded), run the generator once on the batch, measure
every candidate's descriptors with ``companion.core.descriptors.describe_batch`` (the training code), map them
to 0..1 with the model's quantile normaliser and return the candidate closest to the requested sliders
(mean squared difference over the conditions that are descriptors; other conditions, e.g. Spotify's
danceability, are only generator inputs). Shorter than the model: every non-overlapping window of the
requested length is a candidate. Longer: the best candidate, then the candidates that meet the sliders
and stay closest to it, concatenated.

``vary``: the "subtle nudge". The change between two patterns is

    hit_change(a, b) = |hits(a) XOR hits(b)| / max(1, |hits(a)| + |hits(b)|)     (0 same .. 1 disjoint)

For every candidate c the clip is moved towards c by flipping ceil(amount * H) of the H cells where they
disagree, most musically sensible first: where the generator is most certain (|p - threshold|) and the
position is metrically weak (16ths before 8ths before beats before bar lines), so downbeats survive small
nudges. Hits that persist keep the clip's velocity and micro-timing; new hits take the candidate's. The
blend that best meets the sliders, with a preference for candidates near the clip (weight 1 - amount),
wins. amount 0 returns the clip itself; amount 1 is a fresh pattern under the sliders.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, describe_batch, metrical_levels, metrical_weights
from companion.core.drum_map import N_VOICES
from companion.core.errors import ModelError, UsageError
from companion.core.normaliser import QuantileNormaliser
from companion.core.pattern import HIT, MAX_BARS, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid, Pattern
from companion.runtime.model import Model

DEFAULT_CANDIDATES = 64
MIN_CANDIDATES, MAX_CANDIDATES = 1, 4096


@dataclass(frozen=True)
class _Search:
    """What the search needs from a model, computed once per loaded model."""

    grid: Grid
    threshold: float
    condition_names: tuple[str, ...]
    defaults: np.ndarray  # float32 [C]
    measured: tuple[int, ...]  # indices into the conditions of those that are descriptors
    columns: tuple[int, ...]  # their column in describe_batch's output
    normaliser: QuantileNormaliser  # over the measured conditions only
    styles: tuple[str, ...]


_SEARCHES: weakref.WeakKeyDictionary[Model, _Search] = weakref.WeakKeyDictionary()


def _search(model: Model) -> _Search:
    search = _SEARCHES.get(model)
    if search is None:
        meta = model.meta
        measured = tuple(i for i, name in enumerate(meta.condition_names) if name in DESCRIPTOR_INDEX)
        names = [meta.condition_names[i] for i in measured]
        search = _SEARCHES[model] = _Search(
            grid=meta.grid,
            threshold=meta.hit_threshold,
            condition_names=meta.condition_names,
            defaults=meta.defaults(),
            measured=measured,
            columns=tuple(DESCRIPTOR_INDEX[n] for n in names),
            normaliser=meta.normaliser().subset(names),
            styles=meta.styles,
        )
    return search


def condition_vector(
    model: Model, sliders: Mapping[str, float], base: np.ndarray | None = None
) -> np.ndarray:
    """The generator's ``cond`` input: ``base`` (default: the model's defaults) with ``sliders`` set."""
    search = _search(model)
    cond = (search.defaults if base is None else base).astype(np.float32).copy()
    for name, value in sliders.items():
        if name not in search.condition_names:
            raise UsageError(f"unknown condition {name!r}; this model has {list(search.condition_names)}")
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
            raise UsageError(f"condition {name!r} must be a number in 0..1, got {value!r}")
        cond[search.condition_names.index(name)] = value
    return cond


def _style_indices(search: _Search, style: str | None, rng: np.random.Generator, n: int) -> np.ndarray | None:
    if not search.styles:
        if style is not None:
            raise UsageError(f"this model has no styles; got style {style!r}")
        return None
    if style is None:  # any style: a seeded draw per candidate
        return rng.integers(0, len(search.styles), n, dtype=np.int64)
    if style not in search.styles:
        raise UsageError(f"unknown style {style!r}; allowed: {list(search.styles)}")
    return np.full(n, search.styles.index(style), dtype=np.int64)


def draw_latents(
    model: Model, style: str | None, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """n seeded latent vectors [N, latent_dim] and style indices [N] (None: a model without styles)."""
    if not MIN_CANDIDATES <= n <= MAX_CANDIDATES:
        raise UsageError(f"n_candidates must be in {MIN_CANDIDATES}..{MAX_CANDIDATES}, got {n}")
    z = rng.standard_normal((n, model.meta.latent_dim), dtype=np.float32)  # [N, latent_dim]
    return z, _style_indices(_search(model), style, rng, n)


def run_generator(model: Model, cond: np.ndarray, z: np.ndarray, styles: np.ndarray | None) -> np.ndarray:
    """The generator on latents z [N, latent_dim] under one condition vector -> raw float32 [N, 3, V, T]."""
    conds = np.broadcast_to(cond, (len(z), len(cond))).copy()  # [N, C]
    return model.run(z, conds, styles)


def _sample(model: Model, cond: np.ndarray, style: str | None, seed: int, n: int) -> np.ndarray:
    """Run the generator once on n seeded latent vectors -> raw float32 [N, 3, V, T]."""
    z, styles = draw_latents(model, style, np.random.default_rng(seed), n)
    return run_generator(model, cond, z, styles)


def check_bars(bars: int) -> None:
    if isinstance(bars, bool) or not isinstance(bars, int | np.integer) or not 1 <= bars <= MAX_BARS:
        raise UsageError(f"bars must be an int in 1..{MAX_BARS}, got {bars!r}")


def windows_of(batch: np.ndarray, grid: Grid, bars: int) -> np.ndarray:
    """[N, 3, V, T] -> [N * k, 3, V, bars * steps_per_bar]: the k non-overlapping windows of ``bars``."""
    n, planes, voices, _ = batch.shape
    k = grid.bars // bars
    width = bars * grid.steps_per_bar
    windows = batch[..., : k * width].reshape(n, planes, voices, k, width)
    return windows.transpose(0, 3, 1, 2, 4).reshape(n * k, planes, voices, width)


def measure(model: Model, batch: np.ndarray, grid: Grid, threshold: float | None = None) -> np.ndarray:
    """The measured conditions of every pattern in ``batch``, normalised to 0..1 -> [N, M]."""
    search = _search(model)
    threshold = search.threshold if threshold is None else threshold
    raw = describe_batch(batch, grid, threshold, search.columns)  # [N, M]
    return search.normaliser.transform(raw)


def slider_distance(
    model: Model, batch: np.ndarray, grid: Grid, targets: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """Mean squared distance [N] between the measured (normalised) conditions and ``targets`` [M]."""
    if not _search(model).measured:
        return np.zeros(len(batch), dtype=np.float32)
    return np.mean((measure(model, batch, grid, threshold) - targets[None, :]) ** 2, axis=1)


def hit_change(a_hits: np.ndarray, b_hits: np.ndarray) -> np.ndarray:
    """|a XOR b| / max(1, |a| + |b|) over the last two axes (voices, steps): 0 same, 1 no shared hit."""
    differ = np.logical_xor(a_hits, b_hits).sum(axis=(-2, -1))
    total = a_hits.sum(axis=(-2, -1)) + b_hits.sum(axis=(-2, -1))
    return differ / np.maximum(total, 1)


def slider_targets(model: Model, cond: np.ndarray) -> np.ndarray:
    return cond[list(_search(model).measured)].astype(np.float64)


def generate(
    model: Model,
    sliders: Mapping[str, float],
    style: str | None,
    bars: int,
    seed: int,
    n_candidates: int = DEFAULT_CANDIDATES,
) -> Pattern:
    """The candidate that best meets ``sliders`` (condition name -> 0..1; missing: model defaults)."""
    check_bars(bars)
    return _generate(model, condition_vector(model, sliders), style, bars, seed, n_candidates)


def _generate(model: Model, cond: np.ndarray, style: str | None, bars: int, seed: int, n: int) -> Pattern:
    search = _search(model)
    grid = search.grid
    targets = slider_targets(model, cond)
    raw = _sample(model, cond, style, seed, n)  # [N, 3, V, T]
    if bars <= grid.bars:
        windows = windows_of(raw, grid, bars)  # [N * k, 3, V, bars * steps_per_bar]
        out_grid = grid.with_bars(bars)
        best = int(np.argmin(slider_distance(model, windows, out_grid, targets)))
        return Pattern.from_array(windows[best], out_grid, search.threshold)
    score = slider_distance(model, raw, grid, targets)  # [N]
    chosen = [int(np.argmin(score))]
    hits = raw[:, HIT] >= search.threshold  # [N, V, T]
    closeness = hit_change(hits, hits[chosen[0]][None])  # [N]: prefer segments that sound like the first
    for _ in range(math.ceil(bars / grid.bars) - 1):
        combined = score + closeness
        combined[chosen[: len(raw) - 1]] = np.inf  # no immediate copies while there are other candidates
        chosen.append(int(np.argmin(combined)))
    joined = np.concatenate([raw[i] for i in chosen], axis=-1)[..., : bars * grid.steps_per_bar]
    return Pattern.from_array(joined, grid.with_bars(bars), search.threshold)


def fit_clip(clip: Pattern, bars: int) -> Pattern:
    """The clip cropped or looped to ``bars``."""
    if bars == clip.grid.bars:
        return clip
    width = bars * clip.grid.steps_per_bar
    reps = math.ceil(width / clip.grid.n_steps)
    planes = np.tile(clip.to_array(), (1, 1, reps))[..., :width]
    return Pattern(clip.grid.with_bars(bars), planes[HIT] > 0, planes[VELOCITY], planes[OFFSET])


def _fit_candidates(raw: np.ndarray, grid: Grid, bars: int) -> np.ndarray:
    if bars <= grid.bars:
        return windows_of(raw, grid, bars)
    reps = math.ceil(bars / grid.bars)
    return np.tile(raw, (1, 1, 1, reps))[..., : bars * grid.steps_per_bar]


@functools.lru_cache(maxsize=32)
def position_factors(grid: Grid) -> np.ndarray:
    """[T] 1 on the finest metrical level down to 1/L on the bar line: weak positions change first."""
    levels = len(metrical_levels(grid))
    factors = (1.0 - metrical_weights(grid)) / levels
    factors.setflags(write=False)
    return factors


def vary(
    model: Model,
    clip: Pattern,
    amount: float,
    sliders: Mapping[str, float],
    style: str | None,
    seed: int,
    n_candidates: int = DEFAULT_CANDIDATES,
    bars: int | None = None,
    keep: tuple[int, ...] = (),
) -> Pattern:
    """Nudge ``clip`` by ``amount`` (0..1) towards patterns that meet ``sliders``.

    Conditions missing from ``sliders`` keep the clip's own measured value (so a nudge stays in character);
    conditions that are not descriptors take the model's defaults. The voices in ``keep`` (indices) never
    change; the candidates whose own hits on them are nearest to the clip's are blended (see
    ``companion.runtime.lock``; amount 1 with ``keep`` is ``lock.generate_locked``).
    """
    if not (isinstance(amount, int | float) and math.isfinite(amount) and 0 <= amount <= 1):
        raise UsageError(f"amount must be a number in 0..1, got {amount!r}")
    search = _search(model)
    grid = search.grid
    if (clip.grid.steps_per_beat, clip.grid.beats_per_bar) != (grid.steps_per_beat, grid.beats_per_bar):
        raise UsageError(
            f"the clip's grid ({clip.grid.beats_per_bar} beats of {clip.grid.steps_per_beat} steps) "
            f"does not match the model's ({grid.beats_per_bar} beats of {grid.steps_per_beat} steps)"
        )
    if bars is not None:
        check_bars(bars)
        clip = fit_clip(clip, bars)
    if amount == 0:
        return clip
    cond = vary_conditions(model, clip, sliders)
    bars = clip.grid.bars
    if amount == 1 and not keep:
        return _generate(model, cond, style, bars, seed, n_candidates)
    raw = _sample(model, cond, style, seed, n_candidates)
    cands = _fit_candidates(raw, grid, bars)  # [M, 3, V, T]
    frozen = None
    if keep:  # the candidates that already play the kept voices most like the clip, then no flip on them
        kept = list(keep)
        fit = hit_change(cands[:, HIT][:, kept] >= search.threshold, clip.hits[kept][None])  # [M]
        cands = cands[np.argsort(fit, kind="stable")[: max(VARY_BLENDS, len(cands) // 4)]]
        frozen = np.zeros(clip.hits.shape, dtype=bool)
        frozen[kept] = True
    blends, changes = _blend(clip, cands, amount, search.threshold, frozen)
    targets = slider_targets(model, cond)
    score = slider_distance(model, blends, clip.grid, targets, 0.5) + (1 - amount) * changes
    best = int(np.argmin(score))
    velocities, offsets = blends[best, VELOCITY], blends[best, OFFSET]
    if not (np.isfinite(velocities).all() and np.isfinite(offsets).all()):
        raise ModelError("the generator returned NaN or inf velocities or offsets")
    # in range and 0 where no hit by construction (_blend keeps the clip's values or clips the candidate's)
    return Pattern.unchecked(clip.grid, blends[best, HIT] > 0, velocities, offsets)


def vary_conditions(model: Model, clip: Pattern, sliders: Mapping[str, float]) -> np.ndarray:
    """The ``cond`` of a nudge: ``sliders``, else the clip's own measured value, else the model's defaults."""
    search = _search(model)
    base = search.defaults.copy()
    if any(search.condition_names[i] not in sliders for i in search.measured):  # the clip's own positions
        base[list(search.measured)] = measure(model, clip.to_array()[None], clip.grid, 0.5)[0]
    return condition_vector(model, sliders, base)


VARY_BLENDS = 16  # the candidates nearest to the clip that are blended and scored
_JITTER = np.random.default_rng(0).random(1 << 16).astype(np.float32) * 1e-4  # fixed tie-breaker per cell


@functools.lru_cache(maxsize=32)
def _weakness(grid: Grid, threshold: float) -> np.ndarray:
    """[V*T] float32: every cell's position factor / max(threshold, 1 - threshold)."""
    factors = position_factors(grid).astype(np.float32) / np.float32(max(threshold, 1 - threshold))
    weakness = np.tile(factors, N_VOICES)
    weakness.setflags(write=False)
    return weakness


def _blend(
    clip: Pattern, cands: np.ndarray, amount: float, threshold: float, frozen: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Move the clip towards the candidates nearest to it -> blends [B, 3, V, T], hit_change to each [B].

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
    near = np.argsort(changes, kind="stable")[:VARY_BLENDS]  # [B]
    flat, changes, b = flat[near], changes[near], len(near)
    disagree = cand_hits[near] ^ clip_hits  # [B, W]
    if frozen is not None:
        disagree &= ~frozen.reshape(w)
    priority = np.abs(flat[:, HIT] - np.float32(threshold))  # [B, W]
    priority *= _weakness(clip.grid, threshold)
    priority += _JITTER[:w]  # certainty x weakness, distinct per cell
    k = np.ceil(amount * disagree.sum(axis=1)).astype(np.int64)  # [B] flips per candidate
    hits = clip_hits ^ _top_k_mask(priority, disagree, k)  # [B, W]
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


def _top_k_mask(priority: np.ndarray, allowed: np.ndarray, k: np.ndarray) -> np.ndarray:
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
