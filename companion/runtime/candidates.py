"""The search's primitives, shared by the candidate search (``engine``) and the voice lock (``lock``).

A candidate is one pattern the generator plays for one latent vector: ``draw_latents`` draws them seeded,
``run_generator`` plays them (raw float32 [N, 3, V, T]: hit probability, velocity, offset), ``windows_of``
cuts them to the requested length, ``measure`` / ``slider_distance`` say how well they meet the sliders and
``hit_change`` how far two patterns' hits are apart. ``ModelSearch`` (``model_search``) is what the search
needs from one loaded model, computed once.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from companion.core.descriptors import DESCRIPTOR_INDEX, describe_batch
from companion.core.errors import UsageError
from companion.core.normaliser import QuantileNormaliser
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid, Pattern
from companion.runtime.model import Model


@dataclass(frozen=True)
class ModelSearch:
    """What the search needs from a model, computed once per loaded model."""

    grid: Grid
    threshold: float
    condition_names: tuple[str, ...]
    defaults: np.ndarray  # float32 [C]
    measured: tuple[int, ...]  # indices into the conditions of those that are descriptors
    columns: tuple[int, ...]  # their column in describe_batch's output
    normaliser: QuantileNormaliser  # over the measured conditions only
    styles: tuple[str, ...]


_SEARCHES: weakref.WeakKeyDictionary[Model, ModelSearch] = weakref.WeakKeyDictionary()


def model_search(model: Model) -> ModelSearch:
    search = _SEARCHES.get(model)
    if search is None:
        meta = model.meta
        measured = tuple(i for i, name in enumerate(meta.condition_names) if name in DESCRIPTOR_INDEX)
        names = [meta.condition_names[i] for i in measured]
        search = _SEARCHES[model] = ModelSearch(
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
    search = model_search(model)
    cond = (search.defaults if base is None else base).astype(np.float32).copy()
    for name, value in sliders.items():
        if name not in search.condition_names:
            raise UsageError(f"unknown condition {name!r}; this model has {list(search.condition_names)}")
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
            raise UsageError(f"condition {name!r} must be a number in 0..1, got {value!r}")
        cond[search.condition_names.index(name)] = value
    return cond


def vary_conditions(model: Model, clip: Pattern, sliders: Mapping[str, float]) -> np.ndarray:
    """The ``cond`` of a nudge: ``sliders``, else the clip's own measured value, else the model's defaults."""
    search = model_search(model)
    base = search.defaults.copy()
    if any(search.condition_names[i] not in sliders for i in search.measured):  # the clip's own positions
        own = measure(model, clip.to_array()[None], clip.grid, 0.5)[0]
        base[list(search.measured)] = np.clip(own, 0.0, 1.0)  # the generator's inputs stay in 0..1
    return condition_vector(model, sliders, base)


def check_style(model: Model, style: str | None) -> None:
    """``UsageError`` unless ``style`` is one of the model's (``None``: any style)."""
    styles = model_search(model).styles
    if not styles and style is not None:
        raise UsageError(f"this model has no styles; got style {style!r}")
    if styles and style is not None and style not in styles:
        raise UsageError(f"unknown style {style!r}; allowed: {list(styles)}")


def check_grid(model: Model, clip: Pattern) -> None:
    """``UsageError`` unless the clip's beat and step division are the model's (its bars may differ)."""
    grid = model.meta.grid
    if (clip.grid.steps_per_beat, clip.grid.beats_per_bar) != (grid.steps_per_beat, grid.beats_per_bar):
        raise UsageError(
            f"the clip's grid ({clip.grid.beats_per_bar} beats of {clip.grid.steps_per_beat} steps) "
            f"does not match the model's ({grid.beats_per_bar} beats of {grid.steps_per_beat} steps)"
        )


