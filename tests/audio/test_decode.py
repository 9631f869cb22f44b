"""Decoding: every format the issue names, and the reasons a file is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from companion.audio.decode import ANALYSIS_SAMPLE_RATE, AudioError, load_audio
from tests.support.audio import ROOT, audio_stack_or_skip, write_audio


@pytest.fixture(autouse=True)
def _stack():
    audio_stack_or_skip()


def _tone(seconds: float = 2.0, rate: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    return np.stack([left, 0.5 * left], axis=1)  # [n, 2]


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".wav", {}),
        (".flac", {}),
        (".ogg", {"format": "OGG", "subtype": "VORBIS"}),
        (".mp3", {"format": "MP3", "subtype": "MPEG_LAYER_III"}),
    ],
)
def test_each_format_decodes_to_mono_at_the_analysis_rate(tmp_path, suffix, options):
    path = write_audio(tmp_path / f"tone{suffix}", _tone(), **options)
    audio = load_audio(path)
    assert audio.sample_rate == ANALYSIS_SAMPLE_RATE
    assert audio.source_rate == 44100 and audio.channels == 2
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(2.0, abs=0.06)  # MP3 frames pad a little
    # the tone survives: its level is the stereo mix's (0.75 * 0.5 peak)
    assert float(np.max(np.abs(audio.samples))) == pytest.approx(0.375, abs=0.05)


def test_a_part_of_the_file(tmp_path):
    audio = load_audio(write_audio(tmp_path / "a.wav", _tone(4.0)), start_s=1.0, end_s=2.5)
    assert audio.duration_s == pytest.approx(1.5, abs=1e-3)
    assert audio.start_s == 1.0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: write_audio(p, np.zeros((44100 * 2, 2))), "silent"),
        (lambda p: write_audio(p, _tone() * 1e-4), "silent"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00not audio at all" * 10), "unreadable"),
        (lambda p: p.write_bytes(b""), "unreadable"),
        (lambda p: write_audio(p, _tone(0.5)), "shorter than"),
        (lambda p: write_audio(p, np.full((44100 * 2, 1), np.nan), subtype="FLOAT"), "NaN"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=reason):
        load_audio(path)


@pytest.mark.parametrize(
    ("start", "end"), [(-1.0, None), (float("nan"), None), (1.0, 0.5), (0.0, float("inf"))]
)
def test_bad_ranges_are_refused(tmp_path, start, end):
    path = write_audio(tmp_path / "a.wav", _tone())
    with pytest.raises(AudioError):
        load_audio(path, start, end)


def test_without_the_audio_extra_the_error_names_it():
    code = (
        "import sys; sys.modules['soundfile'] = None\n"
        "from companion.audio.decode import load_audio\n"
        "load_audio(sys.argv[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, __file__], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode != 0
    assert "AudioStackMissing" in result.stderr and "pip install 'nudge[audio]'" in result.stderr
