"""``nudge-train export CKPT -o models/NAME.onnx``: the generator as ONNX with its ``nudge`` metadata, and
a first model card beside it (``NAME.card.md``: data and credit, recipe, contract; the figures come with
``nudge-train evaluate``). ``-o`` replaces only an ONNX file unless ``--force`` (``companion.core.outputs``).

A checkpoint of ``nudge-train fit-tools`` writes the generator the tools were trained from and its tools graph
``NAME.tools.onnx`` beside it; with ``--tools-only`` the generator file at ``-o`` stays as it is (it must be
the one the tools were trained from) and only the tools graph is written.
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
    parser.add_argument(
        "--tools-only",
        action="store_true",
        help="a fit-tools checkpoint: write only NAME.tools.onnx beside the generator already at -o (the one "
        "the tools were trained from; checked)",
    )


def run(args: argparse.Namespace) -> int:
    from companion.core.outputs import MARKDOWN, ONNX, check_output
    from training.export.card import card_path_for, write_model_card
    from training.export.export import export_checkpoint
    from training.tools.train import is_tools_checkpoint

    if not str(args.output).endswith(".onnx"):
        raise UsageError(f"output must end in .onnx, got {args.output}")
    if not Path(args.checkpoint).is_file():
        raise UsageError(f"checkpoint {args.checkpoint} does not exist")
    card = card_path_for(args.output)
    if not args.tools_only:
        check_output(args.output, ONNX, args.force)  # OutputError (a UsageError) names the file
        check_output(card, MARKDOWN, args.force)
    tools = None
    if is_tools_checkpoint(args.checkpoint):  # fit-tools: the generator it was made from, and its tools graph
        from companion.runtime.tools_model import tools_path_for
        from training.export.tools_export import export_tools

        check_output(tools_path_for(args.output), ONNX, args.force)
        result, tools = export_tools(
            args.checkpoint, args.output, name=args.name, int8=args.int8, tools_only=args.tools_only
        )
        if result is None:  # --tools-only: the generator file stays as it is
            print(f"wrote {tools.path} ({tools.size_bytes / 1e6:.2f} MB) beside {args.output}")
            return 0
    elif args.tools_only:
        raise UsageError(
            f"--tools-only needs a checkpoint of nudge-train fit-tools; {args.checkpoint} is not one"
        )
    else:
        result = export_checkpoint(
            args.checkpoint, args.output, name=args.name, int8=args.int8
        )  # NudgeErrors
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
    if tools is not None:
        print(
            f"wrote {tools.path} ({tools.size_bytes / 1e6:.2f} MB): tasks {', '.join(tools.meta.tasks)}, "
            f"onnxruntime vs torch max |diff| {tools.max_abs_diff:.2e}"
            + (f"; int8 hits agree on {tools.int8.hit_agreement:.2%}" if tools.int8 else "")
        )
    print(
        f"model card: {card} (figures come with: nudge-train evaluate {result.path} --data DATASET.npz "
        "--out REPORT_DIR)"
    )
    return 0
