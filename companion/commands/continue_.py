"""``nudge continue --from IN.mid --bars N [--style S] [--seed N] -o OUT.mid``: the file's bars unchanged,
then N new bars that go on from them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool, sliders_of, style_of
from companion.core.cli_args import int_in
from companion.core.errors import UsageError
from companion.core.pattern import MAX_BARS

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser, sliders=True)
    parser.add_argument(
        "--bars",
        type=int_in(1, MAX_BARS - 1),
        required=True,
        help=f"new bars after the file's, 1..{MAX_BARS - 1} (the file and them: at most {MAX_BARS} bars)",
    )


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model: Model, clips: list[MidiClip], seed: int) -> Answers:
        clip = clips[0]
        tool_clips.clip_bars(clip.notes, clip.length_beats, model.meta.beats_per_bar)  # no notes, too long...
        if not 1 <= args.bars <= MAX_BARS - clip.bars:
            raise UsageError(
                f"--bars must be 1..{MAX_BARS - clip.bars} for a file of {clip.bars} bars (in all at most "
                f"{MAX_BARS}), got {args.bars}"
            )
        notes, length = tool_clips.continue_clip(
            model,
            clip.notes,
            clip.length_beats,
            args.bars,
            sliders=sliders_of(args),
            style=style_of(args),
            seed=seed,
            n=args.candidates,
        )
        return [(notes, length)]

    return run_tool("continue", args, answer)
