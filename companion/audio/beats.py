"""Tempo, beats, downbeats and meter of a piece of audio: the beat model's activations + dynamic programming.

1. The beat model (``companion/audio/beats.onnx``, trained by ``nudge-train fit-beats``; onnxruntime, no
   torch) turns the log-mel frames (``features.model_input``) into two activations per frame: a beat
   starts here, a downbeat starts here.
2. Tempo: the beat activation's autocorrelation, read as a comb (lags P, 2P, 4P and 8P all count: the beat,
   the half bar, the bar and two bars, so a dotted or triplet figure does not pass for the beat; only the
   lags that fit in the audio), within ``BPM_LIMITS``, weighted by a log-normal prior around ``PRIOR_BPM``
   (one octave wide: the activation decides, the prior breaks near-ties).
3. Beats: dynamic programming over the beat activation at that tempo (``dsp.beat_track``, weak
   beats at the ends trimmed), moved to the midpoints when those hold more activation (the programme can
   settle on the off-beats); the tempo is then refined from the beat times (least squares).
4. Meter and downbeats: per beat a downbeat salience (``downbeat_salience``: the downbeat activation, the
   kick and bass bands, less the snare band); the bar length (``METERS``) and phase that collect the most
   of it win (3/4 must beat 4/4 by ``METER_MARGIN``: the model learned from 4/4 only).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from companion.audio import dsp
from companion.audio.features import HOP, Frames, model_input

if TYPE_CHECKING:  # (imported where a session is made: the import is heavy)
    import onnxruntime as ort

MODEL_PATH = Path(__file__).with_name("beats.onnx")
BPM_LIMITS = (55.0, 215.0)
PRIOR_BPM = 115.0
PRIOR_OCTAVES = 1.0  # std of the log2 tempo prior
COMB_LAGS = (1, 2, 4, 8)  # beat, half bar, bar, two bars (in 4/4)
TIGHTNESS = 400.0
METERS = (4, 3)
METER_MARGIN = 1.25
# the downbeat salience of a beat: the model's downbeat activation, the rise in the low mel bands (0-5:
# about 80-330 Hz, kick and bass) and, against it, in the middle ones (10-29: about 590-1770 Hz, the
# snare's backbeat), each scaled 0..1 over the track. Weights chosen on the GMD validation renders: the
# model's downbeat activation alone placed the bar right in fewer clips than the kick (see the docs)
DOWNBEAT_WEIGHTS = (0.5, 1.0, 0.5)  # activation, low bands, middle bands (subtracted)
LOW_BANDS = slice(0, 6)
MIDDLE_BANDS = slice(10, 30)


@dataclass(frozen=True)
class BeatGrid:
    tempo_bpm: float
    tempo_confidence: float  # 0..1
    beats_s: np.ndarray  # float64 [B]
    beat_confidence: np.ndarray  # [B], 0..1: the beat activation there
    downbeat_confidence: np.ndarray  # [B], 0..1: the downbeat activation there
    beats_per_bar: int
    meter_confidence: float  # 0..1
    first_downbeat: int  # index into beats_s of the first downbeat

    @property
    def downbeats_s(self) -> np.ndarray:
        return self.beats_s[self.first_downbeat :: self.beats_per_bar]


@functools.lru_cache(maxsize=2)
def _session(path: str) -> ort.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map.get("nudge_beats")
    if meta is None or json.loads(meta).get("format") != "nudge-beats/1":
        raise ValueError(f"{path}: not a Nudge beat model (no nudge_beats metadata)")
    return session


def model_info(path: str | Path = MODEL_PATH) -> dict:
    return json.loads(_session(str(path)).get_modelmeta().custom_metadata_map["nudge_beats"])


def activations(frames: Frames, path: str | Path = MODEL_PATH) -> np.ndarray:
    """float32 [2, F]: beat and downbeat activations (0..1) per frame."""
    features = model_input(frames)[None]  # [1, 2M, F]
    (out,) = _session(str(path)).run(None, {"features": features})
    return out[0]


def _tempo(beat: np.ndarray, hop_s: float) -> tuple[float, float]:
    """(bpm, confidence) from the comb over the activation's autocorrelation."""
    centred = beat - beat.mean()
    max_lag = round(max(COMB_LAGS) * 60.0 / BPM_LIMITS[0] / hop_s) + 2
    ac = dsp.autocorrelate(centred, max_size=min(max_lag, len(centred)))
    ac = ac / (ac[0] + 1e-9)
    lags = np.linspace(60.0 / BPM_LIMITS[1] / hop_s, 60.0 / BPM_LIMITS[0] / hop_s, 1200)

    def at(lag: np.ndarray) -> np.ndarray:
        return np.interp(lag, np.arange(len(ac)), ac, right=0.0)

    # the lags that fit in the audio count (a two-bar loop has no 8-beat lag to look at)
    fits = [(k * lags < len(ac) - 1).astype(np.float64) for k in COMB_LAGS]
    comb = sum(at(k * lags) * fit for k, fit in zip(COMB_LAGS, fits, strict=True)) / np.maximum(
        sum(fits), 1.0
    )
    bpm = 60.0 / (lags * hop_s)
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    score = np.maximum(comb, 0.0) * prior
    best = int(np.argmax(score))
    confidence = float(score[best] / (score.sum() / len(score) * 10 + score[best] + 1e-9))
    return float(bpm[best]), float(np.clip(confidence * 2, 0.0, 1.0))


