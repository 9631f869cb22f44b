"""``nudge info``: a model's metadata (conditions, styles, grid, dataset, training), and the models folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from companion.runtime.models_dir import default_model_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help=f"model file (default: {default_model_path()})")
    parser.add_argument("--json", action="store_true", help="print the raw metadata JSON")


def run(args: argparse.Namespace) -> int:
    from companion.runtime.model import ModelError, load_model

    path = args.model or default_model_path()
    try:
        model = load_model(path)
    except ModelError as error:
        print(f"nudge info: {error}", file=sys.stderr)
        return 2
    meta = model.meta
    if args.json:
        print(json.dumps(meta.to_dict(), indent=2, sort_keys=True))
        return 0
    grid = meta.grid
    lines = [
        f"model       {model.name}  ({model.path}, {model.path.stat().st_size / 1024:.0f} KiB)",
        f"name        {meta.name}  (metadata format {meta.format})",
        f"grid        {grid.bars} bars of {grid.beats_per_bar} beats, {grid.steps_per_beat} steps per beat "
        f"({grid.n_steps} steps)",
        f"voices      {', '.join(f'{v.name}={v.pitch}' for v in meta.voices)}",
        f"latent_dim  {meta.latent_dim}    hit_threshold {meta.hit_threshold:g}",
        f"styles      {', '.join(meta.styles) or '(none)'}",
        f"conditions  {len(meta.conditions)} (slider 0..1 = quantile of the training data)",
    ]
    for c in meta.conditions:
        low, median, high = c.quantiles[0], _median(c.quantiles, meta.quantile_probs), c.quantiles[-1]
        unit = f" {c.unit}" if c.unit else ""
        lines.append(
            f"  {c.name:<20} default {c.default:.2f}  raw {low:g}..{high:g}{unit} (median {median:g})"
        )
        if c.description:
            lines.append(f"  {'':<20} {c.description}")
    lines.append(f"dataset     {json.dumps(meta.dataset, sort_keys=True)}")
    lines.append(f"training    {json.dumps(meta.training, sort_keys=True)}")
    others = sorted(p.stem for p in model.path.parent.glob("*.onnx"))
    lines.append(f"models dir  {model.path.parent}: {', '.join(others)}")
    print("\n".join(lines))
    return 0


def _median(quantiles: tuple[float, ...], probs: tuple[float, ...]) -> float:
    index = min(range(len(probs)), key=lambda i: abs(probs[i] - 0.5))
    return quantiles[index]
