"""``nudge groove --from IN.mid [--amount A] [--seed N] -o OUT.mid``: a drummer's velocities and timing for
the clip's hits (every note kept: pitch, 16th step, length)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool, style_of
from companion.core.cli_args import number_in

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--amount",
        type=number_in(0.0, 1.0),
        default=1.0,
        help="0 = the file's own velocities and timing .. 1 = a drummer's (default 1)",
    )


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model: Model, clips: list[MidiClip], seed: int) -> Answers:
        clip = clips[0]
        notes = tool_clips.groove_clip(
            model,
            clip.notes,
            clip.length_beats,
            args.amount,
            style=style_of(args),
            seed=seed,
            n=args.candidates,
        )
        return [(notes, clip.length_beats)]

    return run_tool("groove", args, answer)
