"""``nudge interpolate --from A.mid --to B.mid --count N [--seed N] -o OUT.mid``: N patterns that lead from
A to B, written as OUT_1.mid (A) .. OUT_N.mid (B), as ``nudge generate --count`` numbers its files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool
from companion.core.cli_args import int_in
from companion.core.errors import UsageError

MIN_COUNT, MAX_COUNT = 3, 16  # companion.runtime.interpolate's (checked by tests): A and B are the ends


if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser, style=False)
    parser.add_argument("--to", type=Path, required=True, help="the .mid file to end at (as long as --from)")
    parser.add_argument(
        "--count",
        type=int_in(MIN_COUNT, MAX_COUNT),
        required=True,
        help=f"patterns from A to B, both ends included, {MIN_COUNT}..{MAX_COUNT}",
    )


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model: Model, clips: list[MidiClip], seed: int) -> Answers:
        a, b = clips
        if a.bars != b.bars:
            raise UsageError(
                f"A and B must have the same length: {args.source} is {a.bars} bars, {args.to} {b.bars}"
            )
        path = tool_clips.interpolate_clips(
            model,
            a.notes,
            a.length_beats,
            b.notes,
            b.length_beats,
            count=args.count,
            seed=seed,
            n=args.candidates,
        )
        return [(notes, a.length_beats) for notes in path]

    return run_tool("interpolate", args, answer, count=args.count, extra_inputs=("to",))
