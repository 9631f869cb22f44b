"""``nudge groove --from IN.mid [--amount A] [--seed N] -o OUT.mid``: a drummer's velocities and timing for
the clip's hits (every note kept: pitch, 16th step, length)."""

from __future__ import annotations

import argparse

from companion.commands.tool_common import add_common, run_tool, style_of
from companion.core.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--amount", type=float, default=1.0, help="0 = the file's own dynamics .. 1 = a drummer's (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model, clips, seed):
        if not 0.0 <= args.amount <= 1.0:  # (also NaN)
            raise UsageError(f"--amount must be a number in 0..1, got {args.amount}")
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
