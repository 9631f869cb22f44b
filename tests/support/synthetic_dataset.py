"""A small synthetic RhythmDataset with train/validation/test splits, for evaluation tests.

Two "styles" of rock-ish grooves: kick on beats, snare on the backbeat, hats on 8ths (rock) or 16ths (funk),
plus random extra hits, human velocities and small offsets. Several windows per source file.
"""

from __future__ import annotations

import numpy as np

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid
from training.dataset import RhythmDataset

DEFAULT_GRID = Grid(4, 4, 4)


def groove_batch(n: int, grid: Grid, rng: np.random.Generator, styles: np.ndarray) -> np.ndarray:
    """[n, 3, V, T] patterns; ``styles`` [n] of "funk"/"rock"."""
    t = np.arange(grid.n_steps)
    in_bar = t % grid.steps_per_bar
    out = np.zeros((n, 3, N_VOICES, grid.n_steps), dtype=np.float32)
    for i in range(n):
        hits = out[i, HIT]
        hits[VOICE_INDEX["kick"], in_bar % (2 * grid.steps_per_beat) == 0] = 1
        hits[VOICE_INDEX["snare"], in_bar % (2 * grid.steps_per_beat) == grid.steps_per_beat] = 1
        hat_every = 1 if styles[i] == "funk" else 2
        hits[VOICE_INDEX["closed_hat"], t % hat_every == 0] = 1
        extra = rng.random((N_VOICES, grid.n_steps)) < rng.uniform(0.0, 0.08)
        hits[extra] = 1
        drop = rng.random((N_VOICES, grid.n_steps)) < 0.1
        hits[drop] = 0
        out[i, VELOCITY] = hits * rng.uniform(0.3, 1.0, hits.shape)
        out[i, OFFSET] = hits * rng.uniform(-0.2, 0.2, hits.shape)
    return out


def synthetic_dataset(
    grid: Grid = DEFAULT_GRID, seed: int = 0, sources: dict[str, int] | None = None, per_source: int = 3
) -> RhythmDataset:
    rng = np.random.default_rng(seed)
    sources = sources or {"train": 30, "validation": 8, "test": 10}
    split, source, start_bar, style = [], [], [], []
    for name, count in sources.items():
        for s in range(count):
            for w in range(per_source):
                split.append(name)
                source.append(f"{name}/take{s}.mid")
                start_bar.append(w)
                style.append("funk" if s % 2 else "rock")
    n = len(split)
    styles = np.array(style)
    return RhythmDataset(
        grid=grid,
        patterns=groove_batch(n, grid, rng, styles),
        style=styles,
        split=np.array(split),
        source=np.array(source),
        beat_type=np.array(["beat"] * n),
        bpm=np.full(n, 110.0, dtype=np.float32),
        start_bar=np.array(start_bar, dtype=np.int32),
        meta={"source": "synthetic", "licence": "none"},
    )
