"""``nudge-train render gmd GMD_DIR -o OUT``: GMD performances + a band -> audio clips with their true grid.

``--split test`` (the evaluation; the default) or ``validation``; ``--split train`` only with ``--backing
train`` (the beat model's training clips, with bass and keys parts of their own). Each clip is
``OUT/<id>.wav`` (44.1 kHz, 16 bit) and ``OUT/<id>.truth.json`` (beats, downbeats, note onsets). Needs
``fluidsynth`` and a General MIDI SoundFont (Debian: fluidsynth, timgm6mb-soundfont). Exit codes: 0 all
rendered; 1 some failed; 2 bad arguments or no renderer.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gmd", metavar="GMD_DIR", help="the Groove MIDI Dataset folder (with info.csv)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="folder for the clips")
    parser.add_argument("--split", choices=("test", "validation", "train"), default="test")
    parser.add_argument("--count", type=int, default=None, help="clips to render (default: all)")
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length, cut to whole bars (30)")
    parser.add_argument("--backing", choices=("eval", "train"), default="eval", help="bass and keys set")
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="--backing train: every clip with the band, started on the bar (no drums alone, no shifts)",
    )
    parser.add_argument("--soundfont", default=None, help="GM SoundFont (default: Debian's TimGM6mb)")
    parser.add_argument("--seed", type=int, default=0, help="which performances, in which order")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from training.audio.render import RenderError, choose_clips, find_fluidsynth, find_soundfont, render_clip

    try:
        if args.count is not None and args.count < 1:
            raise ValueError("--count must be at least 1")
        if not 4.0 <= args.seconds <= 600.0:
            raise ValueError("--seconds must be in 4..600")
        find_fluidsynth()
        soundfont = find_soundfont(args.soundfont)
        specs = choose_clips(
            args.gmd,
            args.split,
            args.count,
            args.seconds,
            seed=args.seed,
            backing_set=args.backing,
            augment=not args.no_augment,
        )
    except (ValueError, RenderError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    iterable = specs
    if not args.no_progress:
        from tqdm import tqdm

        iterable = tqdm(specs, unit="clip", desc="render")
    failed = 0
    for spec in iterable:
        try:
            render_clip(spec, args.gmd, args.output, soundfont)
        except (RenderError, OSError, ValueError) as error:
            failed += 1
            print(f"failed: {spec.clip_id}: {error}", file=sys.stderr)
    print(
        f"rendered {len(specs) - failed} of {len(specs)} clips ({args.split}) to {args.output} "
        f"with {soundfont}"
    )
    return 1 if failed else 0
