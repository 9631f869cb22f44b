"""Model selection for the tools graph: how each task does on validation windows, every ``val_every``
steps, with the inputs the daemon gives (``tasks.inference_inputs``) and fixed latents.

- groove: mean per-clip Pearson r of velocities and of offsets with the drummer's, at his hits; the velocity
  and offset histogram overlaps (``training.evaluation.dynamics``);
- drumify: onset F1 of the merged onsets against the rhythm;
- continue (from two bars): the share of new bars that copy the given ones, and the hit Hamming distance of
  the new bars to what the drummer played;
- fill: the share of last bars the fill classifier (``training.evaluation.fill_classifier``, learnt on the
  train split) calls a fill.

``score`` (lower is better) adds the shortfalls from the issue's targets: 2 - velocity r - offset r, the
overlaps below 0.88 / 0.92, F1 below 0.85 (x 2), a fill share below 0.7, a copy share above 0.2, and the
Hamming distance of the continuation in units of 100 cells.
"""

from __future__ import annotations

import numpy as np
import torch

from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid
from training.conditions import ConditionSpace
from training.dataset import RhythmDataset
from training.evaluation.dynamics import OFFSET_BINS, VELOCITY_BINS, histogram_overlap, hit_values
from training.evaluation.fill_classifier import every_bar, fit_fill_classifier, last_bars
from training.tools.tasks import compose, inference_inputs

VAL_ROWS = 192


def clip_correlations(out: np.ndarray, real: np.ndarray, plane: int) -> np.ndarray:
    """Pearson r [N'] per clip between ``out``'s and ``real``'s values of ``plane`` at ``real``'s hits (clips
    with fewer than 3 hits or a constant plane are left out)."""
    rs = []
    for a, b in zip(out, real, strict=True):
        hits = b[HIT] > 0.5
        x, y = a[plane][hits], b[plane][hits]
        if len(x) >= 3 and x.std() > 1e-9 and y.std() > 1e-9:
            rs.append(float(np.corrcoef(x, y)[0, 1]))
    return np.array(rs)


class ToolsValidation:
    def __init__(
        self, dataset: RhythmDataset, fills: RhythmDataset, space: ConditionSpace, grid: Grid, seed: int
    ):
        val = dataset.of_split("validation")
        rows = np.sort(np.random.default_rng(seed).permutation(len(val))[:VAL_ROWS])
        self.real = torch.from_numpy(val.patterns[rows])  # [M, 3, V, T]
        self.cond = torch.from_numpy(space.encode(val.select(rows))[0])
        self.names, self.n_styles, self.grid = space.names, len(space.styles), grid
        train = dataset.of_split("train")
        beats = every_bar(train.patterns[train.start_bar % grid.bars == 0], grid.steps_per_bar)
        self.classifier = fit_fill_classifier(fills.of_split("train").patterns, beats)
        self.seed = seed

    @torch.no_grad()
    def run(self, G, task: str, threshold: float) -> np.ndarray:
        inputs = inference_inputs(
            task,
            self.real,
            self.cond,
            n_styles=self.n_styles,
            names=self.names,
            steps_per_bar=self.grid.steps_per_bar,
        )
        rng = np.random.default_rng(self.seed + 1)  # the same latents at every validation
        z = torch.from_numpy(rng.standard_normal((len(self.real), G.base.latent_dim)).astype(np.float32))
        raw = G(
            z, inputs.cond, inputs.style, inputs.known, inputs.mask, rhythm=inputs.rhythm, task=inputs.task
        )
        return compose(raw, inputs, threshold, "straight-through").numpy()

    def scores(self, G, threshold: float) -> dict[str, float]:
        real = self.real.numpy()
        spb = self.grid.steps_per_bar
        groove = self.run(G, "groove", threshold)
        vel_r = float(np.mean(clip_correlations(groove, real, VELOCITY)))
        off_r = float(np.mean(clip_correlations(groove, real, OFFSET)))
        (gv, go), (rv, ro) = hit_values(groove), hit_values(real)
        vel_ov, off_ov = histogram_overlap(gv, rv, VELOCITY_BINS), histogram_overlap(go, ro, OFFSET_BINS)
        drums = self.run(G, "drumify", threshold)
        played, onsets = drums[:, HIT].any(axis=1), real[:, HIT].any(axis=1) > 0
        f1 = float(np.mean(2 * (played & onsets).sum(1) / np.maximum(played.sum(1) + onsets.sum(1), 1)))
        cont = self.run(G, "continue", threshold)
        new, before, truth = (
            cont[:, HIT, :, 2 * spb :],
            cont[:, HIT, :, : 2 * spb],
            real[:, HIT, :, 2 * spb :],
        )
        copies = float(np.mean([np.array_equal(a, b) for a, b in zip(new, before, strict=True)]))
        hamming = float(np.mean((new != truth).sum(axis=(1, 2))))
        fill = float(self.classifier.is_fill(last_bars(self.run(G, "fill", threshold), spb)).mean())
        score = (2 - vel_r - off_r) + max(0, 0.88 - vel_ov) + max(0, 0.92 - off_ov) + 2 * max(0, 0.85 - f1)
        score += max(0, 0.7 - fill) + max(0, copies - 0.2) + hamming / 100
        return {
            "val_groove_velocity_r": round(vel_r, 4),
            "val_groove_offset_r": round(off_r, 4),
            "val_groove_velocity_overlap": round(vel_ov, 4),
            "val_groove_offset_overlap": round(off_ov, 4),
            "val_drumify_f1": round(f1, 4),
            "val_continue_copies": round(copies, 4),
            "val_continue_hamming": round(hamming, 2),
            "val_fill_share": round(fill, 4),
            "score": round(score, 5),
        }
