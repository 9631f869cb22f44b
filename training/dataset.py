"""The rhythm dataset: windows of patterns with labels, stored as one .npz.

Every ingest (MIDI corpora, Spotify analyses) writes this format; ``fit`` and ``evaluate`` read it.

npz keys:
- ``hits`` uint8 [N, V, T], ``velocities`` float16 [N, V, T], ``offsets`` float16 [N, V, T]
- ``style``, ``split``, ``source``, ``beat_type`` str [N]; ``bpm`` float32 [N]; ``start_bar`` int32 [N]
- ``cond_<name>`` float32 [N]: optional extra per-window conditions (e.g. Spotify's danceability, 0..1)
- ``meta`` str: JSON with ``grid`` (steps_per_beat, beats_per_bar, bars), ``voices``, ``source``,
  ``licence`` and the ingest summary.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import N_VOICES, VOICES
from companion.core.errors import DataError
from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class _Rule:
    text: str  # the allowed range, as the error says it
    test: Any  # float64 array -> bool array


VALUE_RULES: dict[str, _Rule] = {  # array -> its allowed values (NaN and inf are refused everywhere)
    "hits": _Rule("0 or 1", lambda v: (v == 0) | (v == 1)),
    "velocities": _Rule("in 0..1", lambda v: (v >= 0) & (v <= 1)),
    "offsets": _Rule(
        f"in -{MAX_OFFSET_STEPS}..{MAX_OFFSET_STEPS} steps", lambda v: np.abs(v) <= MAX_OFFSET_STEPS
    ),
    "bpm": _Rule("a tempo > 0", lambda v: v > 0),
    "cond_": _Rule("in 0..1", lambda v: (v >= 0) & (v <= 1)),
}
LABELS = ("style", "split", "source", "beat_type")


class DatasetError(DataError):
    """A dataset file is missing, malformed or inconsistent."""


@dataclass
class RhythmDataset:
    grid: Grid
    patterns: np.ndarray  # float32 [N, 3, V, T]: hit 0/1, velocity 0..1, offset in steps
    style: np.ndarray  # str [N]
    split: np.ndarray  # str [N], one of SPLITS
    source: np.ndarray  # str [N], source file or track id
    beat_type: np.ndarray  # str [N]: "beat", "fill" or ""
    bpm: np.ndarray  # float32 [N]
    start_bar: np.ndarray  # int32 [N]: the window's first bar within its source
    extra_conditions: dict[str, np.ndarray] = field(default_factory=dict)  # name -> float32 [N], 0..1
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.patterns)
        expected = (n, 3, N_VOICES, self.grid.n_steps)
        if self.patterns.shape != expected:
            raise DatasetError(f"patterns must have shape {expected}, got {self.patterns.shape}")
        for name in (*LABELS, "bpm", "start_bar"):
            if len(getattr(self, name)) != n:
                raise DatasetError(f"{name} must have {n} entries, got {len(getattr(self, name))}")
        for name, values in self.extra_conditions.items():
            if len(values) != n:
                raise DatasetError(f"cond_{name} must have {n} entries, got {len(values)}")
        bad = sorted(set(self.split.tolist()) - set(SPLITS))
        if bad:
            raise DatasetError(f"split has unknown values {bad}; allowed: {list(SPLITS)}")
        self._check_values()

    def _check_values(self) -> None:
        """Every value in its range (the checks the data tables of ``VALUE_RULES`` name), NaN nowhere."""
        planes = {"hits": self.patterns[:, HIT], "velocities": self.patterns[:, VELOCITY]}
        planes["offsets"] = self.patterns[:, OFFSET]
        arrays = {**planes, "bpm": self.bpm, **{f"cond_{k}": v for k, v in self.extra_conditions.items()}}
        for name, values in arrays.items():
            rule = VALUE_RULES["cond_" if name.startswith("cond_") else name]
            values = np.asarray(values)  # checked in its own dtype: no float64 copy of the planes
            ok = np.isfinite(values) & rule.test(values)
            if not ok.all():
                row = int(np.unravel_index(int(np.argmin(ok)), ok.shape)[0])
                raise DatasetError(f"{name} must be {rule.text}; row {row} has {values[row]!r:.60}")

    def __len__(self) -> int:
        return len(self.patterns)

    @property
    def styles(self) -> list[str]:
        """Sorted distinct non-empty style labels."""
        return sorted({s for s in self.style.tolist() if s})

    def select(self, mask: np.ndarray) -> RhythmDataset:
        mask = np.asarray(mask)
        return RhythmDataset(
            grid=self.grid,
            patterns=self.patterns[mask],
            style=self.style[mask],
            split=self.split[mask],
            source=self.source[mask],
            beat_type=self.beat_type[mask],
            bpm=self.bpm[mask],
            start_bar=self.start_bar[mask],
            extra_conditions={k: v[mask] for k, v in self.extra_conditions.items()},
            meta=dict(self.meta),
        )

    def of_split(self, *splits: str) -> RhythmDataset:
        return self.select(np.isin(self.split, splits))

    def save(self, path: str | os.PathLike) -> Path:
        meta = {**self.meta, "grid": _grid_dict(self.grid), "voices": list(VOICES)}
        arrays = {
            "hits": self.patterns[:, HIT].astype(np.uint8),
            "velocities": self.patterns[:, VELOCITY].astype(np.float16),
            "offsets": self.patterns[:, OFFSET].astype(np.float16),
            "bpm": self.bpm.astype(np.float32),
            "start_bar": self.start_bar.astype(np.int32),
            "meta": np.array(json.dumps(meta)),
            **{name: np.asarray(getattr(self, name), dtype=str) for name in LABELS},
            **{f"cond_{k}": v.astype(np.float32) for k, v in self.extra_conditions.items()},
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> RhythmDataset:
        try:
            with np.load(os.fspath(path), allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise DatasetError(f"{path}: not a readable dataset .npz ({error})") from error
        missing = sorted({"hits", "velocities", "offsets", "bpm", "start_bar", "meta", *LABELS} - set(arrays))
        if missing:
            raise DatasetError(f"{path}: dataset is missing {missing}")
        try:
            meta = json.loads(str(arrays["meta"]))
            grid = Grid(**meta["grid"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise DatasetError(f"{path}: dataset meta is malformed ({error})") from error
        if meta.get("voices") != list(VOICES):
            raise DatasetError(f"{path}: dataset voices {meta.get('voices')} differ from {list(VOICES)}")
        shapes = {key: arrays[key].shape for key in ("hits", "velocities", "offsets")}
        if len(set(shapes.values())) != 1 or len(shapes["hits"]) != 3:
            raise DatasetError(
                f"{path}: hits, velocities and offsets must share one [N, V, T] shape, got {shapes}"
            )
        patterns = np.stack(
            [
                arrays["hits"].astype(np.float32),
                arrays["velocities"].astype(np.float32),
                arrays["offsets"].astype(np.float32),
            ],
            axis=1,
        )  # [N, 3, V, T]
        try:
            return cls(
                grid=grid,
                patterns=patterns,
                **{name: arrays[name].astype(str) for name in LABELS},
                bpm=arrays["bpm"],
                start_bar=arrays["start_bar"],
                extra_conditions={k[5:]: v for k, v in arrays.items() if k.startswith("cond_")},
                meta=meta,
            )
        except DatasetError as error:
            raise DatasetError(f"{path}: {error}") from None


def _grid_dict(grid: Grid) -> dict[str, int]:
    return {"steps_per_beat": grid.steps_per_beat, "beats_per_bar": grid.beats_per_bar, "bars": grid.bars}
