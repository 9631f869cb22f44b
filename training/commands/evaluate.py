"""``nudge-train evaluate MODEL.onnx --data dataset.npz --out DIR``: the model against held-out real data.

Writes the report into DIR and the model's card (``training.commands.card``) beside the model. ``--compare
[OTHER.onnx]`` evaluates another model (default: the shipped one) with the same data, seed and settings in
the same run, and puts its headline figures beside this model's in one table (stdout, report, card).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from companion.core.cli_base import from_args
from companion.core.errors import NudgeError
from companion.runtime.models_dir import default_model_path

log = logging.getLogger(__name__)
SHIPPED_MODEL = default_model_path()  # the models folder default is defined once, in companion.runtime


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
        help="skip the paths through companion.runtime.engine (generator + candidate search): the control "
        "sweep and the takes at one setting",
    )
    parser.add_argument(
        "--candidates", type=int, default=64, help="candidates per request in the search path"
    )
    parser.add_argument(
        "--diversity-settings",
        type=int,
        default=64,
        help="takes at one setting: fixed (style, sliders) settings from random train windows per repeat "
        "(default 64)",
    )
    parser.add_argument(
        "--diversity-takes", type=int, default=16, help="takes at one setting: takes per setting (default 16)"
    )
    parser.add_argument(
        "--vary-clips",
        type=int,
        default=48,
        help="vary calibration: real and made clips per repeat (0: skip; default 48)",
    )
    parser.add_argument(
        "--compare",
        nargs="?",
        const=str(SHIPPED_MODEL),
        metavar="OTHER.onnx",
        help="also evaluate OTHER (default: the shipped models/default.onnx) with the same data, seed and "
        "settings, and show its figures beside this model's in one table",
    )
    parser.add_argument(
        "--card",
        type=Path,
        help="where to write the model card (default: NAME.card.md beside NAME.onnx); notes of your own in "
        "CARD_NAME.notes.md beside it are copied in",
    )
    parser.add_argument(
        "--beat-type",
        choices=("beat", "fill"),
        default=None,
        help="keep only windows of this beat type (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    from companion.core.outputs import MARKDOWN, check_output
    from companion.core.provenance import machine_description, today
    from companion.runtime.model import load_model
    from training.dataset import RhythmDataset
    from training.evaluation.diversity import DiversityConfig
    from training.evaluation.evaluate import EvalConfig, evaluate
    from training.evaluation.report import format_stdout, json_ready, text_table, write_report
    from training.evaluation.summary import comparison_rows
    from training.export.card import card_path_for, compared_metrics, write_model_card

    for name, value, low in (
        ("--samples", args.samples, 2),
        ("--sweep-levels", args.sweep_levels, 2),
        ("--repeats", args.repeats, 1),
        ("--sweep-samples", args.sweep_samples, 1),
        ("--candidates", args.candidates, 1),
        ("--diversity-settings", args.diversity_settings, 1),
        ("--diversity-takes", args.diversity_takes, 2),
        ("--vary-clips", args.vary_clips, 0),
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
        diversity=DiversityConfig(
            settings=args.diversity_settings,
            samples=args.diversity_takes,
            n_candidates=args.candidates,
            search=not args.no_search,
        ),
    )
    card = args.card or card_path_for(args.model)
    try:
        check_output(card, MARKDOWN)
        dataset = RhythmDataset.load(args.data)
        evaluation = evaluate(args.model, dataset, config)
        others = [evaluate(args.compare, dataset, config)] if args.compare else []
    except (NudgeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    evaluation.provenance = {
        "date": today(),
        "machine": machine_description(),
        "command": getattr(args, "command_line", "nudge-train evaluate"),
    }
    evaluation.compared = {_label(other, evaluation): json_ready(other.to_dict()) for other in others}
    paths = write_report(evaluation, args.out)
    print(format_stdout(evaluation))
    metrics = json_ready(evaluation.to_dict())
    if others:
        print("\nCompared in the same run (same data, seed and settings):")
        print(text_table(comparison_rows([(evaluation.model_name, metrics), *evaluation.compared.items()])))
    write_model_card(card, load_model(args.model).meta, args.model, metrics, compared_metrics(metrics))
    print(f"report: {paths[-1]}\ncard: {card}")
    log.info("wrote %s", ", ".join(map(str, paths)))
    return 0


def _label(other, evaluation) -> str:
    """A column name for a compared model: its name, or its path when both have the same name."""
    return other.model_name if other.model_name != evaluation.model_name else str(other.model_path)
