"""End-to-end evaluation: a real tiny ONNX generator against a small synthetic dataset with splits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from companion.core.pattern import Grid
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import write_tiny_model
from training.cli import main
from training.evaluation.diversity import DiversityConfig
from training.evaluation.evaluate import EvalConfig, evaluate, held_out_sets, one_window_per_source

GRID = Grid(4, 4, 4)
SMALL_DIVERSITY = DiversityConfig(settings=4, samples=3, reference_anchors=30, n_candidates=8)
FAST = EvalConfig(
    seed=3,
    sweep_levels=5,
    sweep_samples=4,
    n_candidates=8,
    diversity=SMALL_DIVERSITY,
    vary_clips=4,
    repeats=3,
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    return write_tiny_model(path, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock"))


@pytest.fixture(scope="module")
def dataset():
    return synthetic_dataset(GRID)


@pytest.fixture(scope="module")
def evaluation(model_path, dataset):
    return evaluate(model_path, dataset, FAST)


def test_one_window_per_source(dataset):
    test = one_window_per_source(dataset.of_split("test"), np.random.default_rng(0))
    assert len(test) == 10
    assert len(set(test.source.tolist())) == 10
    assert set(test.split.tolist()) == {"test"}


def test_held_out_sets_use_validation_or_halve_the_test_split(dataset):
    reference, real, label = held_out_sets(dataset, np.random.default_rng(0))
    assert set(reference.split.tolist()) == {"test"} and set(real.split.tolist()) == {"validation"}
    no_validation = dataset.select(dataset.split != "validation")
    reference, real, label = held_out_sets(no_validation, np.random.default_rng(0))
    assert len(reference) == 5 and len(real) == 5 and "half" in label
    assert not set(reference.source.tolist()) & set(real.source.tolist())
    with pytest.raises(ValueError, match="test sources"):
        held_out_sets(dataset.select(dataset.split == "train"), np.random.default_rng(0))


def test_every_row_and_metric_is_there(evaluation):
    names = [r.name for r in evaluation.rows]
    assert names == ["reference", "real", "model", "bernoulli", "shuffled bars", "retrieval"]
    for row in evaluation.rows[1:]:
        assert 0.0 <= row.one_nn <= 1.0 and row.frechet >= 0.0
        assert 0.0 <= row.oa_mean <= 1.0 and 0.0 <= row.drum_pattern <= 1.0
    assert math.isnan(evaluation.rows[0].one_nn)  # the reference is not compared with itself
    assert evaluation.counts == {"train": 90, "reference": 10, "real": 8, "generated": 10}


def test_retrieval_is_the_novelty_floor_and_the_tiny_model_is_far_from_real(evaluation):
    retrieval, model = evaluation.row("retrieval"), evaluation.row("model")
    assert retrieval.exact_copies == retrieval.n * retrieval.repeats and retrieval.nn_hamming == 0.0
    # the random tiny model floods the grid with hits: clearly separable from real grooves
    assert model.one_nn > 0.9 and model.frechet > evaluation.row("shuffled bars").frechet
    assert model.hits_per_bar > 3 * evaluation.row("real").hits_per_bar


def test_control_paths(evaluation):
    paths = [c.path for c in evaluation.control]
    assert paths[0] == "raw" and paths[-1] == "retrieval"
    assert paths == ["raw", "search", "retrieval"]  # FAST asks for the search sweep: it must be there
    for result in evaluation.control:
        assert set(result.rho) == {"density", "syncopation"}
        assert result.measured["density"].shape == (5, 4)


def test_evaluation_is_deterministic_under_the_seed(model_path, dataset, evaluation):
    again = evaluate(model_path, dataset, FAST)
    assert json.dumps(again.to_dict()["sets"]) == json.dumps(evaluation.to_dict()["sets"])
    other = evaluate(
        model_path,
        dataset,
        EvalConfig(
            seed=4, sweep_levels=5, sweep_samples=4, search=False, diversity=SMALL_DIVERSITY, repeats=2
        ),
    )
    assert other.row("model").one_nn != evaluation.row("model").one_nn or not np.array_equal(
        other.examples["model"], evaluation.examples["model"]
    )


def test_test_split_feeds_nothing_the_model_or_baselines_draw_from(model_path, dataset, evaluation):
    changed = synthetic_dataset(GRID)
    test = changed.split == "test"
    changed.patterns[test, :2] = 1.0 - changed.patterns[test, :2]  # completely different test windows:
    changed.patterns[test, 2] = -changed.patterns[test, 2]  # hits and velocities flipped, offsets mirrored
    other = evaluate(model_path, changed, FAST)
    for name in ("model", "bernoulli", "shuffled bars", "retrieval"):
        assert np.array_equal(other.examples[name], evaluation.examples[name]), name
        assert other.row(name).nn_hamming == evaluation.row(name).nn_hamming
    assert np.array_equal(other.dynamics_sets["model"], evaluation.dynamics_sets["model"])


def test_grid_mismatch_is_a_clear_error(model_path):
    with pytest.raises(ValueError, match="grid"):
        evaluate(model_path, synthetic_dataset(Grid(4, 4, 2)), FAST)


def test_cli_writes_the_report_and_prints_the_table(model_path, dataset, tmp_path, capsys):
    data = dataset.save(tmp_path / "data.npz")
    out = tmp_path / "report"
    code = main(
        [
            "evaluate",
            str(model_path),
            "--data",
            str(data),
            "--out",
            str(out),
            "--seed",
            "1",
            "--sweep-levels",
            "3",
            "--sweep-samples",
            "2",
            "--candidates",
            "8",
            "--repeats",
            "2",
            "--diversity-settings",
            "3",
            "--diversity-takes",
            "3",
            "--vary-clips",
            "3",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    for word in ("1-NN acc", "Frechet", "bernoulli", "shuffled bars", "retrieval", "density", "raw"):
        assert word in printed
    assert "vel ov" in printed and "accent r kick" in printed
    assert "takes at one fixed setting" in printed and "near-dup %" in printed and "made / real" in printed
    for name in (
        "diversity.png",
        "README.md",
        "metrics.json",
        "piano_rolls.png",
        "descriptors.png",
        "dynamics.png",
        "control.png",
    ):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "metrics.json").read_text())["config"]["seed"] == 1


def test_cli_reports_bad_input_without_writing(model_path, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    out = tmp_path / "report"
    assert main(["evaluate", str(model_path), "--data", str(bad), "--out", str(out)]) == 2
    assert "not a readable dataset" in capsys.readouterr().err
    assert main(["evaluate", str(model_path), "--data", str(bad), "--out", str(out), "--samples", "1"]) == 2
    assert not out.exists()


def test_repeats_average_fresh_reference_and_generated_sets(model_path, dataset, evaluation):
    single = evaluate(
        model_path,
        dataset,
        EvalConfig(
            seed=3, repeats=1, search=False, sweep_levels=3, sweep_samples=2, diversity=SMALL_DIVERSITY
        ),
    )
    model, first = evaluation.row("model"), single.row("model")
    assert model.repeats == FAST.repeats and first.repeats == 1
    assert set(model.sd) == {"one_nn", "frechet"} and not first.sd
    # repeat 0 is the same draw whatever the number of repeats: the plotted examples agree
    assert np.array_equal(single.examples["model"], evaluation.examples["model"])
    # the held-out sets are redrawn too (another window per source), so "real" has a spread of its own
    assert evaluation.row("real").repeats == FAST.repeats and set(evaluation.row("real").sd) == {
        "one_nn",
        "frechet",
    }


def test_dynamics_rows_compare_every_test_window_with_floors_and_the_model(dataset, evaluation):
    rows = {d.name: d for d in evaluation.dynamics}
    assert list(rows) == ["reference", "train", "real", "model"]
    test_hits = int(dataset.of_split("test").patterns[:, 0].sum())
    assert rows["reference"].hits == test_hits and rows["reference"].velocity_overlap == pytest.approx(1.0)
    assert rows["model"].repeats == FAST.repeats and "velocity_overlap" in rows["model"].sd
    # real grooves of the same making match each other; the random tiny model's velocities do not
    assert rows["train"].velocity_overlap > 0.9 and rows["real"].offset_overlap > 0.85
    assert rows["model"].velocity_overlap < rows["train"].velocity_overlap - 0.1
    assert len(evaluation.dynamics_sets["model"]) == len(dataset.of_split("test"))
    saved = json.loads(json.dumps(evaluation.to_dict()))["dynamics"]
    assert [d["name"] for d in saved] == list(rows)


def test_diversity_and_vary_sections(evaluation):
    assert [r.path for r in evaluation.diversity.rows] == ["real", "raw", "search"]
    assert evaluation.diversity.row("raw").repeats == FAST.repeats
    assert evaluation.vary.amounts == (0.05, 0.2, 0.5, 1.0) and evaluation.vary.repeats == FAST.repeats
    assert set(evaluation.vary.median) == {"real", "made"}
    saved = json.loads(json.dumps(evaluation.to_dict()))
    assert saved["diversity"]["rows"][1]["path"] == "raw" and len(saved["vary"]["ratio"]) == 4
    assert saved["config"]["diversity"]["settings"] == SMALL_DIVERSITY.settings
