"""Rhythm descriptors: pure functions of a pattern, vectorised over a batch.

These are the constraint sliders' raw values, measured by the same code in training (conditions, evaluation)
and in the daemon (candidate search). Formulas: ``docs/descriptors.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from companion.core.drum_map import N_VOICES, VOICE_GROUPS
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid, Pattern

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
# What a producer gets at each end of the descriptor's 0..1 slider (the training data's extremes; swing's 0
# is straight: training.conditions.ZERO_ANCHORED). Shown by nudge generate --help, nudge info and the device.
SLIDER_ENDS: dict[str, tuple[str, str]] = {
    "density": ("sparse", "busy"),
    "density_low": ("few kicks and low toms", "many"),
    "density_mid": ("few snares and toms", "many"),
    "density_high": ("few hats and cymbals", "many"),
    "syncopation": ("on the beat", "off the beat"),
    "swing": ("straight", "strong shuffle (off-beat 16ths late)"),
    "energy": ("soft", "hard"),
    "microtiming_spread": ("tight on the grid", "loose"),
    "symmetry": ("halves differ", "second half repeats the first"),
    "consistency": ("every bar different", "one bar repeated"),
}
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


def describe_batch_generic(batch: np.ndarray, grid: Grid, hit_threshold: float = 0.5) -> np.ndarray:
    """``describe_batch`` with plain numpy reductions over [N, V, T]: for any grid, slower."""
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


# bar-at-a-time lookup tables up to 2**20 entries; longer bars take the generic path
MAX_TABLE_STEPS_PER_BAR = 19


@lru_cache(maxsize=16)
def bar_tables(steps_per_beat: int, beats_per_bar: int) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables indexed by one bar's onsets as bits (bit j = step j) plus bit S = the next bar's step 0.

    Returns (``syncopation`` int32 [2**(S+1)]: the LHL syncopation summed over the bar's hits, which only
    depends on the bar and the next bar line; ``popcount`` int32 [2**S]: the bar's onset count).
    """
    grid = Grid(steps_per_beat, beats_per_bar, 1)
    s = grid.steps_per_bar
    index = np.arange(1 << (s + 1), dtype=np.int64)
    weights = metrical_weights(grid)
    total = np.zeros(len(index), dtype=np.int32)
    for n in range(s):
        rest = np.full(len(index), -100, dtype=np.int32)
        for k, spacing in reversed(list(enumerate(metrical_levels(grid)))):
            point = (n // spacing + 1) * spacing  # first level-k grid point after step n (<= S)
            between = ((1 << (point + 1)) - 1) ^ ((1 << (n + 1)) - 1)  # steps n+1 .. point
            rest = np.where((index & between) == 0, -k, rest)  # no hit before that point: a rest there
        total += np.maximum(rest - weights[n], 0) * ((index >> n) & 1).astype(np.int32)
    popcount = np.zeros(1 << s, dtype=np.int32)
    for bit in range(s):
        popcount += (np.arange(1 << s) >> bit) & 1
    for table in (total, popcount):
        table.setflags(write=False)
    return total, popcount


@dataclass(frozen=True)
class _Plan:
    """Constant arrays of the fast path for one grid."""

    syncopation: np.ndarray  # float32 [2**(S+1)]: LHL syncopation of a bar + next downbeat (bar_tables)
    popcount: np.ndarray  # float32 [2**S]
    bar_bits: np.ndarray  # float32 [T, bars]: 2**j for step j of bar b, plus 2**S for the next bar's step 0
    parity: np.ndarray  # float32 [V*T, 2]: (even step, odd step) selector over a flattened [V, T] pattern
    groups: np.ndarray  # float32 [V, 3]: voice -> (low, mid, high)


@lru_cache(maxsize=16)
def _plan(grid: Grid) -> _Plan:
    syncopation, popcount = bar_tables(grid.steps_per_beat, grid.beats_per_bar)
    s, bars, t = grid.steps_per_bar, grid.bars, grid.n_steps
    bar_bits = np.zeros((t, bars), dtype=np.float32)
    for bar in range(bars):
        bar_bits[bar * s : (bar + 1) * s, bar] = 2.0 ** np.arange(s)
        bar_bits[((bar + 1) % bars) * s, bar] += 2.0**s
    cells = np.arange(N_VOICES * t)
    parity = np.zeros((N_VOICES * t, 2), dtype=np.float32)
    parity[cells, cells % t % 2] = 1.0
    groups = np.zeros((N_VOICES, 3), dtype=np.float32)
    for column, group in enumerate(("low", "mid", "high")):
        groups[list(VOICE_GROUPS[group]), column] = 1.0
    return _Plan(syncopation.astype(np.float32), popcount.astype(np.float32), bar_bits, parity, groups)


def describe_batch(
    batch: np.ndarray, grid: Grid, hit_threshold: float = 0.5, columns: tuple[int, ...] | None = None
) -> np.ndarray:
    """Descriptors of every pattern in ``batch`` [N, 3, V, T] -> float32 [N, D] in ``DESCRIPTOR_NAMES`` order.

    Sums run as float32 matrix products over the flattened [N, V*T] planes, and bar-wise measures on bars
    packed into ints with lookup tables (``bar_tables``): a daemon-sized batch (64 x 4 bars) runs several
    times faster than plain reductions. Results equal ``describe_batch_generic`` (the straightforward
    version, also used for bars longer than ``MAX_TABLE_STEPS_PER_BAR`` steps) to float32 rounding.

    ``columns`` (indices into ``DESCRIPTOR_NAMES``): compute only these -> float32 [N, len(columns)], in
    that order. The daemon's search measures only its model's sliders this way.
    """
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[1] != 3 or batch.shape[2] != N_VOICES or batch.shape[3] != grid.n_steps:
        raise ValueError(f"batch must have shape [N, 3, {N_VOICES}, {grid.n_steps}], got {batch.shape}")
    if columns is not None:
        columns = tuple(columns)
        if not all(isinstance(c, int | np.integer) and 0 <= c < len(DESCRIPTOR_NAMES) for c in columns):
            raise ValueError(f"columns must be indices in 0..{len(DESCRIPTOR_NAMES) - 1}, got {columns}")
    if grid.steps_per_bar > MAX_TABLE_STEPS_PER_BAR:
        out = describe_batch_generic(batch, grid, hit_threshold)
        return out if columns is None else out[:, list(columns)]
    wanted = frozenset(range(len(DESCRIPTOR_NAMES)) if columns is None else columns)
    n, _, v, t = batch.shape
    bars, s = grid.bars, grid.steps_per_bar
    plan = _plan(grid)
    hits = (batch[:, HIT] >= hit_threshold).astype(np.float32).reshape(n, v * t)  # [N, V*T] 0/1
    # [N*V, bars]: each bar's bits plus its next downbeat as bit S
    extended = (hits.reshape(n * v, t) @ plan.bar_bits).astype(np.int64)
    bits = (extended & ((1 << s) - 1)).reshape(n, v, bars)  # [N, V, bars]: bit j = step j of the bar
    per_bar = plan.popcount[bits]  # [N, V, bars]
    bar_counts = per_bar.sum(axis=1)  # [N, bars]
    counts = bar_counts.sum(axis=1)  # [N]
    safe = np.maximum(counts, 1)
    out = np.zeros((n, len(DESCRIPTOR_NAMES)), dtype=np.float32)  # columns not wanted stay 0
    out[:, 0] = counts / bars
    if wanted & {1, 2, 3}:
        out[:, 1:4] = (per_bar.sum(axis=2) @ plan.groups) / bars  # [N, V] voice counts -> groups
    if 4 in wanted:
        out[:, 4] = plan.syncopation[extended].reshape(n, v * bars).sum(axis=1) / safe
    if wanted & {5, 7}:
        held = batch[:, OFFSET].reshape(n, v * t) * hits  # [N, V*T]: offsets where hit, else 0
        parity_counts = hits @ plan.parity  # [N, 2]: hits on even, odd steps
        parity_sums = held @ plan.parity
        means = parity_sums / np.maximum(parity_counts, 1)
        both = (parity_counts[:, 0] > 0) & (parity_counts[:, 1] > 0)
        out[:, 5] = np.where(both, means[:, 1] - means[:, 0], 0.0)
        deviation = held - hits * (parity_sums.sum(axis=1) / safe)[:, None]  # [N, V*T], 0 where no hit
        out[:, 7] = np.sqrt(np.einsum("ij,ij->i", deviation, deviation) / safe)
    if 6 in wanted:
        velocities = np.clip(batch[:, VELOCITY].reshape(n, v * t), 0, 1)
        out[:, 6] = np.einsum("ij,ij->i", velocities, hits) / bars
    if 8 in wanted:
        half = t // 2
        onsets = hits.reshape(n, v, t)
        shared = np.einsum("nvt,nvt->n", onsets[:, :, :half], onsets[:, :, half : 2 * half])
        halves = counts if t % 2 == 0 else counts - onsets[:, :, -1].sum(axis=1)
        out[:, 8] = _jaccard_counts(shared, halves - shared)
    if 9 in wanted and bars > 1:
        pairs = plan.popcount[bits[:, :, :-1] & bits[:, :, 1:]].sum(axis=1)  # [N, bars-1]
        out[:, 9] = _jaccard_counts(pairs, bar_counts[:, :-1] + bar_counts[:, 1:] - pairs).mean(axis=1)
    elif 9 in wanted:
        out[:, 9] = 1.0
    return out if columns is None else out[:, list(columns)]


def _jaccard_counts(both: np.ndarray, either: np.ndarray) -> np.ndarray:
    return np.where(either > 0, both / np.maximum(either, 1), 1.0)


def describe(pattern: Pattern) -> dict[str, float]:
    """Descriptors of one pattern, by name."""
    values = describe_batch(pattern.to_array()[None], pattern.grid)[0]
    return {name: float(value) for name, value in zip(DESCRIPTOR_NAMES, values, strict=True)}
