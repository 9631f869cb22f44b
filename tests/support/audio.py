"""Audio for the tests: skip (or, with ``NUDGE_REQUIRE_AUDIO=1`` as in CI, fail) where the audio extra,
fluidsynth or a GM SoundFont is missing; loops rendered from MIDI we write here, with a known grid."""

from __future__ import annotations

import os
from pathlib import Path

import mido
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GMD_DIR = ROOT.parent / "shared" / "data" / "groove-midi-v1"


def audio_required() -> bool:
    return os.environ.get("NUDGE_REQUIRE_AUDIO", "") not in ("", "0")


def _missing(reason: str) -> None:
    if audio_required():
        pytest.fail(f"NUDGE_REQUIRE_AUDIO is set but {reason}")
    pytest.skip(reason)


def audio_stack_or_skip() -> None:
    for module in ("soundfile", "soxr", "mir_eval"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"needs the audio extra ({module}): pip install -e '.[audio]'")


def soundfont_or_skip() -> str:
    audio_stack_or_skip()
    from training.audio.render import RenderError, find_fluidsynth, find_soundfont

    try:
        find_fluidsynth()
        return find_soundfont()
    except RenderError as error:
        _missing(str(error))
    raise AssertionError("unreachable")


def gmd_or_skip() -> Path:
    if not (GMD_DIR / "info.csv").is_file():
        _missing(f"the Groove MIDI Dataset is not at {GMD_DIR}")
    return GMD_DIR


# a rock beat, one bar of 16ths:  step -> GM pitches
ROCK_BAR = {0: (36, 42), 2: (42,), 4: (38, 42), 6: (42,), 8: (36, 42), 10: (36, 42), 12: (38, 42), 14: (42,)}
BASS_BAR = ((0.0, 0.9, 40), (1.5, 0.4, 40), (2.0, 0.9, 47), (3.0, 0.4, 45), (3.5, 0.4, 43))


def loop_midi(bpm: float, bars: int, drums: bool = True, bass: bool = True) -> mido.MidiFile:
    """A rock beat (kick, snare, 8th hats) and a bass line, ``bars`` bars of 4/4 at ``bpm``."""
    from training.audio.render import TICKS_PER_BEAT

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)]))
    parts = []
    if drums:
        notes = [
            (bar * 4 + step / 4, 0.1, pitch, 100 if pitch != 42 else 70, 9)
            for bar in range(bars)
            for step, pitches in ROCK_BAR.items()
            for pitch in pitches
        ]
        parts.append(notes)
    if bass:
        parts.append([(bar * 4 + s, d, p, 100, 0) for bar in range(bars) for s, d, p in BASS_BAR])
    for notes in parts:
        events = []
        for start, duration, pitch, velocity, channel in notes:
            on = round(start * TICKS_PER_BEAT)
            off = round((start + duration) * TICKS_PER_BEAT)
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        track, now = mido.MidiTrack(), 0
        if notes and notes[0][4] == 0:
            track.append(mido.Message("program_change", channel=0, program=33, time=0))
        for tick, _, message in events:
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    return midi


def render_loop(path: Path, bpm: float = 120.0, bars: int = 8, lead_s: float = 0.0, **parts) -> Path:
    """A rendered loop (WAV), optionally after ``lead_s`` seconds of silence."""
    import soundfile

    from training.audio.render import render_midi

    soundfont = soundfont_or_skip()
    path = render_midi(loop_midi(bpm, bars, **parts), path, soundfont, bars * 4 * 60.0 / bpm)
    if lead_s:
        audio, rate = soundfile.read(path, always_2d=True)
        audio = np.concatenate([np.zeros((int(lead_s * rate), audio.shape[1])), audio])
        soundfile.write(path, audio, rate, subtype="PCM_16")
    return path


def write_audio(path: Path, samples: np.ndarray, rate: int = 44100, **kwargs) -> Path:
    import soundfile

    soundfile.write(path, samples, rate, **kwargs)
    return path