def _at(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The largest value within one frame of each of ``frames``."""
    index = np.clip(frames, 0, len(values) - 1)
    return np.max(np.stack([values[np.clip(index + d, 0, len(values) - 1)] for d in (-1, 0, 1)]), axis=0)


def _meter_and_phase(downbeat: np.ndarray) -> tuple[int, int, float]:
    """(beats per bar, first downbeat index, confidence) maximising the downbeat activation on downbeats."""
    best: dict[int, tuple[float, int]] = {}
    for meter in METERS:
        if len(downbeat) < meter:
            continue
        means = [float(downbeat[p::meter].mean()) if len(downbeat[p::meter]) else 0.0 for p in range(meter)]
        phase = int(np.argmax(means))
        rest = float(np.mean([m for p, m in enumerate(means) if p != phase]))
        best[meter] = (means[phase] - rest, phase)
    if not best:
        return 4, 0, 0.0
    meter = 4 if 4 in best else 3
    if 3 in best and 4 in best and best[3][0] > METER_MARGIN * max(best[4][0], 1e-9):
        meter = 3
    contrast, phase = best[meter]
    return meter, phase, float(np.clip(contrast, 0.0, 1.0))


def _unit(values: np.ndarray) -> np.ndarray:
    spread = float(np.ptp(values)) if len(values) else 0.0
    return (values - values.min()) / spread if spread > 1e-9 else np.zeros_like(values)


def downbeat_salience(frames: Frames, downbeat: np.ndarray, found: np.ndarray) -> np.ndarray:
    """float64 [B]: how much each beat sounds like a downbeat (``DOWNBEAT_WEIGHTS``)."""
    rise = np.maximum(0.0, np.diff(frames.mel_db, axis=1, prepend=frames.mel_db[:, :1]))  # [M, F]
    low = _at(rise[LOW_BANDS].mean(axis=0).astype(np.float64), found)
    middle = _at(rise[MIDDLE_BANDS].mean(axis=0).astype(np.float64), found)
    w_act, w_low, w_middle = DOWNBEAT_WEIGHTS
    return w_act * _at(downbeat, found) + w_low * _unit(low) - w_middle * _unit(middle)


def refined_bpm(beats_s: np.ndarray, fallback: float) -> float:
    if len(beats_s) < 4:
        return fallback
    slope = float(np.polyfit(np.arange(len(beats_s), dtype=float), beats_s, 1)[0])
    return 60.0 / slope if slope > 0 else fallback


def track(frames: Frames, path: str | Path = MODEL_PATH) -> BeatGrid:
    """The beat grid of the audio ``frames`` came from (see the module docstring)."""
    acts = activations(frames, path)  # [2, F]
    beat, downbeat = acts[0].astype(np.float64), acts[1].astype(np.float64)
    bpm, tempo_confidence = _tempo(beat, frames.hop_s)
    found = dsp.beat_track(beat, frames.sample_rate / HOP, bpm, TIGHTNESS)
    if len(found) > 2:  # settled on the off-beats? the midpoints would then hold more activation
        mids = ((found[:-1] + found[1:]) // 2).astype(np.int64)
        if _at(beat, mids).mean() > _at(beat, found).mean():
            found = mids
    beats_s = found * frames.hop_s
    salience = downbeat_salience(frames, downbeat, found) if len(found) else np.zeros(0)
    meter, phase, meter_confidence = _meter_and_phase(salience) if len(found) else (4, 0, 0.0)
    return BeatGrid(
        tempo_bpm=refined_bpm(beats_s, bpm),
        tempo_confidence=tempo_confidence,
        beats_s=beats_s.astype(np.float64),
        beat_confidence=np.clip(_at(beat, found), 0.0, 1.0) if len(found) else np.zeros(0),
        downbeat_confidence=np.clip(_at(downbeat, found), 0.0, 1.0) if len(found) else np.zeros(0),
        beats_per_bar=meter,
        meter_confidence=meter_confidence,
        first_downbeat=phase,
    )
