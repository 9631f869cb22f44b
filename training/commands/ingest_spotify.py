"""``nudge-train ingest spotify DIR -o dataset.npz``: a folder of audio-analysis JSON -> rhythm dataset.

DIR is a ``fetch spotify`` cache or any folder of analysis responses obtained elsewhere (one per file; the
file name is the track id). Optional: ``--series FILE.npz`` also writes the prototype's 8 x F time series
of every track (``series`` float32 [N, 8, F], ``track_id``, ``rows``, ``frame_seconds``) and
``--series-midi DIR`` renders each track's series to a .mid file. Exit codes: 0 written; 1 no usable
window (nothing written); 2 bad arguments or folder.
"""

from __future__ import annotations

import argparse
import sys

from companion.core.errors import NudgeError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="folder of audio-analysis .json files")
    parser.add_argument("-o", "--output", required=True, help="dataset .npz to write (atomically)")
    parser.add_argument("--bars", type=int, default=4, help="bars per window, 1..8 (default 4)")
    parser.add_argument("--hop-bars", type=int, default=1, help="bars between window starts (default 1)")
    parser.add_argument(
        "--steps-per-beat", type=int, default=4, help="grid steps per beat (default 4 = 16ths)"
    )
    parser.add_argument(
        "--beats-per-bar", type=int, default=4, help="keep bars of this many beats, 2..7 (default 4)"
    )
    parser.add_argument(
        "--min-confidence", type=float, default=0.05, help="segment onset confidence for a hit"
    )
    parser.add_argument("--range-db", type=float, default=30.0, help="hits within this of the loudest (dB)")
    parser.add_argument("--no-sections", action="store_true", help="do not mark section starts with a crash")
    parser.add_argument("--min-hits", type=int, default=1, help="skip windows with fewer hits (default 1)")
    parser.add_argument(
        "--missing-features",
        choices=("median", "skip"),
        default="median",
        help="tracks without audio features: give them the median (default) or skip them",
    )
    parser.add_argument("--validation-share", type=float, default=0.1, help="share of tracks in validation")
    parser.add_argument("--test-share", type=float, default=0.1, help="share of tracks in test")
    parser.add_argument("--series", metavar="FILE", help="also write the 8 x F time series of every track")
    parser.add_argument(
        "--series-midi", metavar="DIR", help="also render each track's series to DIR/<id>.mid"
    )
    parser.add_argument("--frames", type=int, default=3000, help="series frames (default 3000)")
    parser.add_argument(
        "--frame-seconds", type=float, default=0.1, help="series frame length (default 0.1 s)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import io
    from pathlib import Path

    import numpy as np

    from companion.core.atomic import atomic_write_bytes
    from companion.core.cli_base import from_args
    from training.dataset import IngestSummary
    from training.spotify.ingest import build_dataset, build_series, read_records
    from training.spotify.patterns import PatternConfig
    from training.spotify.series import SERIES_ROWS, SeriesGrid, series_to_midi

    try:
        config = from_args(PatternConfig, args, mark_sections=not args.no_sections)
        grid = SeriesGrid(args.frames, args.frame_seconds)
        shares = (args.validation_share, args.test_share)
        if not all(0.0 <= s <= 1.0 for s in shares) or sum(shares) > 1.0:
            raise UsageError("--validation-share and --test-share must be in 0..1 and sum to at most 1")
        summary = IngestSummary()
        records = read_records(args.folder, summary, progress=not args.no_progress)
        dataset, summary = build_dataset(
            records,
            config,
            summary,
            missing_features=args.missing_features,
            validation_share=args.validation_share,
            test_share=args.test_share,
        )
    except (NudgeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.format())
    if args.series or args.series_midi:
        series, ids = build_series(records, grid)  # [N, 8, F]
        if args.series:
            buffer = io.BytesIO()
            np.savez_compressed(
                buffer,
                series=series,
                track_id=ids,
                rows=np.array(SERIES_ROWS),
                frame_seconds=grid.frame_seconds,
            )
            atomic_write_bytes(args.series, buffer.getvalue())
            print(
                f"wrote the {len(SERIES_ROWS)} x {grid.n_frames} series of {len(ids)} tracks to {args.series}"
            )
        if args.series_midi:
            for row, track_id in zip(series, ids, strict=True):
                series_to_midi(Path(args.series_midi) / f"{track_id}.mid", row, grid)
            print(f"rendered {len(ids)} series to {args.series_midi}")
    if len(dataset) == 0:
        print(f"error: no usable window in {args.folder}; no dataset written", file=sys.stderr)
        return 1
    path = dataset.save(args.output)
    conditions = ", ".join(dataset.extra_conditions)
    print(f"wrote {len(dataset)} windows ({config.bars} bars of {config.beats_per_bar} beats) to {path}")
    print(f"extra conditions: {conditions}")
    return 0
