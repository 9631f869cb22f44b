"""Drawing patterns from a real ONNX generator, and requests from the training split."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.descriptors import DESCRIPTOR_INDEX, describe_batch
from companion.core.pattern import HIT, VELOCITY, Grid
from companion.runtime.model import ModelError
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import tiny_meta, write_tiny_model
from training.evaluation.sampling import (
    OnnxGenerator,
    condition_values,
    draw_requests,
    style_frequencies,
    style_indices,
)

GRID = Grid(4, 4, 4)


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> OnnxGenerator:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    write_tiny_model(path, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock"))
    return OnnxGenerator(path)


@pytest.fixture(scope="module")
def train():
    return synthetic_dataset(GRID).of_split("train")


def test_generator_reads_metadata_and_produces_decoded_patterns(generator):
    assert generator.meta.condition_names == ("density", "syncopation")
    assert generator.grid == GRID
    cond = np.full((5, 2), 0.5, dtype=np.float32)
    out = generator.sample(cond, np.array([0, 1, 0, 1, 0]), np.random.default_rng(0))
    assert out.shape == (5, 3, 9, GRID.n_steps)
    assert set(np.unique(out[:, HIT]).tolist()) <= {0.0, 1.0}
    assert np.all(out[:, VELOCITY][out[:, HIT] == 0] == 0)


def test_sampling_is_deterministic_under_a_seed_and_varies_without(generator):
    cond = np.full((4, 2), 0.5, dtype=np.float32)
    style = np.zeros(4, dtype=np.int64)
    a = generator.sample(cond, style, np.random.default_rng(7))
    b = generator.sample(cond, style, np.random.default_rng(7))
    c = generator.sample(cond, style, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_batches_larger_than_one_call_match_row_by_row(generator):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((1500, 8)).astype(np.float32)
    cond = rng.random((1500, 2)).astype(np.float32)
    style = rng.integers(0, 2, 1500)
    whole = generator.run(z, cond, style)
    assert np.allclose(
        whole[1400:1403], generator.run(z[1400:1403], cond[1400:1403], style[1400:1403]), atol=1e-6
    )


def test_first_condition_controls_density_of_the_tiny_model(generator):
    # the tiny model's first condition raises every hit logit: more density requested -> more hits
    z = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float32)
    low = generator.patterns(z, np.tile([[0.0, 0.5]], (64, 1)), np.zeros(64))
    high = generator.patterns(z, np.tile([[1.0, 0.5]], (64, 1)), np.zeros(64))
    assert high[:, HIT].sum() > 2 * low[:, HIT].sum()


def test_style_is_required_for_a_model_with_styles(generator):
    with pytest.raises(ValueError, match="style"):
        generator.run(np.zeros((1, 8)), np.zeros((1, 2)), None)


def test_corrupt_and_metadata_free_files_are_rejected(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        OnnxGenerator(bad)
    import onnx

    path = write_tiny_model(tmp_path / "ok.onnx", grid=GRID)
    model = onnx.load(path)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "plain.onnx")
    with pytest.raises(ModelError, match="has no 'nudge' entry"):
        OnnxGenerator(tmp_path / "plain.onnx")


def test_condition_values_are_the_model_normalised_descriptors(train):
    meta = tiny_meta(grid=GRID, conditions=("syncopation", "density"))
    values = condition_values(train, meta)
    raw = describe_batch(train.patterns, GRID)
    expected = meta.normaliser().transform(
        raw[:, [DESCRIPTOR_INDEX["syncopation"], DESCRIPTOR_INDEX["density"]]]
    )
    assert values.shape == (len(train), 2)
    assert np.allclose(values, expected)


def test_extra_conditions_come_from_the_dataset_and_unknown_ones_fail(train):
    data = synthetic_dataset(GRID).of_split("train")
    data.extra_conditions["danceability"] = np.linspace(0, 1, len(data)).astype(np.float32)
    meta = tiny_meta(grid=GRID, conditions=("density", "danceability"))
    assert np.allclose(condition_values(data, meta)[:, 1], data.extra_conditions["danceability"])
    with pytest.raises(ValueError, match="cond_groove"):
        condition_values(train, tiny_meta(grid=GRID, conditions=("groove",)))


def test_requests_follow_training_windows_and_style_frequencies(train):
    meta = tiny_meta(grid=GRID, styles=("funk", "rock", "jazz"))
    freq = style_frequencies(train, meta)
    assert freq[2] == 0 and freq.sum() == pytest.approx(1.0)
    requests = draw_requests(train, meta, 500, np.random.default_rng(0))
    assert requests.cond.shape == (500, 2)
    assert set(requests.style.tolist()) == {0, 1}  # no jazz in the training windows
    allowed = {tuple(row) for row in condition_values(train, meta).round(6).tolist()}
    assert all(tuple(row) in allowed for row in requests.cond.round(6).tolist())


def test_styles_the_model_lacks_are_drawn_by_frequency(train):
    meta = tiny_meta(grid=GRID, styles=("rock",))
    assert np.all(style_indices(train, meta)[train.style == "funk"] == -1)
    requests = draw_requests(train, meta, 50, np.random.default_rng(0))
    assert np.all(requests.style == 0)
    no_styles = draw_requests(train, tiny_meta(grid=GRID, styles=()), 5, np.random.default_rng(0))
    assert no_styles.style is None
