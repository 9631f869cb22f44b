"""Ingest a whole corpus: files in parallel (multiprocessing), windows into one ``RhythmDataset``, summary."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from companion.core.drum_map import N_VOICES
from training.dataset import IngestSummary, RhythmDataset
from training.ingest.labels import FileLabels, find_info_csv
from training.ingest.midi import FileWindows, IngestConfig, file_jobs, ingest_file

LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENCE")


def add_file(summary: IngestSummary, result: FileWindows) -> None:
    """Count one file's result in ``summary``: skipped with its reason, or used with its windows."""
    summary.dropped_pitches.update(result.dropped_pitches)
    summary.sparse_windows += result.sparse_windows
    if result.skipped:
        summary.skip(result.skipped, f"{result.source}: {result.detail}")
        return
    summary.files_used += 1
    summary.windows_per_split[result.labels.split] += result.n_windows
    summary.windows_per_beat_type[result.labels.beat_type or "unknown"] += result.n_windows


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
        add_file(summary, result)
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
