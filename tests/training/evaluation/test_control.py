"""Control sweeps: design of the requests and their scores."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.descriptors import DESCRIPTOR_INDEX, DESCRIPTOR_NAMES
from companion.core.pattern import HIT, VELOCITY, Grid
from tests.support.tiny_onnx import tiny_meta, write_tiny_model
from training.evaluation import control

GRID = Grid(4, 4, 1)
LEVELS = np.linspace(0, 1, 6)


def test_sweep_conditions_hold_the_others_at_their_defaults():
    meta = tiny_meta(grid=GRID, conditions=("density", "syncopation", "swing"))
    rows = control.sweep_conditions(meta, "syncopation", LEVELS, 3)
    assert rows.shape == (18, 3)
    assert np.array_equal(rows[:, 1], np.repeat(LEVELS, 3).astype(np.float32))
    assert np.all(rows[:, [0, 2]] == 0.5)


def test_score_of_a_perfectly_obeyed_slider():
    meta = tiny_meta(grid=GRID, conditions=("density", "syncopation"))  # density quantiles: 0..10 hits/bar
    per_level = 4
    raw = np.zeros((len(LEVELS) * per_level, len(DESCRIPTOR_NAMES)), dtype=np.float32)
    raw[:, DESCRIPTOR_INDEX["density"]] = np.repeat(LEVELS, per_level) * 10  # exactly what was asked
    raw[:, DESCRIPTOR_INDEX["energy"]] = np.repeat(LEVELS, per_level) * 7  # follows density: leaks
    raw[:, DESCRIPTOR_INDEX["syncopation"]] = np.tile([1.0, 2.0, 3.0, 4.0], len(LEVELS))  # independent
    result = control.score("raw", meta, LEVELS, {"density": raw})
    assert result.rho["density"] == pytest.approx(1.0)
    assert result.mae["density"] == pytest.approx(0.0, abs=1e-6)
    assert result.leakage["density"]["energy"] == pytest.approx(1.0)
    assert result.leakage["density"]["syncopation"] == pytest.approx(0.0)
    assert result.max_leak["density"] == ("syncopation", pytest.approx(0.0))  # other *sliders* only
    assert result.measured["density"].shape == (len(LEVELS), per_level)


def test_raw_sweep_reuses_latents_across_levels_and_measures_the_sweep():
    meta = tiny_meta(grid=GRID, conditions=("density", "syncopation"), latent_dim=3)
    seen = []

    def density_follows_condition(z, cond, style):
        # a generator whose hit count is exactly the density slider times 10 per bar
        seen.append(z.copy())
        out = np.zeros((len(z), 3, 9, GRID.n_steps), dtype=np.float32)
        for i, level in enumerate(cond[:, 0]):
            out[i, HIT, 2, : round(float(level) * 10)] = 1
            out[i, VELOCITY, 2] = out[i, HIT, 2]
        return out

    freq = np.array([0.5, 0.5])
    result = control.raw_sweep(
        density_follows_condition, meta, LEVELS, per_level=5, style_freq=freq, rng=np.random.default_rng(0)
    )
    assert result.rho["density"] == pytest.approx(1.0)
    z = seen[0].reshape(len(LEVELS), 5, 3)
    assert np.all(z == z[0])  # common random numbers: same latents at every level
    assert np.isnan(result.rho["syncopation"]) or abs(result.rho["syncopation"]) < 1.0


def test_search_sweep_through_the_engine(tmp_path):
    path = write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 2))
    meta = tiny_meta(grid=Grid(4, 4, 2))
    freq = np.array([0.5, 0.5])
    result = control.search_sweep(
        path, meta, LEVELS, per_level=3, style_freq=freq, rng=np.random.default_rng(0), n_candidates=16
    )
    assert set(result.rho) == {"density", "syncopation"}
    again = control.search_sweep(
        path, meta, LEVELS, per_level=3, style_freq=freq, rng=np.random.default_rng(0), n_candidates=16
    )
    assert np.array_equal(result.measured["density"], again.measured["density"])
