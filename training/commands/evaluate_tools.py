"""``nudge-train evaluate-tools MODEL.onnx --data D.npz --fills F.npz --out DIR``: Groove, Drumify, Continue,
Interpolate and Fill on the GMD test split against their baselines (``training/evaluation/tools_eval.py``)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="generator .onnx (its tools graph NAME.tools.onnx beside it is used)")
    parser.add_argument("--data", required=True, help="4-bar windows .npz with train and test splits")
    parser.add_argument(
        "--fills", required=True, help="1-bar fill windows .npz (ingest --bars 1 --beat-type fill)"
    )
    parser.add_argument("--out", help="write the report (README.md, metrics.json, plots) into this folder")
    parser.add_argument("--repeats", type=int, default=5, help="fresh draws of the test clips (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random draw (default 0)")
    parser.add_argument("--candidates", type=int, default=64, help="search width of every tool (default 64)")
    parser.add_argument("--count", type=int, default=5, help="interpolate: patterns from A to B (default 5)")
    parser.add_argument(
        "--no-search", dest="search", action="store_false", help="leave out the plain generator's search rows"
    )


def run(args: argparse.Namespace) -> int:
    from companion.core.errors import UsageError
    from training.dataset import RhythmDataset
    from training.evaluation.tools_eval import ToolsEvalConfig, evaluate_tools
    from training.evaluation.tools_report import format_stdout, write_report

    if not 1 <= args.candidates <= 1024:
        raise UsageError(f"--candidates must be in 1..1024, got {args.candidates}")
    if not 3 <= args.count <= 16:
        raise UsageError(f"--count must be in 3..16, got {args.count}")
    config = ToolsEvalConfig(args.seed, args.repeats, args.candidates, args.count, args.search)
    result = evaluate_tools(args.model, RhythmDataset.load(args.data), RhythmDataset.load(args.fills), config)
    print(format_stdout(result))
    if args.out:
        for path in write_report(result, args.out):
            print(f"wrote {path}")
    return 0
