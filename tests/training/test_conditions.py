import numpy as np
import pytest

from companion.core.descriptors import DESCRIPTOR_INDEX, describe_batch
from companion.core.model_meta import ModelMeta
from tests.support.rhythm_data import make_rhythm_dataset
from training.conditions import ConditionError, ConditionSpace, training_rows


def test_training_rows_are_the_train_split_only():
    data = make_rhythm_dataset(n_train=20, n_val=5, n_test=7)
    rows = training_rows(data)
    assert len(rows) == 20
    assert set(rows.split.tolist()) == {"train"}
    assert "test_only" not in rows.style.tolist()


def test_training_rows_without_train_split_is_an_error():
    data = make_rhythm_dataset(n_train=0, n_val=5, n_test=5)
    with pytest.raises(ConditionError, match="no 'train' rows"):
        training_rows(data)


def test_beat_type_filter():
    data = make_rhythm_dataset(n_train=10, n_val=0, n_test=0)
    data.beat_type[:4] = "fill"
    assert len(training_rows(data, ("fill",))) == 4


def test_fit_refuses_test_rows():
    data = make_rhythm_dataset(n_train=10, n_val=0, n_test=3)
    with pytest.raises(ConditionError, match="training rows only"):
        ConditionSpace.fit(data, ("density",))


def test_quantiles_come_from_train_rows_and_median_maps_to_half():
    data = make_rhythm_dataset(n_train=41, n_val=10, n_test=10)
    train = training_rows(data)
    space = ConditionSpace.fit(train, ("density", "syncopation"))
    raw = describe_batch(train.patterns, train.grid)[:, DESCRIPTOR_INDEX["density"]]
    assert space.normaliser.quantiles[0, 0] == pytest.approx(raw.min())
    assert space.normaliser.quantiles[0, -1] == pytest.approx(
        raw.max()
    )  # test rows (every cell a hit) excluded
    cond, style = space.encode(train)
    assert cond.shape == (41, 2) and cond.dtype == np.float32
    assert cond.min() >= 0 and cond.max() <= 1
    assert abs(np.median(cond[:, 0]) - 0.5) < 0.1
    assert space.styles == ("funk", "rock")
    assert set(style.tolist()) == {0, 1}


def test_unknown_styles_encode_as_minus_one_and_styles_can_be_off():
    data = make_rhythm_dataset(n_train=10, n_val=0, n_test=4)
    space = ConditionSpace.fit(training_rows(data), ("density",))
    _, style = space.encode(data)
    assert (style[data.split == "test"] == -1).all()
    assert ConditionSpace.fit(training_rows(data), ("density",), use_styles=False).styles == ()


def test_extra_conditions_pass_through_and_unknown_names_are_refused():
    data = make_rhythm_dataset(n_train=12, n_val=0, n_test=0)
    data.extra_conditions["danceability"] = np.linspace(0, 1, 12, dtype=np.float32)
    space = ConditionSpace.fit(data, ("danceability", "density"))
    cond, _ = space.encode(data)
    np.testing.assert_allclose(cond[:, 0], np.linspace(0, 1, 12), atol=1e-6)
    assert space.measured == (1,)
    with pytest.raises(ConditionError, match="unknown condition 'groove'"):
        ConditionSpace.fit(data, ("groove",))


def test_round_trip_and_metadata():
    data = make_rhythm_dataset(n_train=16, n_val=0, n_test=0)
    space = ConditionSpace.fit(data, ("density", "swing"))
    again = ConditionSpace.from_dict(space.to_dict())
    assert again.names == space.names and again.styles == space.styles
    np.testing.assert_array_equal(again.normaliser.quantiles, space.normaliser.quantiles)
    metas = space.condition_metas()
    assert [m.name for m in metas] == ["density", "swing"]
    assert metas[0].unit == "hits/bar" and metas[0].default == 0.5
    assert len(metas[0].quantiles) == len(space.normaliser.probs)
    assert np.all(space.scales() > 0)
    # the metas pass the daemon's schema check
    from tests.support.tiny_onnx import tiny_meta

    meta = tiny_meta()
    data_dict = meta.to_dict()
    data_dict["conditions"] = [
        {
            "name": m.name,
            "description": m.description,
            "quantiles": list(m.quantiles),
            "default": m.default,
            "unit": m.unit,
        }
        for m in metas
    ]
    data_dict["quantile_probs"] = [float(p) for p in space.normaliser.probs]
    assert ModelMeta.from_dict(data_dict).condition_names == ("density", "swing")


def test_swing_zero_is_straight_and_early_off_beats_lie_below_it():
    data = make_rhythm_dataset(n_train=40, n_val=0, n_test=0)
    train = training_rows(data)
    space = ConditionSpace.fit(train, ("density", "swing"))
    raw = describe_batch(train.patterns, train.grid)[:, DESCRIPTOR_INDEX["swing"]]
    assert (raw < 0).any() and (raw > 0).any()  # the fixture plays both early and late off-beats
    table = space.normaliser.quantiles[1]
    assert table[0] == 0.0 and table[-1] == pytest.approx(raw.max())
    assert table[50] == pytest.approx(np.median(raw[raw > 0]))  # 0.5: the median of the swung windows
    cond, _ = space.encode(train)
    assert np.all(cond[raw < 0, 1] < 0) and np.all(cond[raw > 0, 1] > 0)  # early off-beats: below straight
    assert cond[:, 0].min() >= 0  # the other sliders keep 0..1
    # the default is the training median's slider; the description says what both ends mean
    swing = space.condition_metas()[1]
    assert swing.default == pytest.approx(
        float(space.normaliser.transform([[0, np.median(raw)]])[0, 1]), 1e-3
    )
    assert "0 = straight" in swing.description and "1 = strong shuffle" in swing.description
    assert ConditionSpace.from_dict(space.to_dict()).defaults == space.defaults
