"""What the tool commands share (``nudge groove``, ``drumify``, ``continue``, ``interpolate``, ``fill``):
their options, reading the input clip, writing the answer, with every convention of ``nudge generate``:
``--model``, ``-o`` (``companion.core.outputs``: only a Standard MIDI File, or nothing, is replaced unless
``--force``; numbered files for several outputs), ``--seed``, ``--tempo``, ``--candidates`` with their
ranges checked while parsing (``companion.core.cli_args``); tempo and ticks per beat, GM drums on channel
10; one clear line and exit code 2 for bad input, nothing written (every output checked and every answer
computed before the first write).

A command module defines ``add_arguments`` (with ``add_common``) and ``run`` (``run_tool`` with a function
that maps the loaded model, the clip(s) and the seed to the notes to write).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from companion.core.cli_args import int_in, number_in, seed
from companion.core.descriptors import DESCRIPTOR_TABLE
from companion.core.errors import NudgeError, UsageError
from companion.core.midi_values import MAX_BPM, MIN_BPM
from companion.core.model_meta import STYLE_ANY
from companion.core.outputs import MIDI, add_output_arguments
from companion.core.pattern import DEFAULT_CANDIDATES, MAX_CANDIDATES, MIN_CANDIDATES
from companion.runtime.models_dir import default_model_path

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model

Answers = list[tuple[np.ndarray, float]]  # per output file: (note rows, length in beats)


def add_common(
    parser: argparse.ArgumentParser,
    style: bool = True,
    sliders: bool = False,
    source_help: str = "the .mid file to start from",
) -> None:
    parser.add_argument("--from", dest="source", type=Path, required=True, help=source_help)
    add_output_arguments(parser, "the .mid file to write")
    parser.add_argument("--model", type=Path, help=f"model file (default: {default_model_path()})")
    parser.add_argument(
        "--seed", type=seed(), help="same seed + same options = same file, 0..2147483647 (default: random)"
    )
    parser.add_argument(
        "--tempo",
        type=number_in(MIN_BPM, MAX_BPM, "bpm"),
        help=f"tempo written to the file, {MIN_BPM:g}..{MAX_BPM:g} bpm (default: the input file's)",
    )
    parser.add_argument(
        "--candidates",
        type=int_in(MIN_CANDIDATES, MAX_CANDIDATES),
        default=DEFAULT_CANDIDATES,
        help=f"search width: takes per answer, {MIN_CANDIDATES}..{MAX_CANDIDATES} "
        f"(default {DEFAULT_CANDIDATES})",
    )
    if style:
        parser.add_argument(
            "--style",
            default=STYLE_ANY,
            help=f"a style of the model (see nudge info), or '{STYLE_ANY}': the model's choice",
        )
    if sliders:
        group = parser.add_argument_group("conditions (sliders, 0..1; missing ones are the model's choice)")
        for name, _unit, text in DESCRIPTOR_TABLE:
            group.add_argument(
                f"--{name.replace('_', '-')}",
                dest=f"cond_{name}",
                type=number_in(0.0, 1.0),
                metavar="0..1",
                help=text,
            )
        group.add_argument(
            "--cond",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="any other condition of the model",
        )


def sliders_of(args: argparse.Namespace) -> dict[str, float]:
    """The slider flags given (``nudge generate``'s reading of them)."""
    from companion.commands.generate import _sliders

    return _sliders(args) if hasattr(args, "cond") else {}


def style_of(args: argparse.Namespace) -> str | None:
    style = getattr(args, "style", STYLE_ANY)
    return None if style == STYLE_ANY else style


def run_tool(
    command: str,
    args: argparse.Namespace,
    answer: Callable[[Model, list[MidiClip], int], Answers],
    count: int = 1,
    extra_inputs: tuple[str, ...] = (),
    *,
    read_source: Callable[[Path, Model], MidiClip] | None = None,
) -> int:
    """Check every output (``count``: ``-o NAME.mid`` -> NAME_1.mid .. NAME_N.mid), load the model and the
    clip(s), compute every answer, then write them: ``answer(model, clips, seed)`` -> [(notes,
    length_beats)], one per output; ``clips``: the ``--from`` clip (``read_source(path, model)`` when
    given, else the .mid file), then one per name in ``extra_inputs``."""
    from companion.core.midi_clip import read_midi_clip, write_midi_clip
    from companion.core.outputs import plan_outputs
    from companion.runtime.model import load_model

    try:
        plan = plan_outputs(args.output, MIDI, count, args.force)
        model = load_model(args.model or default_model_path())
        first = read_source(args.source, model) if read_source else read_midi_clip(args.source)
        clips = [first, *(read_midi_clip(getattr(args, name)) for name in extra_inputs)]
        seed_ = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
        results = answer(model, clips, seed_)
        for line in plan.notes:
            print(f"nudge {command}: note: {line}", file=sys.stderr)
        bpm = args.tempo if args.tempo is not None else clips[0].bpm
        if not MIN_BPM <= bpm <= MAX_BPM:
            raise UsageError(
                f"{args.source}: tempo {bpm:g} bpm is outside {MIN_BPM:g}..{MAX_BPM:g}: give --tempo"
            )
        for path, (notes, length) in zip(plan.paths, results, strict=True):
            write_midi_clip(path, notes, length, bpm, model.meta.beats_per_bar)
            print(f"{path}: {length / model.meta.beats_per_bar:g} bars, {len(notes)} notes, seed {seed_}")
    except (NudgeError, OSError) as error:
        print(f"nudge {command}: {error}", file=sys.stderr)
        return 2
    return 0
