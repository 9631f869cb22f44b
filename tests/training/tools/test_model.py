"""The tools generator starts as the generator it is made from, and its critic knows the task."""

from __future__ import annotations

import torch

from companion.runtime.tools_model import TASKS
from tests.support.rhythm_data import TINY_ARCH, TINY_GRID
from training.fitting.config import TrainConfig
from training.fitting.model import build_models
from training.tools.model import ToolsCritic, ToolsGenerator

# a one-row critic, as training.tools.model builds it (issue 21's default critic reads its group's spread)
CONFIG = TrainConfig(**TINY_ARCH, pack=1, pack_critic="none", diversity_weight=0.0)


def test_before_training_it_is_the_generator_it_was_made_from():
    torch.manual_seed(0)
    G, D = build_models(CONFIG, 3, 2, 9, TINY_GRID)
    tools = ToolsGenerator(G, len(TASKS), enc_hidden=16, enc_dim=8, groove_hidden=16)
    n, t = 5, TINY_GRID.n_steps
    z, cond, style = torch.randn(n, 8), torch.rand(n, 3), torch.tensor([0, 1, 0, 1, 0])
    known, mask = torch.rand(n, 3, 9, t).round(), torch.rand(n, 2, 9, t).round()
    task = torch.eye(len(TASKS))[torch.tensor([0, 1, 2, 3, 4])]
    with torch.no_grad():
        out, plain = tools(z, cond, style, known, mask, rhythm=torch.rand(n, t), task=task), G(z, cond, style)
        others = [0, 2, 3, 4]  # every task but Groove: its velocities and offsets are the Groove head's
        torch.testing.assert_close(out[others], plain[others])
        torch.testing.assert_close(out[1, 0], plain[1, 0])  # Groove's hit plane: the generator's too
        unknown = tools(
            z, torch.full((n, 3), -1.0), torch.full((n,), 2), known, mask, rhythm=torch.rand(n, t), task=task
        )
    assert unknown.shape == (n, 3, 9, t) and torch.isfinite(unknown).all()
    critic = ToolsCritic(D, len(TASKS)).eval()  # eval: spectral norm's power iteration stands still
    pattern = G(z, cond, style).detach()
    scores = critic(pattern, cond, style, task)
    assert scores.shape == (n,)
    torch.testing.assert_close(
        scores, D(pattern, cond, style), atol=1e-6, rtol=0
    )  # the task's term starts at 0
