"""Quantile normaliser: raw descriptor values <-> 0..1 sliders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.core.normaliser import QuantileNormaliser


def fitted() -> QuantileNormaliser:
    rng = np.random.default_rng(0)
    values = np.stack([np.arange(1001, dtype=float), rng.normal(5, 2, 1001)], axis=1)  # [N, 2]
    return QuantileNormaliser.fit(values, ("uniform", "normal"))


def test_half_is_the_median_and_ends_clamp():
    norm = fitted()
    assert norm.transform(np.array([[500.0, 0.0]]))[0, 0] == pytest.approx(0.5)
    assert norm.transform(np.array([[250.0, 0.0]]))[0, 0] == pytest.approx(0.25)
    out = norm.transform(np.array([[-5.0, -100.0], [5000.0, 100.0]]))
    assert out.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert norm.inverse(np.array([[0.5, 0.5]]))[0, 0] == pytest.approx(500.0)


def test_inverse_undoes_transform():
    norm = fitted()
    raw = np.array([[10.0, 3.0], [700.0, 6.5], [999.0, 8.0]])
    np.testing.assert_allclose(norm.inverse(norm.transform(raw)), raw, rtol=1e-4, atol=1e-3)
    sliders = np.linspace(0, 1, 11)[:, None].repeat(2, axis=1)
    np.testing.assert_allclose(norm.transform(norm.inverse(sliders)), sliders, atol=1e-5)


def test_ties_map_to_the_middle_of_their_span():
    values = np.array([0.0] * 40 + list(np.linspace(1, 2, 60)))[:, None]  # 40% of the data is exactly 0
    norm = QuantileNormaliser.fit(values, ("density",))
    zero = float(norm.transform(np.array([[0.0]]))[0, 0])
    assert zero == pytest.approx(0.2, abs=0.01)  # not 0 and not 0.4: the middle of the tie
    assert float(norm.transform(np.array([[2.0]]))[0, 0]) == 1.0
    constant = QuantileNormaliser.fit(np.full((10, 1), 3.0), ("symmetry",))
    assert constant.transform(np.array([[3.0]]))[0, 0] == pytest.approx(0.5)


def test_json_round_trip():
    norm = fitted()
    again = QuantileNormaliser.from_json(norm.to_json())
    assert again.names == norm.names
    np.testing.assert_allclose(again.quantiles, norm.quantiles)
    probe = np.array([[123.0, 4.2]])
    np.testing.assert_allclose(again.transform(probe), norm.transform(probe))
    assert set(json.loads(norm.to_json())) == {"probs", "quantiles"}
    assert norm.subset(["normal"]).names == ("normal",)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: QuantileNormaliser.fit(np.zeros((0, 1)), ("a",)), r"shape \[N>0, 1\]"),
        (lambda: QuantileNormaliser.fit(np.array([[np.nan]]), ("a",)), "finite"),
        (lambda: QuantileNormaliser(("a",), np.array([[2.0, 1.0]]), np.array([0.0, 1.0])), "non-decreasing"),
        (
            lambda: QuantileNormaliser(("a",), np.array([[1.0, 2.0]]), np.array([0.5, 0.5])),
            "increase strictly",
        ),
        (lambda: QuantileNormaliser.from_json('{"probs": [0, 1]}'), "'probs' and 'quantiles'"),
        (lambda: QuantileNormaliser.from_json("[]"), "'probs' and 'quantiles'"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_extrapolate_mirrors_beyond_the_ends_and_keeps_the_inside():
    norm = QuantileNormaliser(("swing",), np.array([[0.0, 0.1, 0.4]]), np.array([0.0, 0.5, 1.0]))
    raw = np.array([[-0.1], [-0.05], [0.0], [0.05], [0.4], [0.7], [-2.0]])
    got = norm.transform(raw, extrapolate=True)[:, 0]
    # below 0 (straight): minus the slider of the mirrored value; above the top: 2 - its mirror's slider
    np.testing.assert_allclose(got, [-0.5, -0.25, 0.0, 0.25, 1.0, 1.5, -1.0], atol=1e-6)
    np.testing.assert_allclose(norm.transform(raw)[:, 0], [0, 0, 0, 0.25, 1, 1, 0], atol=1e-6)  # clamped
    assert np.all(np.diff(norm.transform(np.linspace(-1, 1, 41)[:, None], extrapolate=True)[:, 0]) >= 0)
