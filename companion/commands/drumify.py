"""``nudge drumify --from IN.mid [--style S] [slider flags] [--seed N] -o OUT.mid``: drums for any clip (a
bassline, a melody, taps; any pitch, any channel) whose onsets follow its rhythm."""

from __future__ import annotations

import argparse

from companion.commands.tool_common import add_common, run_tool, sliders_of, style_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser, sliders=True)


def run(args: argparse.Namespace) -> int:
    from companion.runtime import tool_clips

    def answer(model, clips, seed):
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
