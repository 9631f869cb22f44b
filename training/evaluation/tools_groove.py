"""Groove in ``nudge-train evaluate-tools``: the test windows' hits as a programmed beat (every hit at
velocity 100, on the grid), humanised by the model and by its baselines, compared hit by hit with what the
drummer really played.

Rows: the model (``tools.groove``, amount 1), the plain generator's search (the fallback), a groove template
(per voice and 16th position of the bar, the mean velocity and offset of the train split's hits: what a
DAW's groove template does, and the best a context-free per-position rule can do for squared error), and a
random humaniser (velocity 100 plus Gaussian noise, offset Gaussian noise, each with the spread of the
train split's hits).
"""

from __future__ import annotations

import numpy as np

from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Pattern
from companion.runtime import tools
from training.evaluation.dynamics import OFFSET_BINS, VELOCITY_BINS, histogram_overlap, hit_values

STIFF_VELOCITY = 100 / 127


def stiff(clip: np.ndarray) -> np.ndarray:
    """A clip [3, V, T] as a programmed beat: the same hits, every one at velocity 100, on the grid."""
    hits = clip[HIT] > 0.5
    return np.stack([hits, hits * STIFF_VELOCITY, np.zeros_like(clip[OFFSET])]).astype(np.float32)


def template(train: np.ndarray, steps_per_bar: int) -> np.ndarray:
    """[2, V, S]: the mean velocity and offset of the train hits per voice and position in the bar."""
    n, _, v, _ = train.shape
    hits = (train[:, HIT] > 0.5).reshape(n, v, -1, steps_per_bar)
    counts = np.maximum(hits.sum(axis=(0, 2)), 1)
    return np.stack(
        [(train[:, p].reshape(hits.shape) * hits).sum(axis=(0, 2)) / counts for p in (VELOCITY, OFFSET)]
    )


def dynamics_figures(patterns: np.ndarray, clips: np.ndarray) -> dict[str, float]:
    """Groove's figures of outputs [N, 3, V, T] against the drummer's own playing of the same hits."""
    hits = clips[:, HIT] > 0.5
    out_hits = patterns[:, HIT] > 0.5
    (v, o), (rv, ro) = hit_values(patterns), hit_values(clips)
    rs: dict[int, list[float]] = {VELOCITY: [], OFFSET: []}
    for out, real in zip(patterns, clips, strict=True):
        h = real[HIT] > 0.5
        for plane, store in rs.items():
            x, y = out[plane][h], real[plane][h]
            if len(x) >= 3 and x.std() > 1e-9 and y.std() > 1e-9:
                store.append(float(np.corrcoef(x, y)[0, 1]))
    both = out_hits & hits
    return {
        "hits_kept": float((out_hits == hits).all(axis=(1, 2)).mean()),
        "velocity_overlap": histogram_overlap(v, rv, VELOCITY_BINS),
        "offset_overlap": histogram_overlap(o, ro, OFFSET_BINS),
        "velocity_r": float(np.mean(rs[VELOCITY])) if rs[VELOCITY] else float("nan"),
        "offset_r": float(np.mean(rs[OFFSET])) if rs[OFFSET] else float("nan"),
        "velocity_mae": float(np.abs(patterns[:, VELOCITY] - clips[:, VELOCITY])[both].mean() * 127),
        "offset_mae": float(np.abs(patterns[:, OFFSET] - clips[:, OFFSET])[both].mean()),
    }


def groove_rows(tasks, clips: np.ndarray) -> None:
    """One repeat of Groove (``tasks``: the ``tools_rows.Tasks`` of the run)."""
    ctx, grid = tasks.ctx, tasks.grid
    inputs = np.stack([stiff(c) for c in clips])
    hits = inputs[:, HIT] > 0.5
    train = ctx.train.patterns
    if not hasattr(tasks, "groove_template"):
        tasks.groove_template = template(train, grid.steps_per_bar)
        train_hits = train[:, HIT] > 0.5
        tasks.groove_spread = (train[:, VELOCITY][train_hits].std(), train[:, OFFSET][train_hits].std())
    shape = (1, 1, grid.bars)
    per_cell = np.tile(tasks.groove_template, shape)  # [2, V, T]
    rows = {"groove template": np.stack([hits, hits * per_cell[0], hits * per_cell[1]], axis=1)}
    rng = ctx.rngs["baselines"]
    noise_v = np.clip(STIFF_VELOCITY + rng.normal(0, tasks.groove_spread[0], hits.shape), 1 / 127, 1)
    noise_o = np.clip(rng.normal(0, tasks.groove_spread[1], hits.shape), -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS)
    rows["random humaniser"] = np.stack([hits, hits * noise_v, hits * noise_o], axis=1).astype(np.float32)
    seeds = ctx.seeds(len(clips))
    for name, model in (("model", ctx.model), ("search (plain generator)", ctx.plain)):
        if model is None or (name == "model" and model.tools is None):
            continue
        out = [
            tools.groove(
                model, Pattern.from_array(x, grid, 0.5), 1.0, seed=int(s), n_candidates=ctx.config.candidates
            )
            for x, s in zip(inputs, seeds, strict=True)
        ]
        rows[name] = np.stack([p.to_array() for p in out])
    for name, patterns in rows.items():
        for figure, value in dynamics_figures(patterns.astype(np.float32), clips).items():
            ctx.result.add("groove", name, figure, value)
    ctx.result.examples["groove"] = {"real (the drummer)": clips[:4], **{n: p[:4] for n, p in rows.items()}}
