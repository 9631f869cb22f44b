"""Audio files -> mono float32 samples at the analysis rate (soundfile / libsndfile, soxr to resample).

Reads WAV, FLAC, OGG/Vorbis, Opus, AIFF and MP3 through libsndfile (the ``soundfile`` wheel carries it with
its MP3 decoder); other containers through ``audioread`` when a decoder for them (ffmpeg, GStreamer) is on
the machine. Nothing is downloaded. Unreadable, empty, too long and silent files raise ``AudioError``
with the reason.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from companion.core.errors import DataError, UsageError

ANALYSIS_SAMPLE_RATE = 22050
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
AUDIO_EXTRA = "pip install 'nudge[audio]'"
MIN_SECONDS = 1.0  # shorter than a beat at 60 BPM: nothing to track
MAX_SECONDS = 30 * 60.0
SILENCE_DBFS = -60.0  # a file whose peak stays below this is silent


class AudioError(DataError):
    """An audio file cannot be analysed; the message says why (unreadable, empty, silent, too long)."""


class AudioStackMissing(UsageError):
    """The optional audio libraries are not installed; the message names the extra that brings them."""


def require_audio_stack(module: str = "soundfile") -> ModuleType:
    """Import one of the audio extra's libraries, or raise ``AudioStackMissing`` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise AudioStackMissing(
            f"reading audio needs the audio extra ({module} is missing): {AUDIO_EXTRA}"
        ) from error


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32 [N], mono, at sample_rate
    sample_rate: int
    source_rate: int
    channels: int
    start_s: float  # where in the file the samples start
    decoder: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _read_soundfile(path: Path, start_s: float, end_s: float | None) -> tuple[np.ndarray, int, str]:
    soundfile = require_audio_stack("soundfile")
    with soundfile.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        start = round(start_s * rate)
        stop = handle.frames if end_s is None else min(handle.frames, round(end_s * rate))
        if handle.frames > MAX_SECONDS * rate and end_s is None:
            raise AudioError(f"longer than {MAX_SECONDS / 60:.0f} minutes: pass a start and an end")
        handle.seek(min(start, handle.frames))
        data = handle.read(max(0, stop - start), dtype="float32", always_2d=True)  # [n, channels]
        return data, rate, f"libsndfile {handle.format}"


def _read_audioread(path: Path, start_s: float, end_s: float | None) -> tuple[np.ndarray, int, str]:
    """Decode through audioread: whichever decoder it finds on the machine (ffmpeg, GStreamer, ...)."""
    audioread = require_audio_stack("audioread")
    try:
        with audioread.audio_open(str(path)) as handle:
            rate, channels = int(handle.samplerate), int(handle.channels)
            if handle.duration > MAX_SECONDS and end_s is None:
                raise AudioError(f"longer than {MAX_SECONDS / 60:.0f} minutes: pass a start and an end")
            pcm = b"".join(handle)
    except (audioread.DecodeError, OSError, EOFError) as error:
        raise AudioError(f"unreadable ({type(error).__name__}: {error})") from error
    data = np.frombuffer(pcm[: len(pcm) // (2 * channels) * 2 * channels], dtype="<i2")
    data = data.reshape(-1, channels).astype(np.float32) / 32768.0
    stop = None if end_s is None else round(end_s * rate)
    return data[round(start_s * rate) : stop], rate, "audioread"


def load_audio(
    path: str | os.PathLike,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_rate: int = ANALYSIS_SAMPLE_RATE,
) -> Audio:
    """Decode ``path`` (optionally ``start_s``..``end_s``) to mono float32 at ``sample_rate``."""
    path = Path(path)
    if not math.isfinite(start_s) or start_s < 0:
        raise AudioError(f"start must be a finite number of seconds >= 0, got {start_s!r}")
    if end_s is not None and (not math.isfinite(end_s) or end_s <= start_s):
        raise AudioError(f"end must be a finite number of seconds after the start, got {end_s!r}")
    if not path.is_file():
        raise AudioError(f"not a file: {path}")
    soundfile = require_audio_stack("soundfile")
    try:
        data, rate, decoder = _read_soundfile(path, start_s, end_s)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        try:
            data, rate, decoder = _read_audioread(path, start_s, end_s)
        except AudioError:
            raise AudioError(f"unreadable ({error})") from error
    if data.size == 0:
        raise AudioError("no audio samples (empty file or a start past its end)")
    mono = data.mean(axis=1)  # [n]
    if not np.all(np.isfinite(mono)):
        raise AudioError("the audio holds NaN or infinite samples")
    if len(mono) / rate < MIN_SECONDS:
        raise AudioError(f"shorter than {MIN_SECONDS:g} s ({len(mono) / rate:.2f} s)")
    peak = float(np.max(np.abs(mono)))
    if peak <= 0 or 20 * math.log10(peak) < SILENCE_DBFS:
        level = "-inf" if peak <= 0 else f"{20 * math.log10(peak):.1f}"
        raise AudioError(f"silent (peak {level} dBFS, below {SILENCE_DBFS:g})")
    if rate != sample_rate:
        soxr = require_audio_stack("soxr")
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return Audio(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        sample_rate=sample_rate,
        source_rate=int(rate),
        channels=int(data.shape[1]),
        start_s=float(start_s),
        decoder=decoder,
    )
