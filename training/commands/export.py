"""``nudge-train export CKPT -o models/NAME.onnx``: the generator as ONNX with its ``nudge`` metadata."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a checkpoint from 'nudge-train fit' (RUN/best.pt or RUN/last.pt)")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write (atomically)")
    parser.add_argument("--name", help="model name in the metadata (default: the output file's stem)")


def run(args: argparse.Namespace) -> int:
    from training.export import ExportError, export_checkpoint

    if not str(args.output).endswith(".onnx"):
        raise SystemExit(f"export: output must end in .onnx, got {args.output}")
    if not Path(args.checkpoint).is_file():
        raise SystemExit(f"export: checkpoint {args.checkpoint} does not exist")
    try:
        result = export_checkpoint(args.checkpoint, args.output, name=args.name)
    except (ValueError, ExportError) as error:
        raise SystemExit(f"export: {error}") from None
    meta = result.meta
    print(
        f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB): {len(meta.conditions)} conditions "
        f"({', '.join(meta.condition_names)}), {len(meta.styles)} styles, "
        f"onnxruntime vs torch max |diff| {result.max_abs_diff:.2e}"
    )
    return 0
