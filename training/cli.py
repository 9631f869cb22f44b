"""``nudge-train``: ingest data, train, evaluate and export models."""

from __future__ import annotations

from collections.abc import Sequence

from companion.core.cli_base import run_cli

# command            module                              help
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest midi": ("training.commands.ingest_midi", "slice a folder of drum .mid files into a dataset .npz"),
    "ingest spotify": (
        "training.commands.ingest_spotify",
        "turn a folder of Spotify audio-analysis JSON into a dataset",
    ),
    "fetch spotify": (
        "training.commands.fetch_spotify",
        "fetch audio analyses through the Spotify Web API (spotipy)",
    ),
    "analyze audio": (
        "training.commands.analyze_audio",
        "analyse your own audio files into Spotify-shaped analysis records (local-audio)",
    ),
    "render gmd": (
        "training.commands.render_gmd",
        "render Groove MIDI Dataset performances with a band to audio (fluidsynth), with the true grid",
    ),
    "fit-beats": ("training.commands.fit_beats", "train the audio beat/downbeat model on rendered clips"),
    "evaluate-audio": (
        "training.commands.evaluate_audio",
        "score the audio analysis on rendered clips with mir_eval (beats, downbeats, tempo, onsets)",
    ),
    "fit": ("training.commands.fit", "train the conditional GAN on a dataset .npz"),
    "evaluate": (
        "training.commands.evaluate",
        "compare a model's patterns with held-out real ones; write a report",
    ),
    "evaluate-lock": (
        "training.commands.evaluate_lock",
        "how well voice lock's new voices fit the kept ones (realism on whole patterns)",
    ),
    "evaluate-tools": (
        "training.commands.evaluate_tools",
        "Groove, Drumify, Continue, Interpolate and Fill on the test split, against their baselines",
    ),
    "fit-tools": (
        "training.commands.fit_tools",
        "teach a trained generator Groove, Drumify, Continue and Fill (its tools graph)",
    ),
    "export": ("training.commands.export", "export a checkpoint's generator to ONNX with its metadata"),
    "card": (
        "training.commands.card",
        "write a model's card (data and credit, recipe, figures) from its metadata and evaluation report",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("nudge-train", "Train Nudge's pattern generator.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
