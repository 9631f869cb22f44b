"""The few signal-processing pieces the audio analysis needs, in numpy: no librosa, no numba at run time.

librosa compiles about thirty numba functions the first time a process touches ``librosa.feature`` or
``librosa.beat`` (20-30 s on a busy 2-core machine), which made a one-off ``nudge drumify --from loop.wav``
wait half a minute. The analysis uses only these pieces of it, rewritten here to give librosa 0.11's
results (``tests/audio/test_dsp.py`` checks each against librosa where it is installed):

==========================  ==================================================================
here                        librosa
==========================  ==================================================================
``stft_power``              ``abs(stft(y, n_fft, hop, window="hann", center=True)) ** 2``
``mel_filterbank``          ``filters.mel(sr, n_fft, n_mels, fmin, fmax)`` (Slaney, norm "slaney")
``power_to_db``             ``power_to_db(S, ref=np.max, top_db=top_db)``
``rms``                     ``feature.rms(y, frame_length, hop_length)``
``chroma_filterbank``       ``filters.chroma(sr, n_fft, tuning=0.0)``
``dct_matrix``, ``mfcc``    ``feature.mfcc(S=mel_db, n_mfcc)`` (DCT-II, orthonormal)
``autocorrelate``           ``autocorrelate(x, max_size)``
``peak_pick``               ``util.peak_pick``
``onset_detect``            ``onset.onset_detect(onset_envelope=..., units="frames", wait=...)``
``beat_track``              ``beat.beat_track(onset_envelope=..., bpm=..., tightness=..., trim=True)``
==========================  ==================================================================

The one difference by design: the chroma takes the tuning as A = 440 Hz instead of estimating it
(``chroma_stft``): only the key fields of the analysis read the chroma.
"""

from __future__ import annotations

import functools

import numpy as np

TINY = float(np.finfo(np.float32).tiny)
AMIN = 1e-10  # power_to_db's floor


def hann_window(n: int) -> np.ndarray:
    """The periodic Hann window (scipy's ``get_window("hann", n)``), float32 [n]."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def frame_count(samples: int, hop: int) -> int:
    """Frames of a centred STFT or RMS over ``samples`` samples."""
    return 1 + samples // hop


def _frames(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """float32 [F, n_fft] (a view): centred frames of ``y`` padded with zeros by n_fft // 2 each side."""
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]


