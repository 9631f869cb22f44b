"""Onsets of a piece of audio, with their strength, loudness and brightness (peak picking).

An onset is a peak of the spectral flux of the log-mel frames (``dsp.onset_detect``, as librosa's). Its
strength is the flux there scaled by the file's 99th percentile (0..1); its brightness is the centroid,
over the mel bands, of the rise in magnitude into that frame (0..1: 0 = all in the lowest band): what rose
at the onset, weighted by its energy, so a kick (with or without a hat) reads low, a snare in the middle
and a hat alone high, whatever holds on beneath them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.audio import dsp
from companion.audio.features import HOP, N_MELS, Frames

WAIT_S = 0.03  # two onsets at least this far apart


@dataclass(frozen=True)
class Onsets:
    frames: np.ndarray  # int64 [K]
    times_s: np.ndarray  # float64 [K]
    strength: np.ndarray  # float64 [K], 0..1
    brightness: np.ndarray  # float64 [K], 0..1

    def __len__(self) -> int:
        return len(self.frames)


def flux(frames: Frames) -> np.ndarray:
    """float32 [N_MELS, F]: the positive first difference of the log-mel frames (dB)."""
    return np.maximum(0.0, np.diff(frames.mel_db, axis=1, prepend=frames.mel_db[:, :1]))


def detect_onsets(frames: Frames) -> Onsets:
    rise = flux(frames)  # [M, F]
    envelope = rise.mean(axis=0)
    found = dsp.onset_detect(envelope, frames.sample_rate, HOP, wait=max(1, round(WAIT_S / frames.hop_s)))
    scale = float(np.percentile(envelope, 99)) or 1.0
    strength = np.clip(envelope[found] / scale, 0.0, 1.0) if len(found) else np.zeros(0)
    bands = np.arange(N_MELS, dtype=np.float64)
    magnitude = np.sqrt(frames.mel_power)  # [M, F]
    gain = np.maximum(0.0, magnitude[:, found] - magnitude[:, np.maximum(found - 2, 0)])  # [M, K]
    at = gain + 1e-12
    brightness = (bands @ at) / (at.sum(axis=0) + 1e-9) / (N_MELS - 1) if len(found) else np.zeros(0)
    return Onsets(found, found * frames.hop_s, strength.astype(np.float64), brightness.astype(np.float64))
