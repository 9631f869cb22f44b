"""Ingest a whole corpus: files in parallel (multiprocessing), windows into one ``RhythmDataset``, summary."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from companion.core.drum_map import N_VOICES
from training.dataset import SPLITS, RhythmDataset
from training.ingest.labels import FileLabels, find_info_csv
from training.ingest.midi import SKIP_REASONS, FileWindows, IngestConfig, file_jobs, ingest_file

EXAMPLES_PER_REASON = 3
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENCE")


@dataclass
class IngestSummary:
    files_found: int = 0
    files_used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> files
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few "file: detail"
    windows_per_split: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    windows_per_beat_type: Counter[str] = field(default_factory=Counter)
    sparse_windows: int = 0  # windows under --min-hits, left out
    dropped_pitches: Counter[int] = field(default_factory=Counter)  # unknown pitch -> notes dropped
    seconds: float = 0.0

    @property
    def windows(self) -> int:
        return sum(self.windows_per_split.values())

    def add(self, result: FileWindows) -> None:
        self.dropped_pitches.update(result.dropped_pitches)
        self.sparse_windows += result.sparse_windows
        if result.skipped:
            self.skipped[result.skipped] += 1
            examples = self.examples.setdefault(result.skipped, [])
            if len(examples) < EXAMPLES_PER_REASON:
                examples.append(f"{result.source}: {result.detail}")
            return
        self.files_used += 1
        self.windows_per_split[result.labels.split] += result.n_windows
        self.windows_per_beat_type[result.labels.beat_type or "unknown"] += result.n_windows

    def to_dict(self) -> dict:
        return {
            "files_found": self.files_found,
            "files_used": self.files_used,
            "skipped": dict(self.skipped),
            "examples": {k: list(v) for k, v in self.examples.items()},
            "windows": self.windows,
            "windows_per_split": dict(self.windows_per_split),
            "windows_per_beat_type": dict(self.windows_per_beat_type),
            "sparse_windows": self.sparse_windows,
            "dropped_pitches": {str(k): v for k, v in sorted(self.dropped_pitches.items())},
            "seconds": round(self.seconds, 3),
        }

    def format(self) -> str:
        lines = [
            f"files: {self.files_found} found, {self.files_used} used, {sum(self.skipped.values())} skipped"
            f" ({self.seconds:.1f} s)"
        ]
        for reason, count in self.skipped.most_common():
            lines.append(f"  skipped {count:5d}  {reason}: {SKIP_REASONS.get(reason, reason)}")
            lines.extend(f"           e.g. {example}" for example in self.examples.get(reason, []))
        split_text = ", ".join(f"{split} {n}" for split, n in self.windows_per_split.items())
        lines.append(f"windows: {self.windows} ({split_text})")
        if self.windows_per_beat_type:
            lines.append(
                "  by beat type: "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.windows_per_beat_type.items()))
            )
        lines.append(f"windows left out for too few hits: {self.sparse_windows}")
        dropped = sum(self.dropped_pitches.values())
        top = ", ".join(f"{pitch}: {n}" for pitch, n in self.dropped_pitches.most_common(8))
        lines.append(f"notes dropped for unknown pitches: {dropped}" + (f" ({top})" if dropped else ""))
        return "\n".join(lines)


def _work(job: tuple[Path, str, FileLabels | None, IngestConfig]) -> FileWindows:
    return ingest_file(*job)


def iter_results(
    jobs: list[tuple[Path, str, FileLabels | None, IngestConfig]], workers: int
) -> Iterator[FileWindows]:
    """Results in job order; ``workers`` > 1 reads files in that many processes."""
    if workers <= 1 or len(jobs) < 2:
        yield from map(_work, jobs)
        return
    chunksize = max(1, min(16, len(jobs) // (workers * 8)))
    with multiprocessing.get_context().Pool(workers) as pool:
        yield from pool.imap(_work, jobs, chunksize=chunksize)


def ingest_corpus(
    root: str | os.PathLike, config: IngestConfig, workers: int = 2, progress: bool = True
) -> tuple[RhythmDataset, IngestSummary]:
    """All windows of every usable MIDI file under ``root``, and the summary of what was used and why not."""
    started = time.perf_counter()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    jobs = [(path, rel, labels, config) for path, rel, labels in file_jobs(root)]
    summary = IngestSummary(files_found=len(jobs))
    used: list[FileWindows] = []
    results = iter_results(jobs, workers)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(jobs), unit="file", desc="ingest", leave=False)
    for result in results:
        summary.add(result)
        if not result.skipped:
            used.append(result)
    dataset = _assemble(used, config, root, summary)
    summary.seconds = time.perf_counter() - started
    dataset.meta["ingest"] = summary.to_dict()
    return dataset, summary


def _assemble(
    used: list[FileWindows], config: IngestConfig, root: Path, summary: IngestSummary
) -> RhythmDataset:
    grid = config.grid
    counts = [r.n_windows for r in used]
    n = sum(counts)
    patterns = np.zeros((n, 3, N_VOICES, grid.n_steps), dtype=np.float32)  # [N, 3, V, T]
    if n:
        patterns[:, 0] = np.concatenate([r.hits for r in used])
        patterns[:, 1] = np.concatenate([r.velocities for r in used])
        patterns[:, 2] = np.concatenate([r.offsets for r in used])

    def repeat(values: list, dtype) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=dtype), counts) if n else np.zeros(0, dtype=dtype)

    return RhythmDataset(
        grid=grid,
        patterns=patterns,
        style=repeat([r.labels.style for r in used], str),
        split=repeat([r.labels.split for r in used], str),
        source=repeat([r.source for r in used], str),
        beat_type=repeat([r.labels.beat_type for r in used], str),
        bpm=repeat([r.bpm for r in used], np.float32),
        start_bar=np.concatenate([r.start_bar for r in used]) if n else np.zeros(0, dtype=np.int32),
        meta={
            "source": root.name,
            "licence": _licence(root),
            "credit": _credit(root),
            "config": _config_dict(config),
        },
    )


GMD_CREDIT = (
    "Groove MIDI Dataset v1.0.0 (Gillick, Roberts, Engel, Norouzi, Bamman: Learning to Groove with Inverse "
    "Sequence Transformations, ICML 2019; Google Magenta), CC BY 4.0, https://magenta.tensorflow.org/datasets/groove"
)


def _corpus_folder(root: Path) -> Path:
    """Where the corpus's own files (info.csv, LICENSE) are: the folder of the info.csv that covers ``root``
    (ingesting ``groove-midi-v1/drummer1`` still credits the GMD), else ``root``."""
    found = find_info_csv(root)
    return found[0].parent if found else root


def _credit(root: Path) -> str:
    """The attribution a model trained on this corpus must carry: the GMD's when its info.csv is there."""
    info = _corpus_folder(root) / "info.csv"
    if info.is_file() and "midi_filename" in info.read_text(encoding="utf-8", errors="replace")[:500]:
        return GMD_CREDIT
    return ""


def _licence(root: Path) -> str:
    for name in LICENCE_FILES:
        path = _corpus_folder(root) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if "Creative Commons Attribution 4.0" in text:
                return "CC BY 4.0"
            return text.strip().splitlines()[0][:200] if text.strip() else "unknown"
    return "unknown"


def _config_dict(config: IngestConfig) -> dict:
    data = asdict(config)
    data["time_signature"] = f"{config.time_signature[0]}/{config.time_signature[1]}"
    return data
