"""``nudge fill --from IN.mid [--seed N] -o OUT.mid``: the file with its last bar replaced by a fill that
leads back to the downbeat; the bars before it unchanged."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool, style_of

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model: Model, clips: list[MidiClip], seed: int) -> Answers:
        clip = clips[0]
        notes = tool_clips.fill_clip(
            model, clip.notes, clip.length_beats, style=style_of(args), seed=seed, n=args.candidates
        )
        return [(notes, clip.length_beats)]

    return run_tool("fill", args, answer)
