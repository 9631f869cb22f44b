"""``nudge-train export CKPT -o models/NAME.onnx``: the generator as ONNX with its ``nudge`` metadata, and
a first model card beside it (``NAME.card.md``: data and credit, recipe, contract; the figures come with
``nudge-train evaluate``). ``-o`` replaces only an ONNX file unless ``--force`` (``companion.core.outputs``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from companion.core.errors import UsageError
from companion.core.outputs import add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a checkpoint from 'nudge-train fit' (RUN/best.pt or RUN/last.pt)")
    add_output_arguments(parser, "the .onnx file to write (atomically)")
    parser.add_argument("--name", help="model name in the metadata (default: the output file's stem)")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="quantise the weights to int8 (about a third less generator time on CPU; checked against the "
        "float graph, see training/export/quantize.py)",
    )


def run(args: argparse.Namespace) -> int:
    from companion.core.outputs import MARKDOWN, ONNX, check_output
    from training.export.card import card_path_for, write_model_card
    from training.export.export import export_checkpoint

    if not str(args.output).endswith(".onnx"):
        raise UsageError(f"output must end in .onnx, got {args.output}")
    if not Path(args.checkpoint).is_file():
        raise UsageError(f"checkpoint {args.checkpoint} does not exist")
    card = card_path_for(args.output)
    check_output(args.output, ONNX, args.force)  # OutputError (a UsageError) names the file
    check_output(card, MARKDOWN, args.force)
    result = export_checkpoint(args.checkpoint, args.output, name=args.name, int8=args.int8)  # NudgeErrors
    write_model_card(card, result.meta, args.output)
    meta = result.meta
    print(
        f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB): {len(meta.conditions)} conditions "
        f"({', '.join(meta.condition_names)}), {len(meta.styles)} styles, "
        f"onnxruntime vs torch max |diff| {result.max_abs_diff:.2e}"
    )
    if result.int8 is not None:
        found = result.int8
        print(
            f"int8 weights: hits agree with the float graph on {found.hit_agreement:.2%} of the cells; "
            f"velocity MAE {found.velocity_mae:.4f}, offset MAE {found.offset_mae:.4f} steps where both hit"
        )
    print(
        f"model card: {card} (figures come with: nudge-train evaluate {result.path} --data DATASET.npz "
        "--out REPORT_DIR)"
    )
    return 0
