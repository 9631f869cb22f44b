"""The Groove head's calibration maps what the head plays onto what drummers play, keeping its order."""

from __future__ import annotations

import numpy as np
import torch

from companion.runtime.tools_model import TASKS
from tests.support.rhythm_data import TINY_ARCH, TINY_GRID
from training.fitting.config import TrainConfig
from training.fitting.model import build_models
from training.tools.calibrate import calibrate_groove
from training.tools.model import ToolsGenerator


def _beats(n: int, t: int) -> torch.Tensor:
    rng = np.random.default_rng(3)
    hits = rng.random((n, 9, t)) < 0.4
    velocity = hits * rng.beta(2, 5, hits.shape)  # drummers: mostly soft, a long tail of loud hits
    offset = hits * np.clip(rng.normal(0.05, 0.12, hits.shape), -0.5, 0.5)
    return torch.from_numpy(np.stack([hits, velocity, offset], axis=1).astype(np.float32))


def test_calibration_gives_the_drummers_distribution_and_keeps_the_heads_order():
    torch.manual_seed(0)
    G, _ = build_models(TrainConfig(**TINY_ARCH), 3, 2, 9, TINY_GRID)
    tools = ToolsGenerator(G, len(TASKS), enc_hidden=16, enc_dim=8, groove_hidden=16)
    beats = _beats(2000, TINY_GRID.n_steps)
    hits = beats[:, 0]
    with torch.no_grad():
        before = tools.groove_planes(hits)
        torch.testing.assert_close(before, tools.groove_planes(hits, calibrated=False))  # identity at first
    assert calibrate_groove(tools, beats) == {"velocity": 9, "offset": 9}
    with torch.no_grad():
        after = tools.groove_planes(hits)
    at = hits > 0.5
    for plane in (0, 1):
        mine, drummers = after[:, plane][at].numpy(), beats[:, plane + 1][at].numpy()
        q = np.linspace(0.05, 0.95, 10)
        np.testing.assert_allclose(np.quantile(mine, q), np.quantile(drummers, q), atol=0.02)
        raw = before[:, plane][at].numpy()
        assert np.abs(np.quantile(raw, q) - np.quantile(drummers, q)).max() > 0.05  # not so before
        for voice in range(9):  # the map is monotone per voice: the head's order within a voice is kept
            a, b = before[:, plane, voice][at[:, voice]].numpy(), after[:, plane, voice][at[:, voice]].numpy()
            order = np.argsort(a, kind="stable")
            assert (np.diff(b[order]) >= -1e-6).all()
