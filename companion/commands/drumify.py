"""``nudge drumify --from IN.mid [--style S] [slider flags] [--seed N] -o OUT.mid``: drums for any clip (a
bassline, a melody, taps; any pitch, any channel) whose onsets follow its rhythm."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool, sliders_of, style_of

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser, sliders=True)


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model: Model, clips: list[MidiClip], seed: int) -> Answers:
        clip = clips[0]
        notes = tool_clips.drumify_clip(
            model,
            clip.notes,
            clip.length_beats,
            sliders_of(args),
            style=style_of(args),
            seed=seed,
            n=args.candidates,
        )
        return [(notes, clip.length_beats)]

    return run_tool("drumify", args, answer)
