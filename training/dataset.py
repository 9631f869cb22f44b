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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
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


EXAMPLES_PER_REASON = 3


@dataclass
class IngestSummary:
    """What one ingest read, used and skipped, whatever the source (MIDI files, Spotify analyses): printed by
    its command and kept in the dataset's metadata (``meta["ingest"]``). A file left out is ``skipped``,
    with its reason, and a few examples per reason. The source-specific tallies stay 0 for the other source.
    """

    files_found: int = 0
    files_used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> files
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few "file: detail"
    windows_per_split: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(SPLITS, 0)))
    sparse_windows: int = 0  # windows with too few hits, left out
    seconds: float = 0.0
    # MIDI files
    windows_per_beat_type: Counter[str] = field(default_factory=Counter)
    dropped_pitches: Counter[int] = field(default_factory=Counter)  # unknown pitch -> notes dropped
    # Spotify analyses
    regular_bars: int = 0
    irregular_bars: int = 0  # other beat counts
    hits_outside_bars: int = 0
    tatums_per_beat: Counter[int] = field(default_factory=Counter)
    features_filled: int = 0  # tracks without audio features, given the median
    warnings: int = 0

    @property
    def windows(self) -> int:
        return sum(self.windows_per_split.values())

    def skip(self, reason: str, example: str) -> None:
        """Count a file left out for ``reason``; ``example`` ("file: detail") is kept for the first few."""
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < EXAMPLES_PER_REASON:
            examples.append(example)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Counter):  # JSON keys are text; numbers (pitches, tatums) in order
                items = sorted(value.items()) if all(isinstance(k, int) for k in value) else value.items()
                value = {str(k): v for k, v in items}
            elif isinstance(value, dict):
                value = {k: list(v) for k, v in value.items()}
            data[item.name] = value
        data["windows"] = self.windows
        data["seconds"] = round(self.seconds, 3)
        return data

    def format(self, reasons: Mapping[str, str] | None = None) -> str:
        """The summary as the ingest commands print it; ``reasons`` explains the reasons' short names."""
        lines = [
            f"files: {self.files_found} found, {self.files_used} used, {sum(self.skipped.values())} skipped"
            f" ({self.seconds:.1f} s)"
        ]
        for reason, count in self.skipped.most_common():
            text = f"{reason}: {reasons[reason]}" if reasons and reason in reasons else reason
            lines.append(f"  skipped {count:5d}  {text}")
            lines.extend(f"           e.g. {example}" for example in self.examples.get(reason, []))
        splits = ", ".join(f"{split} {n}" for split, n in self.windows_per_split.items())
        lines.append(f"windows: {self.windows} ({splits})")
        if self.windows_per_beat_type:
            beat_types = ", ".join(f"{k} {v}" for k, v in sorted(self.windows_per_beat_type.items()))
            lines.append(f"  by beat type: {beat_types}")
        lines.append(f"windows left out for too few hits: {self.sparse_windows}")
        if self.dropped_pitches:
            top = ", ".join(f"{pitch}: {n}" for pitch, n in self.dropped_pitches.most_common(8))
            lines.append(f"notes dropped for unknown pitches: {sum(self.dropped_pitches.values())} ({top})")
        if self.regular_bars or self.irregular_bars:
            lines.append(
                f"bars: {self.regular_bars} regular, {self.irregular_bars} irregular (other beat counts)"
            )
            tatums = ", ".join(f"{k}: {v}" for k, v in sorted(self.tatums_per_beat.items()))
            lines.append(f"tatums per beat (beats): {tatums or 'none'}")
        if self.features_filled:
            lines.append(f"tracks without audio features given the median: {self.features_filled}")
        return "\n".join(lines)


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
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # (numpy's stub: keywords are arrays)
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
