"""What the tool commands share (``nudge groove``, ``drumify``, ``continue``, ``interpolate``, ``fill``):
their options, reading the input clip, writing the answer, and ``nudge generate``'s conventions (``--model``,
``-o``, ``--seed``, ``--tempo``, ``--candidates``; tempo and ticks per beat, GM drums on channel 10; only a
regular file or nothing is replaced; one clear line and exit code 2 for bad input, nothing written).

A command module defines ``add_arguments`` (with ``add_common``) and ``run`` (``run_tool`` with a function
that maps the loaded model, the clip(s) and the seed to the note notes to write).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from companion.commands.serve import DEFAULT_MODEL_NAME, DEFAULT_MODELS_DIR
from companion.core.descriptors import DESCRIPTOR_TABLE
from companion.core.errors import NudgeError, UsageError

STYLE_ANY = "any"


def add_common(parser: argparse.ArgumentParser, style: bool = True, sliders: bool = False) -> None:
    parser.add_argument("--from", dest="source", type=Path, required=True, help="the .mid file to start from")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .mid file to write")
    parser.add_argument("--model", type=Path, help=f"model file (default: {DEFAULT_MODELS_DIR}/default.onnx)")
    parser.add_argument("--seed", type=int, help="same seed + same options = same file (default: random)")
    parser.add_argument("--tempo", type=float, help="bpm written to the file (default: the input file's)")
    parser.add_argument("--candidates", type=int, default=64, help="search width (default 64)")
    if style:
        parser.add_argument(
            "--style",
            default=STYLE_ANY,
            help="a style of the model (see nudge info), or 'any': the model's choice",
        )
    if sliders:
        add_condition_arguments(parser)


def add_condition_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("conditions (sliders, 0..1; missing ones are the model's to choose)")
    for name, _unit, text in DESCRIPTOR_TABLE:
        group.add_argument(
            f"--{name.replace('_', '-')}", dest=f"cond_{name}", type=float, metavar="0..1", help=text
        )
    group.add_argument(
        "--cond", action="append", default=[], metavar="NAME=VALUE", help="any other condition of the model"
    )


def sliders_of(args: argparse.Namespace) -> dict[str, float]:
    from companion.commands.generate import _sliders

    return _sliders(args) if hasattr(args, "cond") else {}


def style_of(args: argparse.Namespace) -> str | None:
    style = getattr(args, "style", STYLE_ANY)
    return None if style == STYLE_ANY else style


def run_tool(
    command: str,
    args: argparse.Namespace,
    answer: Callable[[Any, Any, int], list[tuple[np.ndarray, float]]],
    outputs: Callable[[argparse.Namespace], list[Path]] | None = None,
    extra_inputs: tuple[str, ...] = (),
) -> int:
    """Load the model and the clip(s), check every output path, compute every answer, then write them.

    ``answer(model, clips, seed)`` -> [(notes, length_beats)] for each output path (``outputs``, default
    ``-o``); ``clips`` holds the ``--from`` clip and one per name in ``extra_inputs`` (e.g. ``to``)."""
    from companion.core.midi_clip import read_midi_clip, write_midi_clip
    from companion.core.regular_files import check_replaceable
    from companion.runtime.model import load_model

    try:
        if not 1 <= args.candidates <= 4096:
            raise UsageError(f"--candidates must be in 1..4096, got {args.candidates}")
        if args.tempo is not None and not 20 <= args.tempo <= 999:
            raise UsageError(f"--tempo must be in 20..999 bpm, got {args.tempo}")
        paths = outputs(args) if outputs else [args.output]
        for path in paths:  # before any work: only regular files are replaced
            check_replaceable(path)
        model = load_model(args.model or DEFAULT_MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx")
        clips = [read_midi_clip(args.source), *(read_midi_clip(getattr(args, name)) for name in extra_inputs)]
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
        results = answer(model, clips, seed)
        bpm = args.tempo if args.tempo is not None else clips[0].bpm
        for path, (notes, length) in zip(paths, results, strict=True):
            write_midi_clip(path, notes, length, bpm, model.meta.beats_per_bar)
            print(f"{path}: {length / model.meta.beats_per_bar:g} bars, {len(notes)} notes, seed {seed}")
    except (NudgeError, OSError) as error:
        print(f"nudge {command}: {error}", file=sys.stderr)
        return 2
    return 0


def numbered(args: argparse.Namespace, count: int) -> list[Path]:
    """``-o NAME.mid`` -> NAME_1.mid .. NAME_N.mid, as ``nudge generate --count``."""
    suffix = args.output.suffix or ".mid"
    return [args.output.with_name(f"{args.output.stem}_{i + 1}{suffix}") for i in range(count)]
