"""The pattern grid and the three-plane pattern."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid, Pattern, binarize


def test_grid_four_four_and_three_four():
    grid = Grid()
    assert (grid.steps_per_beat, grid.beats_per_bar, grid.bars) == (4, 4, 4)
    assert (grid.steps_per_bar, grid.n_steps, grid.length_beats) == (16, 64, 16.0)
    waltz = Grid.from_time_signature(3, 4, bars=2)
    assert (waltz.beats_per_bar, waltz.steps_per_bar, waltz.n_steps, waltz.length_beats) == (3, 12, 24, 6.0)
    assert grid.with_bars(8).n_steps == 128


@pytest.mark.parametrize("bars", range(1, 9))
def test_grid_bars_one_to_eight(bars):
    assert Grid(4, 4, bars).n_steps == 16 * bars


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bars": 0}, r"bars must be an int in 1\.\.8, got 0"),
        ({"bars": 9}, r"bars must be an int in 1\.\.8, got 9"),
        ({"bars": 2.0}, r"bars must be an int in 1\.\.8"),
        ({"bars": True}, r"bars must be an int"),
        ({"steps_per_beat": 0}, r"steps_per_beat must be an int in 1\.\.12"),
        ({"beats_per_bar": 8}, r"beats_per_bar must be an int in 2\.\.7"),
    ],
)
def test_grid_errors_name_field_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Grid(**kwargs)


def test_unsupported_time_signature_lists_the_allowed():
    with pytest.raises(ValueError, match=r"6/8 is not supported; allowed: 4/4, 3/4"):
        Grid.from_time_signature(6, 8, bars=1)


def planes(grid: Grid):
    shape = (N_VOICES, grid.n_steps)
    return np.zeros(shape, bool), np.zeros(shape, np.float32), np.zeros(shape, np.float32)


def test_pattern_zeroes_velocity_and_offset_where_no_hit():
    grid = Grid(4, 4, 1)
    hits, velocities, offsets = planes(grid)
    hits[0, 0] = True
    velocities[:] = 0.7
    offsets[:] = 0.2
    pattern = Pattern(grid, hits, velocities, offsets)
    assert pattern.n_hits == 1
    assert pattern.velocities.sum() == pytest.approx(0.7) and pattern.offsets_steps.sum() == pytest.approx(
        0.2
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, v, o: (h[:, :8], v, o), r"hits must have shape \(9, 16\)"),
        (lambda h, v, o: (h, v.__setitem__((0, 0), 1.5) or v, o), r"velocities must be in 0\.\.1"),
        (lambda h, v, o: (h, v, o.__setitem__((0, 0), 0.6) or o), r"offsets_steps must be in -0\.5\.\.0\.5"),
        (lambda h, v, o: (h, v.__setitem__((3, 3), np.nan) or v, o), "finite"),
    ],
)
def test_pattern_validation(change, message):
    grid = Grid(4, 4, 1)
    hits, velocities, offsets = planes(grid)
    hits[0, 0] = True
    with pytest.raises(ValueError, match=message):
        Pattern(grid, *change(hits, velocities, offsets))


def test_from_array_thresholds_and_clips_and_round_trips():
    grid = Grid(4, 3, 1)
    array = np.zeros((3, N_VOICES, 12), np.float32)
    array[0, 1, [0, 4, 8]] = [0.9, 0.5, 0.49]
    array[1, 1] = 1.3
    array[2, 1] = -0.8
    pattern = Pattern.from_array(array, grid)
    assert np.flatnonzero(pattern.hits[1]).tolist() == [0, 4]
    assert pattern.velocities[1, 0] == 1.0 and pattern.offsets_steps[1, 4] == -0.5
    again = Pattern.from_array(pattern.to_array(), grid)
    assert again.same_as(pattern)
    with pytest.raises(ValueError, match=r"\(3, 9, 12\)"):
        Pattern.from_array(array[:, :, :8], grid)


def test_from_array_builds_what_the_checked_constructor_would():
    grid = Grid(4, 4, 2)
    array = np.random.default_rng(5).normal(0, 1, (3, N_VOICES, 32)).astype(np.float32)
    fast = Pattern.from_array(array, grid, 0.3)
    hits = array[0] >= 0.3
    checked = Pattern(
        grid,
        hits,
        np.where(hits, np.clip(array[1], 0, 1), 0),
        np.where(hits, np.clip(array[2], -0.5, 0.5), 0),
    )
    assert fast.same_as(checked, atol=0)
    assert fast.velocities.dtype == fast.offsets_steps.dtype == np.float32 and fast.hits.dtype == bool
    assert not fast.velocities[~hits].any() and not fast.offsets_steps[~hits].any()


@pytest.mark.parametrize("plane", [1, 2])
def test_from_array_refuses_nan_where_there_is_a_hit(plane):
    array = np.zeros((3, N_VOICES, 16), np.float32)
    array[0, 0, 0] = 1.0
    array[plane, 0, 0] = np.nan
    array[plane, 1, 1] = np.nan  # no hit there: ignored
    with pytest.raises(ValueError, match="finite"):
        Pattern.from_array(array, Grid(4, 4, 1))
    array[plane, 0, 0] = 0.25
    assert Pattern.from_array(array, Grid(4, 4, 1)).n_hits == 1


def test_empty_and_binarize():
    grid = Grid(4, 4, 2)
    empty = Pattern.empty(grid)
    assert empty.n_hits == 0 and empty.to_array().shape == (3, 9, 32)
    raw = np.random.default_rng(0).uniform(-1, 2, (5, 3, N_VOICES, 32)).astype(np.float32)
    out = binarize(raw)
    assert set(np.unique(out[:, 0]).tolist()) <= {0.0, 1.0}
    assert np.all(out[:, 1][out[:, 0] == 0] == 0) and out[:, 1].max() <= 1 and np.abs(out[:, 2]).max() <= 0.5
