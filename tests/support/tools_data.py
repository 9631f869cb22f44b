"""Small synthetic data for the tools: beat windows and one-bar fills named as the Groove MIDI Dataset names
its files (so fills pair with the beats of their session, style and tempo), and a tiny generator to start
the tools from."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.pattern import Grid
from tests.support.rhythm_data import TINY_MODEL_CONFIG
from training.dataset import RhythmDataset

GRID = Grid(4, 4, 2)
SESSIONS = {
    "train": ("drummer1/session1", 6),
    "validation": ("drummer2/session1", 3),
    "test": ("drummer3/eval", 3),
}


def _beats(rng: np.random.Generator, n: int, style: str, grid: Grid) -> np.ndarray:
    t = np.arange(grid.n_steps)
    out = np.zeros((n, 3, N_VOICES, grid.n_steps), np.float32)
    for i in range(n):
        hits = np.zeros((N_VOICES, grid.n_steps), bool)
        hits[VOICE_INDEX["kick"]] = t % 8 == 0
        hits[VOICE_INDEX["snare"]] = t % 8 == 4
        hits[VOICE_INDEX["closed_hat"]] = t % (2 if style == "rock" else 1) == 0
        hits ^= rng.random(hits.shape) < 0.04
        out[i, 0] = hits
        out[i, 1] = hits * rng.uniform(0.3, 1.0, hits.shape)
        out[i, 2] = hits * rng.uniform(-0.2, 0.2, hits.shape)
    return out


def _fills(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    out = np.zeros((n, 3, N_VOICES, steps), np.float32)
    for i in range(n):
        hits = np.zeros((N_VOICES, steps), bool)
        for k, voice in enumerate(("snare", "high_tom", "mid_tom", "low_tom")):
            hits[VOICE_INDEX[voice], 4 * k : 4 * k + 4] = rng.random(4) < 0.8
        out[i, 0] = hits
        out[i, 1] = hits * rng.uniform(0.5, 1.0, hits.shape)
    return out


def make_tools_data(seed: int = 0, grid: Grid = GRID) -> tuple[RhythmDataset, RhythmDataset]:
    """(beats: ``grid`` windows, 3 per recording; fills: one bar each), every split."""
    rng = np.random.default_rng(seed)
    beat_rows, fill_rows = [], []
    for split, (session, count) in SESSIONS.items():
        for i in range(count):
            style = ("rock", "funk")[i % 2]
            for w in range(3):
                beat_rows.append((split, f"{session}/{2 * i}_{style}_110_beat_4-4.mid", style, w))
            fill_rows.append((split, f"{session}/{2 * i + 1}_{style}_110_fill_4-4.mid", style, 0))
    beats = _dataset(beat_rows, np.concatenate([_beats(rng, 1, r[2], grid) for r in beat_rows]), grid)
    fills = _dataset(fill_rows, _fills(rng, len(fill_rows), grid.steps_per_bar), grid.with_bars(1))
    return beats, fills


def _dataset(rows: list[tuple[str, str, str, int]], patterns: np.ndarray, grid: Grid) -> RhythmDataset:
    n = len(rows)
    return RhythmDataset(
        grid=grid,
        patterns=patterns,
        style=np.array([r[2] for r in rows]),
        split=np.array([r[0] for r in rows]),
        source=np.array([r[1] for r in rows]),
        beat_type=np.array(["fill" if "_fill_" in r[1] else "beat" for r in rows]),
        bpm=np.full(n, 110.0, np.float32),
        start_bar=np.array([r[3] for r in rows], np.int32),
        meta={"source": "synthetic tools data", "licence": "none"},
    )


def write_tools_data(folder: str | os.PathLike) -> tuple[Path, Path]:
    beats, fills = make_tools_data()
    folder = Path(folder)
    return beats.save(folder / "beats.npz"), fills.save(folder / "fills.npz")


def tiny_base(folder: str | os.PathLike, data: Path, steps: int = 2) -> Path:
    """A tiny generator trained for a few steps on ``data`` -> its ``last.pt``."""
    from training.fitting.config import TrainConfig
    from training.fitting.train import train

    config = TrainConfig(data=str(data), out=str(Path(folder) / "base"), steps=steps, **TINY_MODEL_CONFIG)
    return train(config).last
