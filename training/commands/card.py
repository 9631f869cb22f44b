"""``nudge-train card MODEL.onnx [--report DIR] [-o CARD.md]``: write a model's card again (after editing
its notes, or for a report written earlier) without evaluating anew. The writer: ``training.export.card``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="the .onnx model")
    parser.add_argument(
        "--report",
        type=Path,
        help="its evaluation report folder (the metrics.json that 'nudge-train evaluate --out' wrote); "
        "without it the card says the model is not evaluated yet",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="the card to write (default: NAME.card.md beside NAME.onnx)"
    )


def run(args: argparse.Namespace) -> int:
    from companion.core.errors import NudgeError
    from companion.core.outputs import MARKDOWN, check_output
    from companion.runtime.model import load_model
    from training.export.card import (
        card_path_for,
        compared_metrics,
        notes_path_for,
        read_metrics,
        write_model_card,
    )

    card = args.output or card_path_for(args.model)
    try:
        meta = load_model(args.model).meta
        metrics = read_metrics(args.report) if args.report else None
        check_output(card, MARKDOWN)
        write_model_card(card, meta, args.model, metrics, compared_metrics(metrics))
    except (NudgeError, OSError) as error:
        print(f"nudge-train card: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {card}" + (f" (notes from {notes_path_for(card)})" if notes_path_for(card).exists() else "")
    )
    return 0
