"""The fill-vs-beat classifier that measures Fill: learnt from train bars, balanced, numpy only."""

from __future__ import annotations

import numpy as np

from tests.support.tools_data import make_tools_data
from training.evaluation.fill_classifier import bar_features, every_bar, fit_fill_classifier, last_bars


def test_it_tells_fills_from_beats_on_held_out_bars():
    beats, fills = make_tools_data()
    classifier = fit_fill_classifier(
        fills.of_split("train").patterns, every_bar(beats.of_split("train").patterns, 16)
    )
    test_beats = every_bar(beats.of_split("test").patterns, 16)
    assert classifier.balanced_accuracy(fills.of_split("test").patterns, test_beats) >= 0.9
    p = classifier.probability(test_beats)
    assert p.shape == (len(test_beats),) and np.all((p >= 0) & (p <= 1))


def test_bars_and_features():
    beats, _ = make_tools_data()
    windows = beats.patterns[:3]  # [3, 3, 9, 32]: two bars each
    bars = every_bar(windows, 16)
    assert bars.shape == (6, 3, 9, 16)
    np.testing.assert_array_equal(bars[1], windows[0, ..., 16:])
    np.testing.assert_array_equal(last_bars(windows, 16), windows[..., 16:])
    assert bar_features(bars).shape == (6, 9 * 16 + 9 + 9 + 16 + 3)
