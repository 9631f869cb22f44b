"""``nudge-train ingest midi DIR -o dataset.npz``: slice a folder of drum .mid files into a dataset."""

from __future__ import annotations

import argparse
import os
import sys

from companion.core.cli_base import from_args
from companion.core.drum_map import DRUM_MAPS
from companion.core.errors import NudgeError
from companion.core.midi_values import CHANNEL, DRUM_CHANNEL
from training.ingest.midi import BEAT_TYPE_CHOICES, SKIP_REASONS, UNKNOWN_PITCH_CHOICES, IngestConfig


def _time_signature(text: str) -> tuple[int, int]:
    try:
        numerator, denominator = (int(part) for part in text.replace("-", "/").split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"time signature must look like 4/4, got {text!r}") from None
    return numerator, denominator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="folder of .mid files (searched recursively)")
    parser.add_argument("-o", "--output", required=True, help="dataset .npz to write (atomically)")
    parser.add_argument("--bars", type=int, default=4, help="bars per window, 1..8 (default 4)")
    parser.add_argument(
        "--hop-bars",
        type=int,
        default=1,
        help="bars between window starts (default 1: every bar line starts a window, so a 4-bar window "
        "overlaps the next by 3 bars; use --hop-bars equal to --bars for disjoint windows)",
    )
    parser.add_argument(
        "--steps-per-beat", type=int, default=4, help="grid steps per beat (default 4 = 16ths)"
    )
    parser.add_argument(
        "--time-signature",
        type=_time_signature,
        default=(4, 4),
        help="keep files in this meter (default 4/4; 3/4, 2/4, 5/4 also work); others are counted, skipped",
    )
    parser.add_argument(
        "--drum-map",
        choices=sorted(DRUM_MAPS),
        default="roland",
        help="input pitch map (default roland = GMD)",
    )
    parser.add_argument(
        "--beat-type",
        choices=BEAT_TYPE_CHOICES,
        default="all",
        help="keep beat or fill files, or all (default)",
    )
    parser.add_argument(
        "--min-hits", type=int, default=1, help="skip windows with fewer hits (default 1: skip empty ones)"
    )
    parser.add_argument(
        "--unknown-pitches",
        choices=UNKNOWN_PITCH_CHOICES,
        default="drop",
        help="drop (and count) notes whose pitch the map does not know (default), or skip such files",
    )
    parser.add_argument(
        "--channel",
        type=int,
        default=DRUM_CHANNEL,
        help=f"MIDI channel of the drums, {CHANNEL.low}..{CHANNEL.high}, 0 = any (default {DRUM_CHANNEL})",
    )
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes reading files (default 2)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from training.ingest.run import ingest_corpus

    if not 0 <= args.channel <= 16:
        print(f"error: --channel must be in 0..16 (0 = any), got {args.channel}", file=sys.stderr)
        return 2
    try:
        config = from_args(IngestConfig, args, channel=None if args.channel == 0 else args.channel)
        dataset, summary = ingest_corpus(
            args.folder, config, workers=max(1, args.workers), progress=not args.no_progress
        )
    except (NudgeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.format(SKIP_REASONS))
    if len(dataset) == 0:
        print(f"error: no windows found under {args.folder}; nothing written", file=sys.stderr)
        return 1
    path = dataset.save(args.output)
    print(
        f"wrote {len(dataset)} windows ({dataset.grid.bars} bars of {dataset.grid.beats_per_bar} beats)"
        f" to {path}"
    )
    return 0
