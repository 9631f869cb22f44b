"""``nudge-train evaluate-lock``: voice lock measured with a real tiny ONNX generator on synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.core.pattern import Grid
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import write_tiny_model
from training.cli import main
from training.evaluation.lock_eval import ROWS, evaluate_lock

GRID = Grid(4, 4, 4)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    return write_tiny_model(path, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock"))


@pytest.fixture(scope="module")
def dataset():
    return synthetic_dataset(GRID)


def test_rows_figures_and_the_search_fits_better_than_one_sample(model_path, dataset):
    result = evaluate_lock(str(model_path), dataset, (0, 1), candidates=16, repeats=2, seed=1)
    assert [r.name for r in result.rows] == list(ROWS)
    assert all(np.isfinite(r.one_nn) and np.isfinite(r.frechet) for r in result.rows)
    real, other = result.rows[0], result.rows[1]
    assert real.hits_per_bar != other.hits_per_bar or real.frechet != other.frechet  # other voices swapped
    assert result.fit["latent search"] < result.fit["one sample"]
    again = evaluate_lock(str(model_path), dataset, (0, 1), candidates=16, repeats=2, seed=1)
    assert again.table() == result.table()


def test_cli_prints_the_table_and_writes_json(model_path, dataset, tmp_path, capsys):
    data = tmp_path / "d.npz"
    dataset.save(data)
    out = tmp_path / "lock.json"
    args = ["evaluate-lock", str(model_path), "--data", str(data), "--repeats", "1", "--candidates", "8"]
    assert main([*args, "--keep", "kick,hats", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "keep kick,closed_hat,open_hat" in printed and "latent search" in printed
    figures = json.loads(out.read_text())
    assert [s["name"] for s in figures["sets"]] == list(ROWS) and figures["keep"] == [
        "kick",
        "closed_hat",
        "open_hat",
    ]
    assert main([*args, "--keep", "gong"]) == 2
    assert "--keep: unknown voice 'gong'" in capsys.readouterr().err