def stft_power(y: np.ndarray, n_fft: int, hop: int, block: int = 512) -> np.ndarray:
    """float32 [1 + n_fft // 2, F]: the power spectrogram, Hann window, centred with zero padding."""
    frames = _frames(y, n_fft, hop)  # [F, n_fft]
    window = hann_window(n_fft)
    out = np.empty((1 + n_fft // 2, len(frames)), dtype=np.float32)
    for start in range(0, len(frames), block):  # blocks bound the memory of the windowed copies
        spectrum = np.fft.rfft(frames[start : start + block] * window, axis=1)  # [b, 1 + n_fft // 2]
        out[:, start : start + block] = (spectrum.real**2 + spectrum.imag**2).T
    return out


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default, ``htk=False``)."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    linear = hz / f_sp
    return np.where(
        hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep, linear
    )


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@functools.lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """float32 [n_mels, 1 + n_fft // 2]: triangular filters on Slaney's mel scale, area-normalised."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # [n_mels + 2]
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]  # [n_mels + 2, bins]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    out = weights.astype(np.float32)
    out.flags.writeable = False
    return out


def power_to_db(power: np.ndarray, top_db: float) -> np.ndarray:
    """dB relative to the largest value, floored ``top_db`` below it."""
    log_spec = 10.0 * np.log10(np.maximum(AMIN, power))
    log_spec -= 10.0 * np.log10(max(AMIN, float(np.max(power)) if power.size else AMIN))
    return np.maximum(log_spec, log_spec.max() - top_db) if power.size else log_spec


def rms(y: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """float32 [F]: the root mean square of each centred frame (zero padded), no window."""
    frames = _frames(y, frame_length, hop)
    energy = np.empty(len(frames), dtype=np.float64)
    for start in range(0, len(frames), 1024):
        block = frames[start : start + 1024].astype(np.float64)
        energy[start : start + 1024] = np.mean(block * block, axis=1)
    return np.sqrt(energy).astype(np.float32)


@functools.lru_cache(maxsize=4)
def chroma_filterbank(sr: int, n_fft: int, n_chroma: int = 12) -> np.ndarray:
    """float32 [n_chroma, 1 + n_fft // 2]: librosa's chroma filters (Gaussian bumps per pitch class, C
    first, weighted around octave 5, two octaves wide), tuned to A = 440 Hz."""
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    octaves = np.log2(frequencies / (440.0 / 16))
    bins = n_chroma * octaves
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1]))
    distance = np.subtract.outer(bins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * distance / np.tile(widths, (n_chroma, 1))) ** 2)
    weights /= np.maximum(np.sqrt(np.sum(weights**2, axis=0, keepdims=True)), TINY)
    weights *= np.tile(np.exp(-0.5 * (((bins / n_chroma - 5.0) / 2.0) ** 2)), (n_chroma, 1))
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    out = np.ascontiguousarray(weights[:, : 1 + n_fft // 2], dtype=np.float32)
    out.flags.writeable = False
    return out


def chroma_stft(y: np.ndarray, sr: int, n_fft: int, hop: int) -> np.ndarray:
    """float32 [12, F]: chroma of the power spectrogram, each frame scaled to a maximum of 1."""
    raw = chroma_filterbank(sr, n_fft) @ stft_power(y, n_fft, hop)
    peak = np.max(np.abs(raw), axis=0, keepdims=True)
    return raw / np.where(peak < TINY, 1.0, peak)


@functools.lru_cache(maxsize=4)
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """float64 [n_out, n_in]: the first ``n_out`` rows of the orthonormal DCT-II (scipy's norm="ortho")."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    basis[0] /= np.sqrt(2.0)
    basis.flags.writeable = False
    return basis


def mfcc(mel_db: np.ndarray, n_mfcc: int) -> np.ndarray:
    """[n_mfcc, F]: MFCCs of a log-mel spectrogram (its DCT-II over the bands)."""
    return (dct_matrix(n_mfcc, mel_db.shape[0]) @ mel_db).astype(mel_db.dtype)


def autocorrelate(x: np.ndarray, max_size: int) -> np.ndarray:
    """float64 [max_size]: the (unnormalised) autocorrelation of ``x`` at lags 0 .. max_size - 1."""
    x = np.asarray(x, dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(max(2 * len(x) - 1, 1))))
    spectrum = np.fft.rfft(x, size)
    return np.fft.irfft(spectrum.real**2 + spectrum.imag**2, size)[: min(max_size, len(x))]


def _window_max(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """max of x[n - before : n + after] (clipped to the array) for every n."""
    padded = np.pad(x, (before, after), constant_values=-np.inf)
    return np.lib.stride_tricks.sliding_window_view(padded, before + after)[: len(x)].max(axis=1)


def _window_mean(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """mean of x[n - before : n + after] (clipped to the array) for every n."""
    sums = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    index = np.arange(len(x))
    lo, hi = np.maximum(0, index - before), np.minimum(len(x), index + after)
    return (sums[hi] - sums[lo]) / (hi - lo)


def peak_pick(
    x: np.ndarray, *, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int
) -> np.ndarray:
    """int64 [K]: the frames n where x[n] is the largest of x[n - pre_max : n + post_max], at least
    ``delta`` above the mean of x[n - pre_avg : n + post_avg], and more than ``wait`` frames after the
    previous peak (Böck, Krebs and Schedl 2012, as librosa picks them)."""
    x = np.asarray(x)
    if not len(x):
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(
        (x == _window_max(x, pre_max, post_max)) & (x >= _window_mean(x, pre_avg, post_avg) + delta)
    )
    peaks: list[int] = []
    allowed = 0
    for n in candidates.tolist():  # greedily, each peak closes the next ``wait`` frames
        if n >= allowed:
            peaks.append(n)
            allowed = n + wait + 1
    return np.asarray(peaks, dtype=np.int64)


def onset_detect(envelope: np.ndarray, sr: int, hop: int, wait: int) -> np.ndarray:
    """int64 [K]: onset frames of an onset-strength envelope (scaled to 0..1, then ``peak_pick`` with
    librosa's windows: 30 ms before, 100 ms averages, a threshold of 0.07)."""
    envelope = np.asarray(envelope, dtype=np.float64)
    if not len(envelope):
        return np.zeros(0, dtype=np.int64)
    envelope = envelope - envelope.min()
    envelope = envelope / (envelope.max() + TINY)
    if not envelope.any() or not np.all(np.isfinite(envelope)):
        return np.zeros(0, dtype=np.int64)
    return peak_pick(
        envelope,
        pre_max=int(np.ceil(0.03 * sr // hop)),
        post_max=int(np.ceil(0.00 * sr // hop + 1)),
        pre_avg=int(np.ceil(0.10 * sr // hop)),
        post_avg=int(np.ceil(0.10 * sr // hop + 1)),
        delta=0.07,
        wait=wait,
    )


def _local_max(x: np.ndarray) -> np.ndarray:
    previous = np.concatenate(([x[0]], x[:-1]))
    following = np.concatenate((x[1:], [x[-1]]))
    return (x > previous) & (x >= following)


def beat_track(envelope: np.ndarray, frame_rate: float, bpm: float, tightness: float) -> np.ndarray:
    """int64 [B]: beat frames by Ellis' dynamic programme (2007) at a fixed tempo ``bpm``: each beat
    collects the smoothed envelope there and pays ``tightness`` * log(interval / period)^2 for its
    distance from the previous beat; weak beats at both ends are trimmed."""
    envelope = np.asarray(envelope, dtype=np.float64)
    if not envelope.any():
        return np.zeros(0, dtype=np.int64)
    if not (np.isfinite(bpm) and bpm > 0) or tightness <= 0:
        raise ValueError(f"bpm and tightness must be positive, got {bpm!r}, {tightness!r}")
    period = float(np.round(frame_rate * 60.0 / bpm))  # frames per beat
    normalised = envelope / (envelope.std(ddof=1) + TINY)
    window = np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2)
    normalised[0] = 0.0  # librosa's same-mode convolution never reaches the first frame
    local = np.convolve(normalised, window, mode="same")  # [F]

    count = len(local)
    nearest, farthest = int(np.round(period / 2)), int(2 * period)
    offsets = np.arange(nearest, farthest + 1)  # how far back the previous beat may be, nearest first
    penalty = tightness * (np.log(offsets) - np.log(period)) ** 2
    backlink = np.full(count, -1, dtype=np.int64)
    cumulative = np.empty(count, dtype=np.float64)
    threshold = 0.01 * local.max()
    started = False
    for i in range(count):
        usable = min(len(offsets), i - nearest + 1) if i >= nearest else 0
        best = -1
        if usable > 0:
            scores = cumulative[i - offsets[:usable]] - penalty[:usable]
            k = int(np.argmax(scores))
            best = i - int(offsets[k])
            cumulative[i] = local[i] + scores[k]
        else:
            cumulative[i] = local[i]
        if started or local[i] >= threshold:
            backlink[i] = best
            started = True

    peaks = _local_max(cumulative)
    median = float(np.median(cumulative[peaks])) if peaks.any() else 0.0
    candidates = np.flatnonzero(peaks & (cumulative >= 0.5 * median))
    tail = int(candidates[-1]) if len(candidates) else count - 1
    beats = np.zeros(count, dtype=bool)
    n = tail
    while n >= 0:
        beats[n] = True
        n = backlink[n]

    # trim: beats before the first (after the last) frame whose smoothed score exceeds half the RMS of the
    # beats' smoothed scores
    smooth = np.convolve(local[beats], np.hanning(5))[2 : count + 2]
    limit = 0.5 * np.sqrt(np.mean(smooth**2))
    n = 0
    while n < count and local[n] <= limit:
        beats[n] = False
        n += 1
    n = count - 1
    while n >= 0 and local[n] <= limit:
        beats[n] = False
        n -= 1
    return np.flatnonzero(beats).astype(np.int64)
