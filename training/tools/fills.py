"""Training windows that end in a fill, from the Groove MIDI Dataset's fill recordings.

GMD's fills (647 recordings, mostly one bar) are played on their own, each right after a beat recording of
the same session, style and tempo: the groove the fill belongs to. A fill window is bars 1..B-1 of a window
of such a beat recording followed by a bar of the fill: what the Fill tool is asked to complete (the bars
before given, a fill in the last). Pairs are drawn afresh every step, so each fill is heard after many of
its groove's windows. Only rows of one split are paired (training: ``train``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from training.dataset import RhythmDataset

if TYPE_CHECKING:
    import torch

ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")  # numpy for tests and evaluation, torch in training


def recording_key(source: str) -> tuple[str, str, str]:
    """(session folder, style, bpm) of a GMD file name ``drummer1/session1/103_funk_95_fill_4-4.mid``; a
    name of another shape keys on its folder alone."""
    path = PurePosixPath(source)
    parts = path.stem.split("_")
    if len(parts) >= 5:
        return str(path.parent), parts[1], parts[2]
    return str(path.parent), "", ""


def fill_pairs(beats: RhythmDataset, fills: RhythmDataset, split: str = "train") -> np.ndarray:
    """[P, 2] int64 (fill row, beat row): every fill window of ``split`` with every beat window of ``split``
    from the recording it follows (same session, style and tempo)."""
    by_key: dict[tuple[str, str, str], list[int]] = {}
    for row in np.flatnonzero(beats.split == split):
        by_key.setdefault(recording_key(str(beats.source[row])), []).append(int(row))
    pairs = [
        (int(row), beat)
        for row in np.flatnonzero(fills.split == split)
        for beat in by_key.get(recording_key(str(fills.source[row])), ())
    ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def splice(beat_windows: ArrayT, fill_bars: ArrayT, steps_per_bar: int) -> ArrayT:
    """Beat windows [N, 3, V, B*S] with their last bar replaced by a fill bar [N, 3, V, S] (any array
    library with slicing and ``concatenate``-free assignment: numpy or torch)."""
    out = beat_windows.copy() if isinstance(beat_windows, np.ndarray) else beat_windows.clone()
    out[..., -steps_per_bar:] = fill_bars[..., :steps_per_bar]
    return out
