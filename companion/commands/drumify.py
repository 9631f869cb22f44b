"""``nudge drumify --from IN.mid [--style S] [slider flags] [--seed N] -o OUT.mid``: drums for any clip (a
bassline, a melody, taps; any pitch, any channel) whose onsets follow its rhythm.

``--from LOOP.wav`` (any of ``companion.audio.decode.AUDIO_EXTENSIONS``; needs the audio extra): the
loop's onsets on the bar grid of its tracked beats and downbeats (``companion.audio.rhythm``), in the
model's meter, at most 8 bars from the first downbeat; ``--start`` / ``--end`` pick a part of the file.
The file is written at the tracked tempo unless ``--tempo`` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from companion.commands.tool_common import Answers, add_common, run_tool, sliders_of, style_of
from companion.core.cli_args import number_in

if TYPE_CHECKING:
    from companion.core.midi_clip import MidiClip
    from companion.runtime.model import Model

MAX_AUDIO_SECONDS = 30 * 60.0  # companion.audio.decode.MAX_SECONDS (not imported: the extra is optional)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(
        parser,
        sliders=True,
        source_help="the .mid file to start from, or an audio loop (.wav .flac .ogg .mp3 .aiff ...)",
    )
    audio = parser.add_argument_group("audio --from (needs pip install 'nudge[audio]')")
    seconds = number_in(0.0, MAX_AUDIO_SECONDS, "s")
    audio.add_argument(
        "--start", type=seconds, default=0.0, metavar="SECONDS", help="where in the file to start (default 0)"
    )
    audio.add_argument(
        "--end", type=seconds, metavar="SECONDS", help="where in the file to stop (default: its end)"
    )


def is_audio(path: Path) -> bool:
    from companion.audio.decode import AUDIO_EXTENSIONS

    return path.suffix.lower() in AUDIO_EXTENSIONS


def read_source(args: argparse.Namespace) -> Callable[[Path, Model], MidiClip]:
    """The ``--from`` reader: an audio file's onset rhythm as a clip, or the .mid file."""
    from companion.core.errors import UsageError
    from companion.core.midi_clip import read_midi_clip

    def read(path: Path, model: Model) -> MidiClip:
        if not is_audio(path):
            if args.start or args.end is not None:
                raise UsageError("--start and --end are for an audio --from (.wav, .flac, .mp3, ...)")
            return read_midi_clip(path)
        from companion.audio.rhythm import audio_to_rhythm

        end = args.end
        if end is not None and end <= args.start:
            raise UsageError(f"--end ({end:g} s) must come after --start ({args.start:g} s)")
        rhythm = audio_to_rhythm(path, args.start, end, beats_per_bar=model.meta.beats_per_bar)
        print(
            f"nudge drumify: note: {path}: {rhythm.bars} bars at {rhythm.bpm:.1f} bpm from "
            f"{rhythm.downbeat_s:.2f} s (the tracked first downbeat), {len(rhythm.take.notes)} onsets",
            file=sys.stderr,
        )
        return rhythm.to_clip()

    return read


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

    return run_tool("drumify", args, answer, read_source=read_source(args))
