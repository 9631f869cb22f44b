"""An audio file -> an analysis in the shape of Spotify's audio-analysis response (meta, track, bars, beats,
tatums, sections, segments), from the beat grid (``beats``), the onsets (``onsets``) and the frames.

What each field holds here (Spotify's own algorithm is unpublished; the names and units are kept):

- ``meta``: analyzer ``nudge-audio/1`` with the beat model's name, status 0, the decoder used.
- ``track``: duration, samples, tempo and its confidence, time signature and its confidence, loudness
  (mean RMS level in dBFS over the frames above -60 dBFS), key and mode (Krumhansl-Schmuckler key profiles
  on the chroma) with confidences, fade-in end and fade-out start (first and last frame within 30 dB of
  the loudest).
- ``beats``: the tracked beats; confidence = the beat model's activation there. ``bars``: from each
  downbeat to the next (the last bar only when the audio lasts that long); confidence = the downbeat
  activation. ``tatums``: each beat divided into 2 (or 3 when the onsets sit on triplets).
- ``sections``: boundaries at bars where the bar-wise spectrum and chroma change most (a checkerboard
  novelty over ``SECTION_KERNEL_BARS`` bars, at least ``MIN_SECTION_BARS`` bars apart), each with its
  loudness, tempo, key, mode and meter.
- ``segments``: from each onset to the next; loudness at the start, peak loudness and its time; timbre =
  12 numbers: [0] mean level (dB + 60), [1] brightness (0..100: the mel centroid of what rose at the onset,
  what Spotify's second coefficient measures and what ``ingest spotify`` splits voices by), [2..11] MFCCs
  2..11; pitches = the 12 chroma bins scaled to a maximum of 1.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from pathlib import Path

import numpy as np

from companion.audio import beats as beat_tracking
from companion.audio import dsp
from companion.audio.decode import Audio, load_audio
from companion.audio.features import HOP, Frames, mel_frames
from companion.audio.onsets import Onsets, detect_onsets

ANALYZER = "nudge-audio/1"
SECTION_KERNEL_BARS = 4
MIN_SECTION_BARS = 8
SECTION_THRESHOLD = 0.3  # novelty peaks below this share of the largest are no boundary
LEVEL_FLOOR_DB = -60.0
TRIPLET_MARGIN = 1.3
# Krumhansl-Kessler key profiles (C major, C minor)
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _r(value: float, digits: int = 5) -> float:
    return round(float(value), digits)


def _levels_db(audio: Audio, count: int) -> np.ndarray:
    rms = dsp.rms(audio.samples, frame_length=2048, hop=HOP)
    level = 20 * np.log10(np.maximum(rms, 1e-5))
    level = np.pad(level, (0, max(0, count - len(level))), mode="edge")[:count]
    return np.maximum(level, LEVEL_FLOOR_DB)


def _chroma(audio: Audio, count: int) -> np.ndarray:
    coarse = dsp.chroma_stft(audio.samples, audio.sample_rate, n_fft=4096, hop=HOP * 4)
    chroma = np.repeat(coarse, 4, axis=1)
    return np.pad(chroma, ((0, 0), (0, max(0, count - chroma.shape[1]))), mode="edge")[:, :count]  # [12, F]


def key_of(chroma: np.ndarray) -> tuple[int, float, int, float]:
    """(key 0..11, confidence, mode 1 major / 0 minor, confidence) of a 12-bin chroma profile."""
    profile = np.asarray(chroma, dtype=np.float64)
    if profile.sum() <= 0 or np.ptp(profile) < 1e-9:
        return -1, 0.0, 1, 0.0
    scores = []
    for mode, template in ((1, MAJOR), (0, MINOR)):
        for key in range(12):
            scores.append((float(np.corrcoef(profile, np.roll(template, key))[0, 1]), key, mode))
    scores.sort(reverse=True)
    best, key, mode = scores[0]
    other_mode = max(s for s, k, m in scores if m != mode)
    return key, _r(np.clip(best, 0, 1), 3), mode, _r(np.clip(best - other_mode, 0, 1) * 5, 3)


def _tatums(grid: beat_tracking.BeatGrid, onsets: Onsets, durations: np.ndarray) -> int:
    """2, or 3 when the onsets between beats sit on triplet positions rather than on 8ths and 16ths."""
    if len(grid.beats_s) < 2 or not len(onsets):
        return 2
    index = np.searchsorted(grid.beats_s, onsets.times_s, side="right") - 1
    inside = (index >= 0) & (index < len(grid.beats_s))
    phase = (onsets.times_s[inside] - grid.beats_s[index[inside]]) / durations[index[inside]]
    weight = onsets.strength[inside]

    def explained(k: int) -> float:
        near = np.abs(phase * k - np.round(phase * k)) < 0.12 * k / 2
        off_beat = np.abs(phase - np.round(phase)) > 0.08
        return float(weight[near & off_beat].sum())

    return 3 if explained(3) > TRIPLET_MARGIN * max(explained(4), 1e-9) else 2


def _sections(frames: Frames, chroma: np.ndarray, bar_frames: np.ndarray) -> list[tuple[int, float]]:
    """(first bar index, confidence) of each section after the first, from a bar-wise novelty curve."""
    if len(bar_frames) < 2 * MIN_SECTION_BARS:
        return []
    bounds = np.append(bar_frames, frames.count)
    features = []
    for a, b in itertools.pairwise(bounds):
        b = max(b, a + 1)
        spectrum = frames.mel_db[:, a:b].mean(axis=1) / 80.0
        features.append(np.concatenate([spectrum, chroma[:, a:b].mean(axis=1)]))
    x = np.array(features)  # [bars, M + 12]
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    similarity = x @ x.T  # [bars, bars]
    k = SECTION_KERNEL_BARS
    novelty = np.zeros(len(x))
    for i in range(k, len(x) - k + 1):
        past, future = slice(i - k, i), slice(i, i + k)
        novelty[i] = (
            similarity[past, past].mean()
            + similarity[future, future].mean()
            - 2 * similarity[past, future].mean()
        )
    if novelty.max() <= 0:
        return []
    found: list[tuple[int, float]] = []
    for i in np.argsort(-novelty):
        if novelty[i] < SECTION_THRESHOLD * novelty.max():
            break
        if i < MIN_SECTION_BARS // 2 or any(abs(i - j) < MIN_SECTION_BARS for j, _ in found):
            continue
        found.append((int(i), _r(novelty[i] / novelty.max(), 3)))
    return sorted(found)


def _interval(start: float, duration: float, confidence: float) -> dict:
    return {"start": _r(start), "duration": _r(duration), "confidence": _r(np.clip(confidence, 0, 1), 3)}


def analyse(audio: Audio, frames: Frames | None = None) -> dict:
    """The Spotify-shaped analysis of decoded audio (see the module docstring)."""
    started = time.perf_counter()
    frames = frames or mel_frames(audio)
    duration = audio.duration_s
    grid = beat_tracking.track(frames)
    onsets = detect_onsets(frames)
    level = _levels_db(audio, frames.count)  # [F]
    chroma = _chroma(audio, frames.count)  # [12, F]
    mfcc = dsp.mfcc(frames.mel_db, 12)  # [12, F]
    hop = frames.hop_s

    beats = grid.beats_s
    period = 60.0 / grid.tempo_bpm
    durations = np.append(np.diff(beats), period) if len(beats) else np.zeros(0)
    beat_items = [_interval(s, d, c) for s, d, c in zip(beats, durations, grid.beat_confidence, strict=True)]
    downbeats = np.arange(grid.first_downbeat, len(beats), grid.beats_per_bar)
    bar_items, bar_frames = [], []
    for n, i in enumerate(downbeats):
        end_index = i + grid.beats_per_bar
        end = beats[end_index] if end_index < len(beats) else beats[i] + grid.beats_per_bar * period
        if end > duration + 0.5 * period:
            break
        bar_items.append(_interval(beats[i], end - beats[i], grid.downbeat_confidence[i]))
        bar_frames.append(round(beats[i] / hop))
        del n
    k = _tatums(grid, onsets, durations)
    tatum_items = [
        _interval(s + j * d / k, d / k, c)
        for s, d, c in zip(beats, durations, grid.beat_confidence, strict=True)
        for j in range(k)
    ]
    key, key_conf, mode, mode_conf = key_of(chroma.sum(axis=1))
    loud = level[level > LEVEL_FLOOR_DB]
    track_loudness = float(10 * np.log10(np.mean(10 ** (loud / 10)))) if len(loud) else LEVEL_FLOOR_DB
    audible = np.flatnonzero(level > level.max() - 30.0)
    segments = _segments(onsets, level, chroma, mfcc, frames, duration)
    boundaries = [(0, 1.0), *_sections(frames, chroma, np.asarray(bar_frames, dtype=np.int64))]
    section_starts = [0.0] + [bar_items[i]["start"] for i, _ in boundaries[1:]]
    section_ends = [*section_starts[1:], duration]
    section_items = []
    for (_, confidence), start, end in zip(boundaries, section_starts, section_ends, strict=True):
        a, b = int(start / hop), max(int(end / hop), int(start / hop) + 1)
        inside = beats[(beats >= start) & (beats < end)]
        s_key, s_key_conf, s_mode, s_mode_conf = key_of(chroma[:, a:b].sum(axis=1))
        part = level[a:b]
        section_items.append(
            {
                **_interval(start, end - start, confidence),
                "loudness": _r(10 * np.log10(np.mean(10 ** (part / 10))), 3),
                "tempo": _r(beat_tracking.refined_bpm(inside, grid.tempo_bpm), 3),
                "tempo_confidence": _r(grid.tempo_confidence, 3),
                "key": s_key,
                "key_confidence": s_key_conf,
                "mode": s_mode,
                "mode_confidence": s_mode_conf,
                "time_signature": grid.beats_per_bar,
                "time_signature_confidence": _r(grid.meter_confidence, 3),
            }
        )
    return {
        "meta": {
            "analyzer_version": ANALYZER,
            "platform": platform.system(),
            "detailed_status": "OK",
            "status_code": 0,
            "timestamp": int(time.time()),
            "analysis_time": _r(time.perf_counter() - started, 3),
            "input_process": f"{audio.decoder} {audio.source_rate}->{audio.sample_rate}",
        },
        "track": {
            "num_samples": len(audio.samples),
            "duration": _r(duration),
            "sample_md5": "",
            "offset_seconds": _r(audio.start_s),
            "window_seconds": 0,
            "analysis_sample_rate": audio.sample_rate,
            "analysis_channels": 1,
            "end_of_fade_in": _r(audible[0] * hop if len(audible) else 0.0),
            "start_of_fade_out": _r(audible[-1] * hop if len(audible) else duration),
            "loudness": _r(track_loudness, 3),
            "tempo": _r(grid.tempo_bpm, 3),
            "tempo_confidence": _r(grid.tempo_confidence, 3),
            "time_signature": grid.beats_per_bar,
            "time_signature_confidence": _r(grid.meter_confidence, 3),
            "key": key,
            "key_confidence": key_conf,
            "mode": mode,
            "mode_confidence": mode_conf,
        },
        "bars": bar_items,
        "beats": beat_items,
        "tatums": tatum_items,
        "sections": section_items,
        "segments": segments,
    }


def _segments(
    onsets: Onsets, level: np.ndarray, chroma: np.ndarray, mfcc: np.ndarray, frames: Frames, duration: float
) -> list[dict]:
    hop = frames.hop_s
    starts = onsets.times_s
    if not len(starts) or starts[0] > hop:  # the audio before the first onset is a segment too
        starts = np.concatenate([[0.0], starts])
        strength = np.concatenate([[0.0], onsets.strength])
        brightness = np.concatenate([[0.0], onsets.brightness])
    else:
        strength, brightness = onsets.strength, onsets.brightness
    ends = np.append(starts[1:], duration)
    items = []
    for start, end, conf, bright in zip(starts, ends, strength, brightness, strict=True):
        a = min(round(start / hop), frames.count - 1)
        b = max(min(round(end / hop), frames.count), a + 1)
        peak = a + int(np.argmax(level[a:b]))
        attack = slice(a, min(b, a + 10))  # up to ~0.23 s describes the sound
        pitches = chroma[:, a:b].mean(axis=1)
        pitches = pitches / (pitches.max() + 1e-9)
        timbre = [level[attack].mean() + 60.0, bright * 100.0, *mfcc[2:12, attack].mean(axis=1)]
        items.append(
            {
                **_interval(start, end - start, conf),
                "loudness_start": _r(level[a], 3),
                "loudness_max_time": _r((peak - a) * hop),
                "loudness_max": _r(level[peak], 3),
                "loudness_end": _r(level[b - 1], 3),
                "pitches": [_r(p, 3) for p in pitches],
                "timbre": [_r(t, 3) for t in timbre],
            }
        )
    return items


def analyse_file(path: str | os.PathLike) -> dict:
    """Decode ``path`` and analyse it."""
    return analyse(load_audio(Path(path)))
