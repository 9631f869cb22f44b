"""``nudge-train evaluate-audio CLIPS_DIR [--report FILE.json] [--model M.onnx | --no-drumify]``: mir_eval
scores of the audio analysis, and of what ``nudge drumify --from CLIP.wav`` answers.

CLIPS_DIR holds rendered clips (``render gmd``, the test split). Prints the summary against the targets
(beat F >= 0.90, downbeat F >= 0.70, tempo within 2 % in >= 95 % of clips, drumify-input onset F1 >= 0.80,
drumify's output onset F1 >= 0.80 against the drummer's, with ``--model``: the shipped model by default)
and writes every clip's scores to ``--report``. Exit codes: 0 scored; 2 no clips, no audio extra or a
model that does not load.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clips", metavar="CLIPS_DIR", help="rendered clips (.wav + .truth.json)")
    parser.add_argument("--report", metavar="FILE", help="write every clip's scores and the summary (JSON)")
    parser.add_argument(
        "--model", metavar="M.onnx", help="the model drumify runs (default: the shipped default model)"
    )
    parser.add_argument("--no-drumify", action="store_true", help="score the analysis only, not drumify")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from companion.audio.decode import AudioStackMissing, require_audio_stack
    from companion.core.errors import NudgeError
    from companion.runtime.model import load_model
    from companion.runtime.models_dir import default_model_path
    from training.audio.evaluate import evaluate_folder, write_report

    try:
        require_audio_stack("soundfile")
        require_audio_stack("mir_eval")
        model = None
        if not args.no_drumify:
            model = load_model(args.model or default_model_path())
        scores, summary = evaluate_folder(args.clips, progress=not args.no_progress, model=model)
    except (AudioStackMissing, FileNotFoundError, NudgeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    if args.report:
        print(f"wrote {write_report(args.report, scores, summary)}")
    return 0
