"""``nudge-train evaluate-lock MODEL.onnx --data dataset.npz [--keep kick,snare]``: how well voice lock's new
voices fit the kept ones (realism figures on whole patterns; ``training/evaluation/lock_eval.py``)."""

from __future__ import annotations

import argparse
import json
import sys

from companion.core.errors import NudgeError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="generator .onnx file (with its 'nudge' metadata)")
    parser.add_argument("--data", required=True, help="dataset .npz with train, validation and test splits")
    parser.add_argument("--keep", default="kick,snare", help="voices kept (default kick,snare)")
    parser.add_argument("--candidates", type=int, default=64, help="candidates per search round (default 64)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh reference and clip draws (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random draw (default 0)")
    parser.add_argument(
        "--slider-weight",
        type=float,
        default=None,
        help="weight of the slider distance against the kept-voice fit (default: the daemon's)",
    )
    parser.add_argument("--json", dest="json_path", help="also write the figures to this .json file")


def run(args: argparse.Namespace) -> int:
    from companion.core.atomic import atomic_write_text
    from companion.core.drum_map import voices_from_names
    from companion.runtime import lock
    from training.dataset import RhythmDataset
    from training.evaluation.lock_eval import evaluate_lock

    try:
        keep = voices_from_names(args.keep, "--keep")
        if not 1 <= args.repeats <= 100:
            raise UsageError(f"--repeats must be in 1..100, got {args.repeats}")
        if not 1 <= args.candidates <= 1024:
            raise UsageError(f"--candidates must be in 1..1024, got {args.candidates}")
        dataset = RhythmDataset.load(args.data)
        weight = lock.SLIDER_WEIGHT if args.slider_weight is None else args.slider_weight
        if not 0 <= weight <= 1e6:
            raise UsageError(f"--slider-weight must be in 0..1e6, got {weight}")
        result = evaluate_lock(
            args.model,
            dataset,
            keep,
            candidates=args.candidates,
            repeats=args.repeats,
            seed=args.seed,
            slider_weight=weight,
        )
    except (NudgeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"voice lock of {result.model_name}: keep {','.join(result.keep)}, {result.n_clips} clips over "
        f"{result.repeats} repeats, {result.candidates} candidates per round"
    )
    print(result.table())
    print("ms per clip: " + ", ".join(f"{k} {v:.1f}" for k, v in result.ms_per_clip.items()))
    if args.json_path:
        figures = {
            "model": result.model_name,
            "keep": result.keep,
            "candidates": result.candidates,
            "repeats": result.repeats,
            "n_clips": result.n_clips,
            "sets": [r.to_dict() for r in result.rows],
            "fit": result.fit,
            "ms_per_clip": result.ms_per_clip,
        }
        atomic_write_text(args.json_path, json.dumps(figures, indent=1, allow_nan=False, default=float))
    return 0
