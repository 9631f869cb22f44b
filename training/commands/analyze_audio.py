"""``nudge-train analyze audio PATH... -o CACHE``: the producer's own audio -> Spotify-shaped analyses.

PATH: audio files or folders (searched recursively for WAV, FLAC, OGG, Opus, AIFF and MP3). Each file
becomes one cache record with source kind ``local-audio`` (``training.audio.records``), which
``nudge-train ingest spotify CACHE`` reads like a fetched one. Files already in the cache are not analysed
again; unreadable, silent, too short or too long files are skipped with their reason. Exit codes: 0 every
file analysed or cached; 1 some skipped; 2 bad arguments or the audio extra missing.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders of them")
    parser.add_argument("-o", "--output", required=True, metavar="CACHE", help="cache folder for the records")
    parser.add_argument("--style", default="", help="style label for every file (default: none)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from companion.audio.decode import AUDIO_EXTENSIONS, AudioStackMissing, require_audio_stack
    from training.audio.records import analyse_files, audio_files

    try:
        require_audio_stack("soundfile")
        require_audio_stack("soxr")
        files = audio_files(args.paths, AUDIO_EXTENSIONS)
    except (AudioStackMissing, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not files:
        print(
            f"error: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {' '.join(args.paths)}",
            file=sys.stderr,
        )
        return 2
    summary = analyse_files(files, args.output, args.style, progress=not args.no_progress)
    print(summary.format())
    print(
        f"records in {args.output}: read them with  nudge-train ingest spotify {args.output} -o DATASET.npz"
    )
    return 1 if summary.skipped else 0
