"""Time ``nudge-train ingest midi`` on the whole Groove MIDI Dataset, as a ratio to bare mido parsing.

    python bench/bench_ingest.py [--root ../shared/data/groove-midi-v1] [--workers 2] [--bars 4]

Baseline, measured in the same run: ``mido.MidiFile`` on every file, one process (the least any
mido-based ingest must do). Target: the full ingest in under 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mido

from training.dataset import RhythmDataset
from training.ingest.midi import IngestConfig, find_midi_files
from training.ingest.run import ingest_corpus

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "groove-midi-v1"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--hop-bars", type=int, default=1)
    args = parser.parse_args()
    if not args.root.is_dir():
        raise SystemExit(f"no corpus at {args.root} (give --root)")

    files = find_midi_files(args.root)
    started = time.perf_counter()
    for path, _ in files:
        try:
            mido.MidiFile(path)
        except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
            print(f"baseline: {path}: {error}")
    baseline = time.perf_counter() - started

    config = IngestConfig(bars=args.bars, hop_bars=args.hop_bars)
    started = time.perf_counter()
    dataset, summary = ingest_corpus(args.root, config, workers=args.workers, progress=False)
    with tempfile.TemporaryDirectory() as folder:
        path = dataset.save(Path(folder) / "dataset.npz")
        saved = time.perf_counter()
        size_mb = path.stat().st_size / 1e6
        loaded = len(RhythmDataset.load(path))
    total = saved - started

    print(summary.format())
    print(f"files: {len(files)}  windows: {len(dataset)} (reloaded {loaded})  dataset {size_mb:.1f} MB")
    print(f"baseline  mido.MidiFile on every file, 1 process: {baseline:6.2f} s")
    print(
        f"ingest    {args.workers} workers, {args.bars}-bar windows, hop {args.hop_bars}, incl. save:"
        f" {total:6.2f} s"
    )
    print(
        f"ratio ingest / baseline: {total / baseline:.2f}"
        f"   target: < 60 s -> {'OK' if total < 60 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
