"""Small .mid files written with mido for tests (the suite never needs ../shared)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import mido

TPB = 480


def write_midi(
    path: str | os.PathLike,
    notes: Iterable[tuple[float, int, int]] = (),
    *,
    bpm: float | None = 120.0,
    time_signatures: Iterable[tuple[float, int, int]] = ((0.0, 4, 4),),
    channel: int = 10,
    ticks_per_beat: int = TPB,
    two_tracks: bool = False,
    end_beats: float | None = None,
) -> Path:
    """Write ``notes`` ((start_beats, pitch, velocity)) as note on/off pairs; meta events in track 0.

    ``time_signatures`` are (start_beats, numerator, denominator); ``two_tracks`` puts the notes in a
    second track (type 1), as DAWs do.
    """
    meta: list[tuple[int, mido.MetaMessage]] = []
    if bpm is not None:
        meta.append((0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for beats, numerator, denominator in time_signatures:
        tick = round(beats * ticks_per_beat)
        meta.append((tick, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)))
    events: list[tuple[int, int, mido.Message]] = []
    for start, pitch, velocity in notes:
        tick = round(start * ticks_per_beat)
        on = mido.Message("note_on", channel=channel - 1, note=pitch, velocity=velocity)  # mido counts 0..15
        events.append((tick, 1, on))
        events.append(
            (tick + ticks_per_beat // 8, 0, mido.Message("note_off", channel=channel - 1, note=pitch))
        )
    if end_beats is not None:
        events.append((round(end_beats * ticks_per_beat), 2, None))
    midi = mido.MidiFile(type=1 if two_tracks else 0, ticks_per_beat=ticks_per_beat)
    if two_tracks:
        midi.tracks.append(_track([(t, 0, m) for t, m in meta]))
        midi.tracks.append(_track(events))
    else:
        midi.tracks.append(_track([(t, 0, m) for t, m in meta] + events))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(os.fspath(path))
    return path


def _track(events: list[tuple[int, int, mido.Message | None]]) -> mido.MidiTrack:
    track = mido.MidiTrack()
    last = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        if message is not None:
            track.append(message.copy(time=tick - last))
            last = tick
    end = max((tick for tick, _, _ in events), default=0)
    track.append(mido.MetaMessage("end_of_track", time=end - last))
    return track


def bar_of_beats(
    bar: int, beats_per_bar: int = 4, pitch: int = 36, velocity: int = 100
) -> list[tuple[float, int, int]]:
    """One note on every beat of ``bar``."""
    return [(bar * beats_per_bar + b, pitch, velocity) for b in range(beats_per_bar)]
