"""``nudge-train evaluate MODEL.onnx --data dataset.npz --out DIR``: the model against held-out real data."""

from __future__ import annotations

import argparse
import logging
import sys

from companion.core.cli_base import from_args
from companion.core.errors import NudgeError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="generator .onnx file (with its 'nudge' metadata)")
    parser.add_argument(
        "--data", required=True, help="dataset .npz with train and test (and validation) splits"
    )
    parser.add_argument("--out", required=True, help="folder for README.md, metrics.json and the plots")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random draw (default 0)")
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="generated patterns per set (default: as many as the reference has)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=10,
        help="repeats per row, each with a fresh reference draw (one window per held-out source) and fresh "
        "generated sets; figures are their means, 1-NN/Frechet +- sd (default 10)",
    )
    parser.add_argument("--sweep-levels", type=int, default=11, help="slider values 0..1 per control sweep")
    parser.add_argument("--sweep-samples", type=int, default=32, help="patterns per slider value")
    parser.add_argument(
        "--no-search",
        action="store_true",
        help="skip the control sweep through companion.runtime.engine (generator + candidate search)",
    )
    parser.add_argument(
        "--candidates", type=int, default=64, help="candidates per request in the search path"
    )
    parser.add_argument(
        "--beat-type",
        choices=("beat", "fill"),
        default=None,
        help="keep only windows of this beat type (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    from training.dataset import RhythmDataset
    from training.evaluation.evaluate import EvalConfig, evaluate
    from training.evaluation.report import format_stdout, write_report

    for name, value, low in (
        ("--samples", args.samples, 2),
        ("--sweep-levels", args.sweep_levels, 2),
        ("--repeats", args.repeats, 1),
        ("--sweep-samples", args.sweep_samples, 1),
        ("--candidates", args.candidates, 1),
    ):
        if value is not None and value < low:
            print(f"error: {name} must be >= {low}, got {value}", file=sys.stderr)
            return 2
    config = from_args(
        EvalConfig,
        args,
        n_samples=args.samples,
        search=not args.no_search,
        n_candidates=args.candidates,
    )
    try:
        dataset = RhythmDataset.load(args.data)
        evaluation = evaluate(args.model, dataset, config)
    except (NudgeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    paths = write_report(evaluation, args.out)
    print(format_stdout(evaluation))
    print(f"report: {paths[-1]}")
    log.info("wrote %s", ", ".join(map(str, paths)))
    return 0
