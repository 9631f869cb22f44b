"""``nudge-train evaluate-audio CLIPS_DIR [--report FILE.json]``: mir_eval scores of the audio analysis.

CLIPS_DIR holds rendered clips (``render gmd``, the test split). Prints the summary against the targets
(beat F >= 0.90, downbeat F >= 0.70, tempo within 2 % in >= 95 % of clips, drumify-input onset F1 >= 0.80)
and writes every clip's scores to ``--report``. Exit codes: 0 scored; 2 no clips or no audio extra.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clips", metavar="CLIPS_DIR", help="rendered clips (.wav + .truth.json)")
    parser.add_argument("--report", metavar="FILE", help="write every clip's scores and the summary (JSON)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from companion.audio.decode import AudioStackMissing, require_audio_stack
    from training.audio.evaluate import evaluate_folder, write_report

    try:
        require_audio_stack("soundfile")
        require_audio_stack("mir_eval")
        scores, summary = evaluate_folder(args.clips, progress=not args.no_progress)
    except (AudioStackMissing, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    if args.report:
        print(f"wrote {write_report(args.report, scores, summary)}")
    return 0
