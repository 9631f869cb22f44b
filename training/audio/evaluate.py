"""Score the audio analysis on rendered clips (``render``) with mir_eval, against the known grid.

Per clip (its ``.wav`` and ``.truth.json``):
- beats: ``mir_eval.beat.f_measure`` (70 ms window) of the analysis's beats against the grid's beats;
  downbeats: the same for the bars' starts against the grid's bar starts. Both with mir_eval's usual
  trimming of the first 5 s (``trim_beats``), as in MIREX.
- tempo: the track tempo within ``TEMPO_TOLERANCE`` (2 %) of the rendered tempo (no octave allowed).
- onsets: ``mir_eval.onset.f_measure`` (50 ms) of the segment starts against every note-on of the mix
  (drums, bass, keys), and against the drummer's notes alone.
- the drumify input (``companion.audio.rhythm.audio_to_rhythm``, up to 8 bars): its notes' 16th steps,
  read back to time through the tracked grid and then onto the true 16th grid, against the 16th steps
  the drummer played in those bars: F1 of the two step sets.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.audio.render import ClipTruth, read_truth

TEMPO_TOLERANCE = 0.02
ONSET_WINDOW_S = 0.05
TARGETS = {"beat_f": 0.90, "downbeat_f": 0.70, "tempo_ok": 0.95, "rhythm_f1": 0.80}


@dataclass
class ClipScore:
    clip_id: str
    style: str
    bpm: float
    tempo_bpm: float
    tempo_ok: bool
    beat_f: float
    downbeat_f: float
    meter: int
    onset_f_mix: float
    onset_f_drums: float
    rhythm_f1: float
    rhythm_bars: int
    seconds: float


def step_f1(reference: set[int], estimate: set[int]) -> float:
    if not reference and not estimate:
        return 1.0
    hits = len(reference & estimate)
    if hits == 0:
        return 0.0
    precision, recall = hits / len(estimate), hits / len(reference)
    return 2 * precision * recall / (precision + recall)


def rhythm_f1(wav: Path, truth: ClipTruth) -> tuple[float, int]:
    """F1 of the drumify input's 16th steps against the drummer's, on the true grid (see the docstring)."""
    from companion.audio.rhythm import audio_to_rhythm

    rhythm = audio_to_rhythm(wav)
    true_step_s = 60.0 / truth.spec.bpm / 4
    est_seconds = rhythm.downbeat_s + rhythm.take.notes["start_beats"] * 60.0 / rhythm.bpm
    estimate = {round(s / true_step_s) for s in est_seconds}
    window = (rhythm.downbeat_s, rhythm.downbeat_s + rhythm.bars * rhythm.beats_per_bar * 60.0 / rhythm.bpm)
    first, last = (round(w / true_step_s) for w in window)
    reference = {round(b * 4) for b in truth.drum_onset_beats}
    reference = {s for s in reference if first <= s < last}
    return step_f1(reference, estimate), rhythm.bars


def score_clip(wav: Path) -> ClipScore:
    import mir_eval

    from companion.audio.analysis import analyse
    from companion.audio.decode import load_audio

    truth = read_truth(wav.with_suffix(".truth.json"))
    started = time.perf_counter()
    analysis = analyse(load_audio(wav))
    seconds = time.perf_counter() - started
    beats = np.array([b["start"] for b in analysis["beats"]])
    downbeats = np.array([b["start"] for b in analysis["bars"]])
    trim = mir_eval.beat.trim_beats
    beat_f = mir_eval.beat.f_measure(trim(np.array(truth.beats_s)), trim(beats))
    downbeat_f = mir_eval.beat.f_measure(trim(np.array(truth.downbeats_s)), trim(downbeats))
    onsets = np.array([s["start"] for s in analysis["segments"] if s["confidence"] > 0])
    onset_mix = mir_eval.onset.f_measure(np.array(truth.note_onsets_s), onsets, window=ONSET_WINDOW_S)[0]
    drums = np.unique(np.round(np.array(truth.drum_onsets_s), 3))
    onset_drums = mir_eval.onset.f_measure(drums, onsets, window=ONSET_WINDOW_S)[0]
    tempo = float(analysis["track"]["tempo"])
    f1, bars = rhythm_f1(wav, truth)
    return ClipScore(
        clip_id=truth.spec.clip_id,
        style=truth.spec.style,
        bpm=truth.spec.bpm,
        tempo_bpm=round(tempo, 3),
        tempo_ok=abs(tempo / truth.spec.bpm - 1) <= TEMPO_TOLERANCE,
        beat_f=round(float(beat_f), 4),
        downbeat_f=round(float(downbeat_f), 4),
        meter=int(analysis["track"]["time_signature"]),
        onset_f_mix=round(float(onset_mix), 4),
        onset_f_drums=round(float(onset_drums), 4),
        rhythm_f1=round(f1, 4),
        rhythm_bars=bars,
        seconds=round(seconds, 3),
    )


def summarise(scores: list[ClipScore]) -> dict:
    def stats(name: str) -> dict:
        values = np.array([getattr(s, name) for s in scores], dtype=np.float64)
        return {
            "mean": round(float(values.mean()), 4),
            "median": round(float(np.median(values)), 4),
            "p10": round(float(np.percentile(values, 10)), 4),
        }

    summary: dict[str, Any] = {
        "clips": len(scores),
        "beat_f": stats("beat_f"),
        "downbeat_f": stats("downbeat_f"),
        "tempo_ok": round(float(np.mean([s.tempo_ok for s in scores])), 4),
        "meter_4_4": round(float(np.mean([s.meter == 4 for s in scores])), 4),
        "onset_f_mix": stats("onset_f_mix"),
        "onset_f_drums": stats("onset_f_drums"),
        "rhythm_f1": stats("rhythm_f1"),
        "bpm_range": [min(s.bpm for s in scores), max(s.bpm for s in scores)],
    }
    figures = {
        "beat_f": summary["beat_f"]["mean"],
        "downbeat_f": summary["downbeat_f"]["mean"],
        "tempo_ok": summary["tempo_ok"],
        "rhythm_f1": summary["rhythm_f1"]["mean"],
    }
    summary["targets"] = {
        k: {"target": v, "measured": figures[k], "met": figures[k] >= v} for k, v in TARGETS.items()
    }
    return summary


def evaluate_folder(folder: str | os.PathLike, progress: bool = True) -> tuple[list[ClipScore], dict]:
    wavs = sorted(p for p in Path(folder).glob("*.wav") if p.with_suffix(".truth.json").is_file())
    if not wavs:
        raise FileNotFoundError(f"{folder}: no rendered clips (.wav with .truth.json)")
    iterable = wavs
    if progress:
        from tqdm import tqdm

        iterable = tqdm(wavs, unit="clip", desc="score")
    scores = [score_clip(w) for w in iterable]
    summary = summarise(scores)
    summary["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    summary["date"] = time.strftime("%Y-%m-%d")
    return scores, summary


def write_report(path: str | os.PathLike, scores: list[ClipScore], summary: dict) -> Path:
    from companion.core.atomic import atomic_write_text

    payload = {"summary": summary, "clips": [asdict(s) for s in scores]}
    return atomic_write_text(path, json.dumps(payload, indent=1))
