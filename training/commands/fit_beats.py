"""``nudge-train fit-beats CLIPS_DIR -o beats.onnx``: train the audio beat/downbeat model, export ONNX.

CLIPS_DIR holds rendered clips (``render gmd --split train --backing train``). The shipped model,
``companion/audio/beats.onnx``, is made by ``--steps 2000`` (the default) with seed 0.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clips", metavar="CLIPS_DIR", help="rendered clips (.wav + .truth.json)")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write (atomically)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from training.audio.beat_fit import FitConfig, export_onnx, fit

    wavs = sorted(p for p in Path(args.clips).glob("*.wav") if p.with_suffix(".truth.json").is_file())
    if not wavs:
        print(f"error: no rendered clips in {args.clips}", file=sys.stderr)
        return 2
    if not 1 <= args.steps <= 1_000_000:
        print("error: --steps must be in 1..1000000", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # two threads spin against each other on a busy 2-core machine (10x slower)
    model = fit(wavs, FitConfig(steps=args.steps, seed=args.seed))
    path = export_onnx(model, args.output, {"clips": len(wavs), "steps": args.steps, "seed": args.seed})
    print(f"trained on {len(wavs)} clips; wrote {path}")
    return 0
