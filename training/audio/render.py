"""Render Groove MIDI Dataset performances to audio with a band, for measuring the audio analysis.

Each clip: one GMD performance (4/4, ``beat`` files, of the split asked for: the evaluation uses ``test``,
tuning uses ``validation``, never ``train``), retimed to a tempo drawn from ``BPM_RANGE`` (the notes keep
their place in beats: the drummer's grid is the file's tick grid, beat k at tick k * ticks_per_beat), cut
to whole bars, with a bass and a keys part from ``training.audio.backing`` looped under it, rendered by
``fluidsynth`` with a General MIDI SoundFont. The truth written beside each clip: beat and downbeat times
from the grid, and the drummer's note-on times.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mido
import numpy as np

from companion.core.atomic import atomic_write_bytes, atomic_write_text
from companion.core.errors import DataError
from companion.core.midi_values import DRUM_CHANNEL, channel_to_wire
from training.audio.backing import BASS_PROGRAM, BASS_VELOCITY, KEYS_PROGRAM, KEYS_VELOCITY, backing_notes

BPM_RANGE = (70.0, 180.0)
BEATS_PER_BAR = 4
SAMPLE_RATE = 44100
SOUNDFONTS = (  # Debian's GM SoundFonts, smallest first
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
# the Roland TD-11's pitches outside General MIDI's drum map, as the kit's General MIDI voice
ROLAND_TO_GM = {22: 42, 26: 46, 58: 43}
TICKS_PER_BEAT = 480


# a performance whose notes do not follow the file's beat grid cannot give a known grid: the resultant
# length of its notes' phases on the 16th grid or the 8th-triplet grid (1 = every note on the grid, about
# 0.05 for notes at random) must reach this
MIN_GRID_ALIGNMENT = 0.15
TRAIN_DRUMS_ALONE = 0.25  # share of the beat model's training clips rendered without the band


class RenderError(DataError):
    """The renderer or its SoundFont is missing, or a performance cannot be rendered."""


@dataclass(frozen=True)
class ClipSpec:
    clip_id: str
    midi_path: str  # relative to the GMD folder
    style: str
    bpm: float  # the tempo it is rendered at
    original_bpm: float
    bars: int
    backing: int  # index into the backing parts
    backing_set: str = "eval"  # "eval", "train" or "none" (drums alone)
    backing_shift_beats: int = 0


@dataclass(frozen=True)
class ClipTruth:
    spec: ClipSpec
    beats_s: list[float]
    downbeats_s: list[float]
    drum_onsets_s: list[float]  # every drum note-on (GM pitches), sorted
    drum_onset_beats: list[float]
    duration_s: float
    note_onsets_s: list[float] = field(default_factory=list)  # every note-on of the mix (drums, bass, keys)


def find_soundfont(explicit: str | None = None) -> str:
    for candidate in (explicit, os.environ.get("NUDGE_SOUNDFONT"), *SOUNDFONTS):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RenderError(
        "no General MIDI SoundFont: install Debian's timgm6mb-soundfont (or pass --soundfont FILE)"
    )


def find_fluidsynth() -> str:
    path = shutil.which("fluidsynth")
    if path is None:
        raise RenderError("fluidsynth is not installed: apt-get install fluidsynth")
    return path


def choose_clips(
    gmd_dir: str | os.PathLike,
    split: str,
    count: int | None,
    seconds: float,
    *,
    seed: int = 0,
    backing_set: str = "eval",
    augment: bool = True,
) -> list[ClipSpec]:
    """``count`` performances of ``split`` (all when None) in a stable shuffled order, each with its tempo;
    those whose drummer does not follow the file's grid in the clip (``grid_alignment``) are left out."""
    if split == "train" and backing_set == "eval":
        raise ValueError(
            "the audio evaluation never uses the GMD train split (train renders: backing 'train')"
        )
    with open(Path(gmd_dir) / "info.csv", newline="", encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["split"] == split and r["beat_type"] == "beat" and r["time_signature"] == "4-4"
        ]
    rows.sort(key=lambda r: hashlib.sha1(f"{seed}:{r['id']}".encode()).hexdigest())
    low, high = BPM_RANGE
    kept: list[dict[str, str]] = []
    for row in rows:
        if count is not None and len(kept) == count:
            break
        bars = max(2, int(seconds * float(np.clip(float(row["bpm"]), low, high)) / 60.0 // BEATS_PER_BAR))
        beats = np.array([b for b, _, _ in _drum_notes(Path(gmd_dir) / row["midi_filename"])])
        if grid_alignment(beats[beats < bars * BEATS_PER_BAR]) >= MIN_GRID_ALIGNMENT:
            kept.append(row)
    rows = kept
    # each performance at its own tempo, where the drummer's feel and the metronome agree; the few outside
    # the range are brought to its nearest end (GMD test: 65..190 BPM)
    tempos = [float(np.clip(float(r["bpm"]), low, high)) for r in rows]
    specs = []
    # the training clips: a quarter with drums alone, the rest with the band started anywhere in its part
    train_rng = np.random.default_rng(seed + 1)
    for i, (row, bpm) in enumerate(zip(rows, tempos, strict=True)):
        clip_set, shift = backing_set, 0
        if backing_set == "train" and augment:
            clip_set = "none" if train_rng.uniform() < TRAIN_DRUMS_ALONE else "train"
            shift = int(train_rng.integers(0, 8))
        bars = max(2, int(seconds * bpm / 60.0 // BEATS_PER_BAR))
        specs.append(
            ClipSpec(
                clip_id=row["id"].replace("/", "_"),
                midi_path=row["midi_filename"],
                style=row["style"],
                bpm=round(float(bpm), 2),
                original_bpm=float(row["bpm"]),
                bars=bars,
                backing=i,
                backing_set=clip_set,
                backing_shift_beats=shift,
            )
        )
    return specs


def grid_alignment(onset_beats: np.ndarray) -> float:
    """How well notes follow the beat grid: max over the 16th and 8th-triplet grids of the resultant length
    of their phases (0..1)."""
    if not len(onset_beats):
        return 0.0
    return max(float(np.abs(np.mean(np.exp(2j * np.pi * k * onset_beats)))) for k in (4, 3))


def _drum_notes(path: Path) -> list[tuple[float, int, int]]:
    """(start_beats, GM pitch, velocity) of every drum note-on of a GMD file."""
    midi = mido.MidiFile(path)
    notes = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                pitch = ROLAND_TO_GM.get(message.note, message.note)
                notes.append((tick / midi.ticks_per_beat, pitch, message.velocity))
    return sorted(notes)


def clip_midi(spec: ClipSpec, gmd_dir: str | os.PathLike) -> tuple[mido.MidiFile, list[tuple], list[float]]:
    """The clip as a type-1 MIDI file at its tempo (drums, bass, keys), its drum notes and every onset
    (beats)."""
    length_beats = spec.bars * BEATS_PER_BAR
    drums = [n for n in _drum_notes(Path(gmd_dir) / spec.midi_path) if n[0] < length_beats - 1 / 8]
    bass, keys = backing_notes(spec.backing, length_beats, spec.backing_set, spec.backing_shift_beats)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec.bpm), time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        ]
    )
    midi.tracks.append(meta)
    parts = (
        (channel_to_wire(DRUM_CHANNEL), None, [(s, 0.1, p, v) for s, p, v in drums]),
        (channel_to_wire(1), BASS_PROGRAM, [(s, d, p, BASS_VELOCITY) for s, d, p in bass]),
        (channel_to_wire(2), KEYS_PROGRAM, [(s, d, p, KEYS_VELOCITY) for s, d, p in keys]),
    )
    for channel, program, notes in parts:
        events = []
        for start, duration, pitch, velocity in notes:
            on = round(start * TICKS_PER_BEAT)
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            off = max(on + 1, round((start + duration) * TICKS_PER_BEAT))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack()
        if program is not None:
            track.append(mido.Message("program_change", channel=channel, program=program, time=0))
        now = 0
        for tick, _, message in events:
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    onsets = sorted({round(n[0], 6) for n in drums} | {round(n[0], 6) for n in bass + keys})
    return midi, drums, onsets


def render_midi(midi: mido.MidiFile, target: str | os.PathLike, soundfont: str, seconds: float) -> Path:
    """Render ``midi`` with fluidsynth to a 44.1 kHz 16-bit WAV cut to ``seconds``, written atomically."""
    import soundfile

    with tempfile.TemporaryDirectory(prefix="nudge-render-") as scratch:
        mid_path = Path(scratch) / "clip.mid"
        wav_path = Path(scratch) / "clip.wav"
        midi.save(mid_path)
        command = [find_fluidsynth(), "-ni", "-q", "-r", str(SAMPLE_RATE), "-g", "0.5"]
        command += ["-F", str(wav_path), "-T", "wav", soundfont, str(mid_path)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0 or not wav_path.is_file():
            raise RenderError(f"fluidsynth failed: {result.stderr.strip()[-300:]}")
        audio, rate = soundfile.read(wav_path, dtype="float32", always_2d=True)
    audio = audio[: round(seconds * rate)]
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return atomic_write_bytes(target, buffer.getvalue())


def render_clip(
    spec: ClipSpec, gmd_dir: str | os.PathLike, out_dir: str | os.PathLike, soundfont: str
) -> tuple[Path, ClipTruth]:
    """Write ``OUT/<clip>.wav`` (44.1 kHz stereo, cut to the clip's bars) and ``OUT/<clip>.truth.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    midi, drums, onsets = clip_midi(spec, gmd_dir)
    beat_s = 60.0 / spec.bpm
    n_beats = spec.bars * BEATS_PER_BAR
    duration = n_beats * beat_s
    try:
        target = render_midi(midi, out_dir / f"{spec.clip_id}.wav", soundfont, duration)
    except RenderError as error:
        raise RenderError(f"{spec.clip_id}: {error}") from error
    truth = ClipTruth(
        spec=spec,
        beats_s=[round(k * beat_s, 6) for k in range(n_beats)],
        downbeats_s=[round(k * beat_s, 6) for k in range(0, n_beats, BEATS_PER_BAR)],
        drum_onsets_s=[round(s * beat_s, 6) for s, _, _ in drums],
        drum_onset_beats=[round(s, 6) for s, _, _ in drums],
        duration_s=duration,
        note_onsets_s=[round(b * beat_s, 6) for b in onsets],
    )
    atomic_write_text(out_dir / f"{spec.clip_id}.truth.json", json.dumps(asdict(truth)))
    return target, truth


def read_truth(path: str | os.PathLike) -> ClipTruth:
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return ClipTruth(spec=ClipSpec(**payload.pop("spec")), **payload)
