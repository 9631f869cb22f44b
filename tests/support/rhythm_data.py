"""A small synthetic RhythmDataset for GAN tests: two styles of simple grooves with random variations.

Rows of the ``test`` split are made unmistakable (every cell a hit, style ``test_only``) so a test can tell
whether training ever saw one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.pattern import Grid
from training.dataset import RhythmDataset

TINY_GRID = Grid(4, 4, 2)


def make_rhythm_dataset(
    n_train: int = 64, n_val: int = 16, n_test: int = 16, grid: Grid = TINY_GRID, seed: int = 0
) -> RhythmDataset:
    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    t = grid.n_steps
    steps = np.arange(t)
    patterns = np.zeros((n, 3, N_VOICES, t), dtype=np.float32)
    styles = []
    for i in range(n):
        style = ("rock", "funk")[i % 2]
        hits = np.zeros((N_VOICES, t), dtype=bool)
        hits[VOICE_INDEX["kick"]] = steps % (8 if style == "rock" else 6) == 0
        hits[VOICE_INDEX["snare"]] = steps % 8 == 4
        hits[VOICE_INDEX["closed_hat"]] = steps % (2 if style == "rock" else 1) == 0
        flip = rng.random((N_VOICES, t)) < 0.05
        hits ^= flip
        patterns[i, 0] = hits
        patterns[i, 1] = np.where(hits, rng.uniform(0.3, 1.0, (N_VOICES, t)), 0)
        patterns[i, 2] = np.where(hits, rng.uniform(-0.2, 0.2, (N_VOICES, t)), 0)
        styles.append(style)
    split = np.array(["train"] * n_train + ["validation"] * n_val + ["test"] * n_test)
    styles = np.array(styles)
    test = split == "test"
    patterns[test, 0] = 1.0  # unmistakable: every cell a hit
    patterns[test, 1] = 1.0
    patterns[test, 2] = 0.0
    styles[test] = "test_only"
    return RhythmDataset(
        grid=grid,
        patterns=patterns,
        style=styles,
        split=split,
        source=np.array([f"take{i // 4}.mid" for i in range(n)]),
        beat_type=np.array(["beat"] * n),
        bpm=np.full(n, 110.0, dtype=np.float32),
        start_bar=np.array([i % 4 for i in range(n)], dtype=np.int32),
        meta={"source": "synthetic test grooves", "licence": "none"},
    )


def write_rhythm_dataset(path: str | os.PathLike, **kwargs) -> Path:
    return make_rhythm_dataset(**kwargs).save(path)


# the smallest networks that still train: tests derive their configs from this one
TINY_ARCH = dict(latent_dim=8, style_dim=4, g_hidden=32, bar_dim=16, bar_hidden=32, d_hidden=32)
TINY_MODEL_CONFIG = dict(
    **TINY_ARCH, batch_size=16, progress=False, val_rows=0, conditions=("density", "syncopation")
)


def train_tiny_checkpoint(folder: str | os.PathLike, steps: int = 3, styles: bool = True, **config) -> Path:
    """Train a really tiny GAN on the synthetic grooves for a few steps -> its ``folder/run/last.pt``."""
    from training.fitting.config import TrainConfig
    from training.fitting.train import train

    folder = Path(folder)
    data = write_rhythm_dataset(folder / "tiny.npz")
    options = {**TINY_MODEL_CONFIG, **config}
    result = train(
        TrainConfig(data=str(data), out=str(folder / "run"), steps=steps, styles=styles, **options)
    )
    return result.last


def train_tiny_model(folder: str | os.PathLike, steps: int = 3, styles: bool = True, **config) -> Path:
    """``train_tiny_checkpoint``, exported -> ``folder/tiny.onnx``.

    For tests downstream of export (daemon, evaluation) that want a genuine exported model: about 2 s on CPU.
    """
    from training.export.export import export_checkpoint

    checkpoint = train_tiny_checkpoint(folder, steps, styles, **config)
    return export_checkpoint(checkpoint, Path(folder) / "tiny.onnx").path
