"""companion.audio.dsp against librosa 0.11 (the reference it replaces at run time), on a drum-like signal,
and the whole analysis in a fresh process with librosa and numba blocked (no compilation before a result)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from companion.audio import dsp
from tests.support.audio import ROOT, audio_required, audio_stack_or_skip, write_audio

SR = 22050
HOP = 512


def _librosa():
    try:
        import librosa
    except ImportError:
        if audio_required():
            pytest.fail("NUDGE_REQUIRE_AUDIO is set but librosa (the dsp parity reference, [dev]) is missing")
        pytest.skip("librosa (the parity reference) is not installed: pip install -e '.[dev]'")
    return librosa


def _groove(seconds: float = 12.0, bpm: float = 104.0, seed: int = 0) -> np.ndarray:
    """float32 [n]: kicks on 1 and 3, snares on 2 and 4, noise hats on 8ths, a bass tone, a little noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = 0.3 * np.sin(2 * np.pi * 55.0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
    beat = 60.0 / bpm
    for k in range(int(seconds / beat * 2)):
        at = int(k * beat / 2 * SR)
        length = min(n - at, int(0.2 * SR))
        if length <= 0:
            break
        decay = np.exp(-np.arange(length) / (0.03 * SR))
        if k % 4 == 0:
            sound = np.sin(2 * np.pi * 60.0 * np.arange(length) / SR) * decay
        elif k % 4 == 2:
            sound = rng.normal(size=length) * decay * 0.7
        else:
            sound = rng.normal(size=length) * np.exp(-np.arange(length) / (0.005 * SR)) * 0.3
        y[at : at + length] += sound
    y += 0.003 * rng.normal(size=n)
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


@pytest.fixture(scope="module")
def signal():
    return _groove()


def test_stft_mel_and_db_match_librosa(signal):
    librosa = _librosa()
    power = dsp.stft_power(signal, 2048, HOP)
    reference = np.abs(librosa.stft(signal, n_fft=2048, hop_length=HOP)) ** 2
    assert power.shape == reference.shape == (1025, dsp.frame_count(len(signal), HOP))
    assert np.max(np.abs(power - reference)) <= 1e-5 * reference.max()
    bank = dsp.mel_filterbank(SR, 2048, 64, 30.0, 11000.0)
    assert np.allclose(
        bank, librosa.filters.mel(sr=SR, n_fft=2048, n_mels=64, fmin=30.0, fmax=11000.0), atol=1e-7
    )
    mel = librosa.feature.melspectrogram(
        y=signal, sr=SR, n_fft=2048, hop_length=HOP, n_mels=64, fmin=30.0, fmax=11000.0
    )
    db = dsp.power_to_db(bank @ power, top_db=80.0)
    assert np.max(np.abs(db - librosa.power_to_db(mel, ref=np.max, top_db=80.0))) < 1e-3  # dB
    assert abs(db.max()) < 1e-4 and db.min() >= -80.0


def test_rms_chroma_and_mfcc_match_librosa(signal):
    librosa = _librosa()
    assert np.allclose(
        dsp.rms(signal, 2048, HOP),
        librosa.feature.rms(y=signal, frame_length=2048, hop_length=HOP)[0],
        atol=1e-6,
    )
    chroma = dsp.chroma_stft(signal, SR, n_fft=4096, hop=2048)
    reference = librosa.feature.chroma_stft(y=signal, sr=SR, n_fft=4096, hop_length=2048, tuning=0.0)
    assert chroma.shape == reference.shape and np.max(np.abs(chroma - reference)) < 1e-4
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=signal, sr=SR, n_mels=64), ref=np.max)
    assert np.allclose(dsp.mfcc(mel_db, 12), librosa.feature.mfcc(S=mel_db, n_mfcc=12), atol=1e-3)


def test_autocorrelation_onsets_and_beats_match_librosa(signal):
    librosa = _librosa()
    noise = np.random.default_rng(1).normal(size=3001)
    assert np.allclose(dsp.autocorrelate(noise, 700), librosa.autocorrelate(noise, max_size=700))
    mel_db = dsp.power_to_db(
        dsp.mel_filterbank(SR, 2048, 64, 30.0, 11000.0) @ dsp.stft_power(signal, 2048, HOP), 80.0
    )
    envelope = np.maximum(0.0, np.diff(mel_db, axis=1, prepend=mel_db[:, :1])).mean(axis=0).astype(np.float64)
    for wait in (1, 3):
        onsets = dsp.onset_detect(envelope, SR, HOP, wait=wait)
        expected = librosa.onset.onset_detect(
            onset_envelope=envelope, sr=SR, hop_length=HOP, units="frames", wait=wait
        )
        assert len(onsets) > 20 and np.array_equal(onsets, expected)
    for bpm in (70.0, 104.0, 151.3):
        beats = dsp.beat_track(envelope, SR / HOP, bpm, 400.0)
        _, expected = librosa.beat.beat_track(
            onset_envelope=envelope, sr=SR, hop_length=HOP, bpm=bpm, tightness=400.0, trim=True
        )
        assert len(beats) > 10 and np.array_equal(beats, expected)


def test_peak_pick_by_hand():
    x = np.array([0.0, 1.0, 0.0, 0.0, 0.9, 0.0, 0.95, 0.0, 0.0, 0.0])
    common = {"pre_max": 1, "post_max": 1, "pre_avg": 1, "post_avg": 1, "delta": 0.1}
    assert dsp.peak_pick(x, wait=0, **common).tolist() == [1, 4, 6]
    assert dsp.peak_pick(x, wait=2, **common).tolist() == [1, 4]  # 6 is within 2 frames of 4
    assert dsp.peak_pick(np.zeros(0), wait=0, **common).tolist() == []
    assert dsp.onset_detect(np.zeros(50), SR, HOP, wait=1).tolist() == []


def test_beat_track_follows_a_pulse_and_refuses_nonsense():
    envelope = np.zeros(43 * 20)
    envelope[10::26] = 1.0  # 99.2 BPM at 43.07 frames per second
    beats = dsp.beat_track(envelope, SR / HOP, 99.2, 400.0)
    assert beats[0] == 10 and np.all(np.diff(beats[:25]) == 26)  # on the pulse (the tail may drift)
    assert dsp.beat_track(np.zeros(100), SR / HOP, 120.0, 400.0).tolist() == []
    with pytest.raises(ValueError):
        dsp.beat_track(envelope, SR / HOP, float("nan"), 400.0)


def test_the_analysis_runs_in_a_fresh_process_without_librosa_or_numba(tmp_path):
    """The run-time path (decode, features, the beat model, beats, onsets, the analysis, the drumify input)
    needs neither: a fresh ``analyze`` / ``drumify --from`` pays no numba compilation."""
    audio_stack_or_skip()
    path = write_audio(tmp_path / "groove.wav", _groove(seconds=16.0), SR)
    code = (
        "import sys\n"
        "sys.modules['librosa'] = None; sys.modules['numba'] = None\n"
        "from companion.audio.analysis import analyse_file\n"
        "from companion.audio.rhythm import audio_to_rhythm\n"
        "analysis = analyse_file(sys.argv[1])\n"
        "rhythm = audio_to_rhythm(sys.argv[1])\n"
        "print(round(analysis['track']['tempo']), len(analysis['beats']), rhythm.bars)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    tempo, beats, bars = (int(v) for v in result.stdout.split())
    assert abs(tempo - 104) <= 2 and beats >= 20 and bars >= 4
