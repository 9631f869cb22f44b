"""Frame features shared by the beat model (training and runtime) and the onset/segment analysis.

One log-mel spectrogram per file (``N_MELS`` bands from ``FMIN_HZ`` to ``FMAX_HZ``, ``N_FFT`` window, hop
``HOP`` samples at 22.05 kHz: 43.07 frames per second):

- ``mel_db``: dB relative to the file's loudest bin, floored at -80 dB (so the gain does not matter);
- the beat model's input (``model_input``): ``mel_db / 80 + 1`` (0..1) stacked on its positive first
  difference (the spectral flux per band): float32 [2 * N_MELS, F];
- the onsets (``onsets``) peak-pick the flux averaged over the bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.audio import dsp
from companion.audio.decode import Audio

HOP = 512
N_FFT = 2048
N_MELS = 64
FMIN_HZ = 30.0
FMAX_HZ = 11000.0
FLOOR_DB = 80.0


@dataclass(frozen=True)
class Frames:
    sample_rate: int
    mel_power: np.ndarray  # float32 [N_MELS, F], absolute power (for loudness)
    mel_db: np.ndarray  # float32 [N_MELS, F], dB below the loudest bin, -80..0

    @property
    def hop_s(self) -> float:
        return HOP / self.sample_rate

    @property
    def count(self) -> int:
        return self.mel_db.shape[1]

    def times_s(self) -> np.ndarray:
        return np.arange(self.count) * self.hop_s


def mel_frames(audio: Audio) -> Frames:
    spectrum = dsp.stft_power(audio.samples, N_FFT, HOP)  # [1 + N_FFT / 2, F]
    power = dsp.mel_filterbank(audio.sample_rate, N_FFT, N_MELS, FMIN_HZ, FMAX_HZ) @ spectrum  # [M, F]
    mel_db = dsp.power_to_db(power, top_db=FLOOR_DB)
    return Frames(audio.sample_rate, power.astype(np.float32), mel_db.astype(np.float32))


def model_input(frames: Frames) -> np.ndarray:
    """float32 [2 * N_MELS, F]: the scaled log-mel and its positive flux."""
    level = frames.mel_db / FLOOR_DB + 1.0
    flux = np.maximum(0.0, np.diff(level, axis=1, prepend=level[:, :1]))
    return np.concatenate([level, flux], axis=0).astype(np.float32)
