"""The Groove head's calibration: what the head plays, mapped onto what drummers play.

The head is trained to guess a drummer's velocity and offset from the whole pattern; a guess is a
conditional mean, so its values bunch towards the middle (a drummer's ghost notes and rim shots, his early
and late hits, are rarer in it than in his playing). Calibration fits, per plane and voice, the monotone map
that sends the head's quantiles on the train split's hits to the drummers' quantiles there (quantile
mapping): the order of the head's values within a voice is kept (their correlation with the drummer's barely
moves) and their distribution becomes the drummers'. It lives in the graph as knots
(``ToolsGenerator.groove_x``, ``groove_y``), so the daemon runs it with the head.
"""

from __future__ import annotations

import numpy as np
import torch

from companion.core.pattern import HIT
from training.tools.model import GROOVE_KNOTS, PLANE_RANGE, ToolsGenerator

MAX_ROWS = 8192  # train windows the calibration reads (a fixed sample: seconds on one CPU thread)
MIN_HITS = 50  # a voice with fewer hits there keeps the identity
BATCH = 1024


@torch.no_grad()
def calibrate_groove(model: ToolsGenerator, beats: torch.Tensor, seed: int = 0) -> dict[str, int]:
    """Fit ``model``'s Groove calibration on train windows ``beats`` [M, 3, V, T] (in place); returns how
    many voices of each plane got a map (the others keep the identity)."""
    rows = torch.randperm(len(beats), generator=torch.Generator().manual_seed(seed))[:MAX_ROWS]
    real = beats[rows]  # [R, 3, V, T]
    was_training = model.training
    model.eval()
    played = torch.cat(
        [model.groove_planes(real[i : i + BATCH, HIT], calibrated=False) for i in range(0, len(real), BATCH)]
    )
    model.train(was_training)
    hits = (real[:, HIT] > 0.5).numpy()  # [R, V, T]
    guess, truth = played.numpy(), real[:, 1:].numpy()  # [R, 2, V, T] each
    q = np.linspace(0.0, 1.0, GROOVE_KNOTS)
    x, y = model.groove_x.clone().numpy(), model.groove_y.clone().numpy()  # [2, V, K]
    fitted = {"velocity": 0, "offset": 0}
    for plane, name in enumerate(fitted):
        lo, hi = PLANE_RANGE[plane]
        for voice in range(model.voices):
            at = hits[:, voice]
            if at.sum() < MIN_HITS:
                x[plane, voice] = y[plane, voice] = np.linspace(lo, hi, GROOVE_KNOTS)
                continue
            xs = np.quantile(guess[:, plane, voice][at], q)
            xs = np.maximum.accumulate(xs + np.arange(GROOVE_KNOTS) * 1e-6)  # strictly rising knots
            x[plane, voice], y[plane, voice] = xs, np.quantile(truth[:, plane, voice][at], q)
            fitted[name] += 1
    model.groove_x.copy_(torch.from_numpy(x))
    model.groove_y.copy_(torch.from_numpy(y))
    return fitted