def draw_latents(
    model: Model, style: str | None, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """n seeded latent vectors [N, latent_dim] and style indices [N] (None: a model without styles)."""
    check_style(model, style)
    z = rng.standard_normal((n, model.meta.latent_dim), dtype=np.float32)  # [N, latent_dim]
    styles = model_search(model).styles
    if not styles:
        return z, None
    if style is None:  # any style: a seeded draw per candidate
        return z, rng.integers(0, len(styles), n, dtype=np.int64)
    return z, np.full(n, styles.index(style), dtype=np.int64)


def run_generator(model: Model, cond: np.ndarray, z: np.ndarray, styles: np.ndarray | None) -> np.ndarray:
    """The generator on latents z [N, latent_dim] under one condition vector -> raw float32 [N, 3, V, T]."""
    conds = np.broadcast_to(cond, (len(z), len(cond))).copy()  # [N, C]
    return model.run(z, conds, styles)


def sample(model: Model, cond: np.ndarray, style: str | None, seed: int, n: int) -> np.ndarray:
    """Run the generator once on n seeded latent vectors -> raw float32 [N, 3, V, T]."""
    z, styles = draw_latents(model, style, np.random.default_rng(seed), n)
    return run_generator(model, cond, z, styles)


def windows_of(batch: np.ndarray, grid: Grid, bars: int) -> np.ndarray:
    """[N, 3, V, T] -> [N * k, 3, V, bars * steps_per_bar]: the k non-overlapping windows of ``bars``."""
    n, planes, voices, _ = batch.shape
    k = grid.bars // bars
    width = bars * grid.steps_per_bar
    windows = batch[..., : k * width].reshape(n, planes, voices, k, width)
    return windows.transpose(0, 3, 1, 2, 4).reshape(n * k, planes, voices, width)


def fit_candidates(raw: np.ndarray, grid: Grid, bars: int) -> np.ndarray:
    """Raw candidates [N, 3, V, T] of the model's ``grid`` at ``bars``: its windows, or each looped."""
    if bars <= grid.bars:
        return windows_of(raw, grid, bars)
    reps = math.ceil(bars / grid.bars)
    return np.tile(raw, (1, 1, 1, reps))[..., : bars * grid.steps_per_bar]


def fit_clip(clip: Pattern, bars: int) -> Pattern:
    """The clip cropped or looped to ``bars``."""
    if bars == clip.grid.bars:
        return clip
    width = bars * clip.grid.steps_per_bar
    reps = math.ceil(width / clip.grid.n_steps)
    planes = np.tile(clip.to_array(), (1, 1, reps))[..., :width]
    return Pattern(clip.grid.with_bars(bars), planes[HIT] > 0, planes[VELOCITY], planes[OFFSET])


def measure(model: Model, batch: np.ndarray, grid: Grid, threshold: float | None = None) -> np.ndarray:
    """The measured conditions of every pattern in ``batch``, normalised -> [N, M]: 0..1 within the model's
    tables, mirrored beyond their ends (e.g. early off-beats below swing's straight 0), so the search ranks
    such a candidate further from a request at that end than one exactly there."""
    search = model_search(model)
    threshold = search.threshold if threshold is None else threshold
    raw = describe_batch(batch, grid, threshold, search.columns)  # [N, M]
    return search.normaliser.transform(raw, extrapolate=True)


def slider_targets(model: Model, cond: np.ndarray) -> np.ndarray:
    """The sliders the search measures, from a condition vector -> float64 [M]."""
    return cond[list(model_search(model).measured)].astype(np.float64)


def slider_distance(
    model: Model, batch: np.ndarray, grid: Grid, targets: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """Mean squared distance [N] between the measured (normalised) conditions and ``targets`` [M]."""
    if not model_search(model).measured:
        return np.zeros(len(batch), dtype=np.float32)
    return np.mean((measure(model, batch, grid, threshold) - targets[None, :]) ** 2, axis=1)


# A take meets the sliders when its RMS slider error is within TAKE_MARGIN of the best candidate's; the search
# picks one of those seeded at random (``choose_take``), not always the nearest: the nearest candidates of
# different seeds are near-duplicates of each other (issue 21), so "generate again" gave the same beat.
TAKE_MARGIN = 0.05
_TAKE_STREAM = 0x7A4E  # the pick's random stream, apart from the latent vectors' (same seed, same take)


def choose_take(score: np.ndarray, seed: int, margin: float | None = None) -> int:
    """Index into ``score`` [N] (``slider_distance``: mean squared error) of the take for ``seed``: uniform
    among the candidates whose RMS error is at most the best one's + ``margin`` (default ``TAKE_MARGIN``;
    0: the nearest)."""
    margin = TAKE_MARGIN if margin is None else margin
    rms = np.sqrt(np.maximum(score, 0.0))  # [N]
    meets = np.flatnonzero(rms <= rms.min() + margin)
    return int(meets[_splitmix64(seed ^ _TAKE_STREAM) % len(meets)])


def _splitmix64(value: int) -> int:
    """A well-mixed 64-bit hash of ``value`` (SplitMix64): the pick in microseconds (a numpy Generator
    costs about 0.1 ms to seed, 5% of a request)."""
    mask = (1 << 64) - 1
    z = (value + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def hit_change(a_hits: np.ndarray, b_hits: np.ndarray) -> np.ndarray:
    """|a XOR b| / max(1, |a| + |b|) over the last two axes (voices, steps): 0 same, 1 no shared hit."""
    differ = np.logical_xor(a_hits, b_hits).sum(axis=(-2, -1))
    total = a_hits.sum(axis=(-2, -1)) + b_hits.sum(axis=(-2, -1))
    return differ / np.maximum(total, 1)
