"""Descriptors: known answers on hand-made patterns; parity of the fast batch code with a slow reference."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from companion.core.descriptors import (
    DESCRIPTOR_INDEX,
    DESCRIPTOR_NAMES,
    DESCRIPTOR_TABLE,
    MAX_TABLE_STEPS_PER_BAR,
    describe,
    describe_batch,
    describe_batch_generic,
    metrical_levels,
    metrical_weights,
)
from companion.core.drum_map import N_VOICES, VOICE_GROUPS, VOICE_INDEX
from companion.core.pattern import Grid, Pattern

KICK, SNARE, HAT = VOICE_INDEX["kick"], VOICE_INDEX["snare"], VOICE_INDEX["closed_hat"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "descriptors.md"


# ---------------------------------------------------------------- the slow, readable reference
def reference_weights(grid: Grid) -> list[int]:
    """LHL weight per step, from the metrical hierarchy written out by hand: bar 0, half bar -1 (even
    meters of 4+ beats), beat, then each halving (or thirding) of the beat one level lower."""
    spacings = [grid.steps_per_bar]
    if grid.beats_per_bar % 2 == 0 and grid.beats_per_bar > 2:
        spacings.append(grid.steps_per_bar // 2)
    spacings.append(grid.steps_per_beat)
    spacing = grid.steps_per_beat
    while spacing > 1:
        spacing //= next(f for f in (2, 3, 5, 7, 11) if spacing % f == 0)
        spacings.append(spacing)
    weights = []
    for step in range(grid.n_steps):
        level = next(k for k, s in enumerate(spacings) if step % s == 0)
        weights.append(-level)
    return weights


def reference_describe(array: np.ndarray, grid: Grid, threshold: float = 0.5) -> list[float]:
    """One pattern [3, V, T] -> descriptors, with plain loops, straight from docs/descriptors.md."""
    t, bars = grid.n_steps, grid.bars
    hits = [[bool(array[0, v, s] >= threshold) for s in range(t)] for v in range(N_VOICES)]
    onsets = [(v, s) for v in range(N_VOICES) for s in range(t) if hits[v][s]]
    n = len(onsets)
    weights = reference_weights(grid)
    group = {v: name for name, members in VOICE_GROUPS.items() for v in members}

    syncopation = 0
    for v, s in onsets:
        following = [x for x in range(s + 1, s + t + 1) if hits[v][x % t]]
        nxt = following[0]  # the next hit of this voice, looping (itself one pattern later)
        rests = [weights[x % t] for x in range(s + 1, nxt)]
        if rests and max(rests) > weights[s]:
            syncopation += max(rests) - weights[s]

    odd = [float(array[2, v, s]) for v, s in onsets if s % 2 == 1]
    even = [float(array[2, v, s]) for v, s in onsets if s % 2 == 0]
    swing = (sum(odd) / len(odd) - sum(even) / len(even)) if odd and even else 0.0
    energy = sum(min(max(float(array[1, v, s]), 0.0), 1.0) for v, s in onsets) / bars
    offsets = [float(array[2, v, s]) for v, s in onsets]
    mean = sum(offsets) / n if n else 0.0
    spread = (sum((o - mean) ** 2 for o in offsets) / n) ** 0.5 if n else 0.0

    def jaccard(a: set, b: set) -> float:
        return len(a & b) / len(a | b) if a | b else 1.0

    half = t // 2
    first = {(v, s) for v, s in onsets if s < half}
    second = {(v, s - half) for v, s in onsets if half <= s < 2 * half}
    spb = grid.steps_per_bar
    per_bar = [{(v, s - b * spb) for v, s in onsets if b * spb <= s < (b + 1) * spb} for b in range(bars)]
    pairs = [jaccard(per_bar[b], per_bar[b + 1]) for b in range(bars - 1)]
    return [
        n / bars,
        sum(group[v] == "low" for v, _ in onsets) / bars,
        sum(group[v] == "mid" for v, _ in onsets) / bars,
        sum(group[v] == "high" for v, _ in onsets) / bars,
        syncopation / max(n, 1),
        swing,
        energy,
        spread,
        jaccard(first, second),
        sum(pairs) / len(pairs) if pairs else 1.0,
    ]


def random_batch(rng: np.random.Generator, n: int, grid: Grid) -> np.ndarray:
    """Raw generator-like output: hit probabilities at varied densities, velocities a little out of
    range (clipped by the descriptors), offsets -0.5..0.5; plus empty, full and single-hit patterns."""
    batch = rng.random((n, 3, N_VOICES, grid.n_steps)).astype(np.float32)
    density = rng.random((n, 1, 1)) * 0.6
    batch[:, 0] = (rng.random((n, N_VOICES, grid.n_steps)) < density) * rng.uniform(0.5, 1.0)
    batch[:, 1] = rng.uniform(-0.1, 1.1, (n, N_VOICES, grid.n_steps))
    batch[:, 2] = rng.uniform(-0.5, 0.5, (n, N_VOICES, grid.n_steps))
    batch[0, 0] = 0.0  # empty
    batch[1, 0] = 1.0  # every cell
    batch[2, 0] = 0.0
    batch[2, 0, KICK, rng.integers(grid.n_steps)] = 1.0  # one hit
    batch[3, 2] = 0.125  # all offsets equal: spread exactly 0
    return batch


def one(grid: Grid, cells: dict[tuple[int, int], tuple[float, float]]) -> Pattern:
    """Pattern with {(voice, step): (velocity, offset)}."""
    hits = np.zeros((N_VOICES, grid.n_steps), dtype=bool)
    velocities = np.zeros((N_VOICES, grid.n_steps), dtype=np.float32)
    offsets = np.zeros((N_VOICES, grid.n_steps), dtype=np.float32)
    for (v, s), (velocity, offset) in cells.items():
        hits[v, s], velocities[v, s], offsets[v, s] = True, velocity, offset
    return Pattern(grid, hits, velocities, offsets)


# ---------------------------------------------------------------- known answers
def test_metrical_weights_tables_for_4_4_and_3_4():
    assert metrical_levels(Grid(4, 4, 1)) == (16, 8, 4, 2, 1)
    assert metrical_weights(Grid(4, 4, 1)).tolist() == [
        0,
        -4,
        -3,
        -4,
        -2,
        -4,
        -3,
        -4,
        -1,
        -4,
        -3,
        -4,
        -2,
        -4,
        -3,
        -4,
    ]
    assert metrical_weights(Grid(4, 3, 1)).tolist() == [0, -3, -2, -3, -1, -3, -2, -3, -1, -3, -2, -3]
    for grid in (Grid(4, 4, 2), Grid(4, 3, 3), Grid(3, 4, 1), Grid(4, 2, 1), Grid(4, 5, 1)):
        assert metrical_weights(grid).tolist() == reference_weights(grid)


def test_four_on_the_floor_kick_is_unsyncopated():
    grid = Grid(4, 4, 4)
    values = describe(one(grid, {(KICK, s): (0.5, 0.0) for s in range(0, 64, 4)}))
    assert values["syncopation"] == 0.0
    assert values["density"] == values["density_low"] == 4.0
    assert values["density_mid"] == values["density_high"] == 0.0
    assert values["energy"] == pytest.approx(2.0)
    assert values["symmetry"] == values["consistency"] == 1.0
    assert values["swing"] == values["microtiming_spread"] == 0.0


def test_single_offbeat_eighth_kick_scores_three():
    # step 2 is the "and" of beat 1 (weight -3); the rest on the next bar line (weight 0) makes it 3
    assert describe(one(Grid(4, 4, 1), {(KICK, 2): (0.8, 0.0)}))["syncopation"] == 3.0
    # on the bar line it is not syncopated; on a 16th before the bar line: 0 - (-4) = 4
    assert describe(one(Grid(4, 4, 1), {(KICK, 0): (0.8, 0.0)}))["syncopation"] == 0.0
    assert describe(one(Grid(4, 4, 1), {(KICK, 15): (0.8, 0.0)}))["syncopation"] == 4.0


def test_syncopation_is_per_hit_not_a_density_proxy():
    grid = Grid(4, 4, 1)
    sparse = describe(one(grid, {(KICK, 2): (0.8, 0.0)}))
    busy = describe(one(grid, {(KICK, s): (0.8, 0.0) for s in (2, 6, 10, 14)}))  # every off-beat 8th
    assert busy["density"] == 4 * sparse["density"]
    # 2 -> rest on beat 2 (+1), 6 -> beat 3 (+2), 10 -> beat 4 (+1), 14 -> bar line (+3): 7 over 4 hits
    assert busy["syncopation"] == 1.75 < sparse["syncopation"] == 3.0


def test_swing_of_late_odd_sixteenths_is_their_lateness():
    grid = Grid(4, 4, 2)
    cells = {(HAT, s): (0.7, 0.2 if s % 2 else 0.0) for s in range(grid.n_steps)}
    values = describe(one(grid, cells))
    assert values["swing"] == pytest.approx(0.2, abs=1e-6)
    assert values["microtiming_spread"] == pytest.approx(0.1, abs=1e-6)  # half at 0, half at 0.2


def test_spread_energy_density_groups():
    grid = Grid(4, 4, 1)
    cells = {(KICK, 0): (1.0, -0.1), (SNARE, 4): (0.5, 0.1), (HAT, 2): (0.25, 0.1), (HAT, 6): (0.25, -0.1)}
    values = describe(one(grid, cells))
    assert values["density"] == 4.0
    assert (values["density_low"], values["density_mid"], values["density_high"]) == (1.0, 1.0, 2.0)
    assert values["energy"] == pytest.approx(2.0)
    assert values["microtiming_spread"] == pytest.approx(0.1, abs=1e-6)


def test_symmetry_and_consistency_of_repeated_and_changed_bars():
    grid = Grid(4, 4, 2)
    bar = [0, 4, 8, 12]
    same = describe(one(grid, {(KICK, s + 16 * b): (0.5, 0.0) for s in bar for b in range(2)}))
    assert same["symmetry"] == same["consistency"] == 1.0
    changed = describe(
        one(grid, {**{(KICK, s): (0.5, 0.0) for s in bar}, (KICK, 16): (0.5, 0.0), (KICK, 24): (0.5, 0.0)})
    )
    assert changed["consistency"] == pytest.approx(0.5)  # 2 shared of 4 distinct onsets
    assert changed["symmetry"] == pytest.approx(0.5)  # 2 bars: the halves are the bars


def test_three_four_grid():
    grid = Grid(4, 3, 2)
    waltz = {(KICK, s): (0.5, 0.0) for s in (0, 12)} | {(SNARE, s): (0.5, 0.0) for s in (4, 8, 16, 20)}
    values = describe(one(grid, waltz))
    assert values["density"] == 3.0 and values["consistency"] == 1.0 and values["symmetry"] == 1.0
    # snares on beats 2 and 3: beat 2 waits for beat 3 (same weight), beat 3 waits over the bar line (+1)
    assert values["syncopation"] == pytest.approx(2 / 6)
    assert describe(one(Grid(4, 3, 1), {(KICK, 4): (0.5, 0.0)}))["syncopation"] == 1.0


def test_empty_pattern_is_all_zero_but_similarity():
    values = describe(Pattern.empty(Grid(4, 4, 4)))
    assert all(values[name] == 0.0 for name in DESCRIPTOR_NAMES if name not in ("symmetry", "consistency"))
    assert values["symmetry"] == values["consistency"] == 1.0


def test_bad_batch_shape_names_expected_shape():
    with pytest.raises(ValueError, match=r"\[N, 3, 9, 64\]"):
        describe_batch(np.zeros((2, 3, 9, 32), dtype=np.float32), Grid(4, 4, 4))


# ---------------------------------------------------------------- parity with the reference
GRIDS = [
    Grid(4, 4, 4),
    Grid(4, 4, 1),
    Grid(4, 3, 3),
    Grid(4, 3, 2),
    Grid(3, 4, 2),
    Grid(3, 3, 3),
    Grid(4, 5, 2),
]


@pytest.mark.parametrize("grid", GRIDS, ids=str)
def test_batch_paths_match_the_reference(grid):
    rng = np.random.default_rng(grid.n_steps)
    batch = random_batch(rng, 40, grid)
    expected = np.array([reference_describe(p, grid) for p in batch], dtype=np.float64)
    np.testing.assert_allclose(describe_batch(batch, grid), expected, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(describe_batch_generic(batch, grid), expected, rtol=1e-5, atol=2e-6)


def test_fast_path_matches_generic_on_the_daemon_batch():
    grid = Grid(4, 4, 4)
    rng = np.random.default_rng(7)
    for _ in range(5):
        batch = random_batch(rng, 64, grid)
        fast, generic = describe_batch(batch, grid), describe_batch_generic(batch, grid)
        np.testing.assert_allclose(fast, generic, rtol=1e-6, atol=1e-5)
        exact = [DESCRIPTOR_INDEX[n] for n in ("density", "density_low", "syncopation", "symmetry")]
        assert np.array_equal(fast[:, exact], generic[:, exact])


def test_long_bars_take_the_generic_path():
    grid = Grid(4, 5, 2)  # 20 steps per bar
    assert grid.steps_per_bar > MAX_TABLE_STEPS_PER_BAR
    batch = random_batch(np.random.default_rng(3), 8, grid)
    assert np.array_equal(describe_batch(batch, grid), describe_batch_generic(batch, grid))


@pytest.mark.parametrize("grid", [Grid(4, 4, 4), Grid(4, 4, 1), Grid(4, 5, 2)], ids=str)
def test_a_subset_of_columns_equals_those_columns_of_the_whole(grid):
    rng = np.random.default_rng(11)
    batch = random_batch(rng, 32, grid)
    whole = describe_batch(batch, grid)
    for _ in range(20):  # every block of the fast path is both skipped and computed across the draws
        columns = tuple(int(c) for c in rng.permutation(len(DESCRIPTOR_NAMES))[: rng.integers(1, 6)])
        assert np.array_equal(describe_batch(batch, grid, columns=columns), whole[:, list(columns)])


@pytest.mark.parametrize("columns", [(10,), (-1,), (1.5,)])
def test_bad_columns_are_refused_with_the_range(columns):
    with pytest.raises(ValueError, match=r"columns must be indices in 0\.\.9"):
        describe_batch(np.zeros((1, 3, 9, 64), dtype=np.float32), Grid(4, 4, 4), columns=columns)


def test_empty_batch():
    assert describe_batch(np.zeros((0, 3, 9, 64), dtype=np.float32), Grid(4, 4, 4)).shape == (
        0,
        len(DESCRIPTOR_NAMES),
    )


# ---------------------------------------------------------------- docs
def test_docs_mention_every_descriptor_with_its_unit():
    text = DOCS.read_text(encoding="utf-8")
    for name, unit, _ in DESCRIPTOR_TABLE:
        assert re.search(rf"`{name}`", text), f"docs/descriptors.md does not mention `{name}`"
        assert unit in text, f"docs/descriptors.md does not give the unit {unit!r} of {name}"
