"""What each task gives the tools generator (as the daemon gives it) and what it hides."""

from __future__ import annotations

import numpy as np
import torch

from tests.support.tools_data import make_tools_data
from training.tools.tasks import TASK, compose, inference_inputs, make_inputs

NAMES = ("density", "syncopation", "swing", "microtiming_spread")


def batch(n=64):
    beats, _ = make_tools_data()
    real = torch.from_numpy(beats.patterns[:n])
    cond = torch.rand(len(real), len(NAMES), generator=torch.Generator().manual_seed(0))
    return real, cond


def inputs_for(task, real, cond):
    index = torch.full((len(real),), TASK[task])
    style = torch.zeros(len(real), dtype=torch.int64)
    return make_inputs(
        real,
        cond,
        style,
        index,
        names=NAMES,
        n_styles=2,
        steps_per_bar=16,
        gen=torch.Generator().manual_seed(1),
    )


def test_groove_gives_every_hit_and_rest_and_the_sliders_measured_on_hits():
    real, cond = batch()
    x = inputs_for("groove", real, cond)
    assert bool((x.mask[:, 0] == 1).all()) and bool((x.mask[:, 1] == 0).all())
    torch.testing.assert_close(x.known[:, 0], (real[:, 0] > 0.5).float())
    assert float(x.known[:, 1:].abs().sum()) == 0  # no dynamics given
    assert bool((x.cond[:, 2:] == -1).all()) and bool((x.cond[:, :2] == cond[:, :2]).all())


def test_continue_and_fill_give_whole_bars_and_drumify_the_merged_onsets():
    real, cond = batch()
    x = inputs_for("continue", real, cond)
    given_steps = x.mask[:, 0, 0].sum(dim=1)
    assert set(given_steps.tolist()) <= {16.0, 32.0, 48.0} and bool((x.mask[:, 0] == x.mask[:, 1]).all())
    x = inputs_for("fill", real, cond)
    assert bool((x.mask[:, :, :, :16] == 1).all()) and bool((x.mask[:, :, :, 16:] == 0).all())  # 2-bar grid
    x = inputs_for("drumify", real, cond)
    assert float(x.mask.sum()) == 0
    torch.testing.assert_close(x.rhythm > 0, (real[:, 0] > 0.5).any(dim=1))
    assert bool((x.rhythm <= 1).all())
    x = inputs_for("generate", real, cond)
    torch.testing.assert_close(x.cond, cond)


def test_the_daemons_inputs_hide_the_style_and_the_sliders():
    real, cond = batch(8)
    for task in ("groove", "drumify", "continue", "fill"):
        x = inference_inputs(task, real, cond, n_styles=2, names=NAMES, steps_per_bar=16)
        assert bool((x.style == 2).all()) and int(x.task_index[0]) == TASK[task]
    drums = inference_inputs("drumify", real, cond, n_styles=2, names=NAMES, steps_per_bar=16)
    assert bool((drums.cond == -1).all())


def test_compose_puts_what_is_given_back():
    real, cond = batch(8)
    x = inputs_for("fill", real, cond)
    raw = torch.rand_like(real)
    raw[:, 2] -= 0.5
    out = compose(raw, x, 0.5, "straight-through")
    np.testing.assert_allclose(out[..., :16].numpy(), real[..., :16].numpy(), atol=1e-6)  # the given bar
    hits = out[:, 0] > 0.5
    assert bool((out[:, 1][~hits] == 0).all()) and bool((out[:, 2][~hits] == 0).all())
