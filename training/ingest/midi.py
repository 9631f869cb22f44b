"""Ingest a folder of drum .mid files into a ``RhythmDataset``: windows of N bars with velocity and timing.

Per file (one worker process each, ``--workers``): read the drum notes (``companion.core.midi_file``), map
pitches to the nine voices (``drum_map.voice_lookup``), quantise every note once onto the whole
performance's grid (``notes.quantise_onsets``: step = nearest 16th, offset = what is left, in steps;
loudest wins when two hits of a voice share a step), then cut windows of ``bars`` bars every
``hop_bars`` bars. The performance ends at its last note (silence before ``end_of_track`` is not played);
a trailing partial bar counts when the last note falls in its second half. Windows never wrap:
a note early for the bar line after a window belongs to the next window (unlike ``notes_to_pattern``, which
treats a clip as a loop). Files that cannot be used are skipped with a reason and counted, never fatal.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from companion.core.drum_map import drum_map_by_name, voice_lookup
from companion.core.errors import UsageError
from companion.core.midi_file import DrumArrays, MidiFileError, read_drum_arrays
from companion.core.midi_values import CHANNEL, DEFAULT_BPM, DRUM_CHANNEL
from companion.core.notes import quantise_onsets
from companion.core.pattern import FILE_PARTIAL_BAR, MAX_BARS, SUPPORTED_TIME_SIGNATURES, Grid, whole_bars
from training.ingest.labels import INFO_CSV, FileLabels, find_info_csv, labels_from_path, read_info_csv

MIDI_SUFFIXES = (".mid", ".midi")
BEAT_TYPE_CHOICES = ("all", "beat", "fill")
UNKNOWN_PITCH_CHOICES = ("drop", "error")

# skip reason key        what it means (printed in the summary)
SKIP_REASONS: dict[str, str] = {
    "unreadable": "broken or not a MIDI file",
    "unlisted": "not listed in the corpus's info.csv: its split is unknown",
    "empty": "no notes at all",
    "non_drum": "notes, but none on the drum channel",
    "unknown_pitches_only": "drum notes, but no pitch in the drum map",
    "unknown_pitch": "a pitch not in the drum map (with --unknown-pitches error)",
    "unsupported_meter": "time signature Nudge's grid cannot hold, or a meter change",
    "other_meter": "a supported time signature other than the one asked for",
    "beat_type": "beat/fill type not asked for",
    "too_short": "shorter than one window",
    "no_full_window": "every window had fewer hits than --min-hits",
    "error": "unexpected error while reading (message kept in the summary)",
}


class SkipFile(Exception):
    """A file is not used; ``reason`` is a key of ``SKIP_REASONS``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class IngestConfig:
    bars: int = 4
    hop_bars: int = 1
    steps_per_beat: int = 4
    time_signature: tuple[int, int] = (4, 4)
    drum_map: str = "roland"
    beat_type: str = "all"  # all | beat | fill
    min_hits: int = 1  # per window; emptier windows are skipped and counted
    unknown_pitches: str = "drop"  # drop (and count) | error (skip the file)
    channel: int | None = DRUM_CHANNEL  # 1..16 (companion.core.midi_values); None = any channel

    def __post_init__(self) -> None:
        if not isinstance(self.bars, int) or not 1 <= self.bars <= MAX_BARS:
            raise UsageError(f"bars must be an int in 1..{MAX_BARS}, got {self.bars!r}")
        if not isinstance(self.hop_bars, int) or not 1 <= self.hop_bars <= 64:
            raise UsageError(f"hop_bars must be an int in 1..64, got {self.hop_bars!r}")
        if not isinstance(self.min_hits, int) or not 0 <= self.min_hits <= 10_000:
            raise UsageError(f"min_hits must be an int in 0..10000, got {self.min_hits!r}")
        if self.beat_type not in BEAT_TYPE_CHOICES:
            raise UsageError(f"beat_type must be one of {BEAT_TYPE_CHOICES}, got {self.beat_type!r}")
        if self.unknown_pitches not in UNKNOWN_PITCH_CHOICES:
            raise UsageError(
                f"unknown_pitches must be one of {UNKNOWN_PITCH_CHOICES}, got {self.unknown_pitches!r}"
            )
        if self.channel is not None:
            CHANNEL.check(self.channel, "channel")
        drum_map_by_name(self.drum_map)  # raises naming the allowed maps
        self.grid  # noqa: B018 - raises naming the supported time signatures

    @property
    def grid(self) -> Grid:
        return Grid.from_time_signature(
            *self.time_signature, bars=self.bars, steps_per_beat=self.steps_per_beat
        )


@dataclass
class FileWindows:
    """What one file contributed: windows as compact arrays, or the reason it was skipped."""

    source: str
    labels: FileLabels
    skipped: str | None = None
    detail: str = ""
    hits: np.ndarray | None = None  # uint8 [W, V, T]
    velocities: np.ndarray | None = None  # float32 [W, V, T]
    offsets: np.ndarray | None = None  # float32 [W, V, T]
    start_bar: np.ndarray | None = None  # int32 [W]
    bpm: float = DEFAULT_BPM
    sparse_windows: int = 0
    dropped_pitches: Counter[int] = field(default_factory=Counter)

    @property
    def n_windows(self) -> int:
        return 0 if self.hits is None else len(self.hits)


def meter_of(arrays: DrumArrays) -> tuple[int, int]:
    """The file's single time signature (4/4 when it sets none); ``SkipFile`` on a change of meter."""
    distinct = list(dict.fromkeys((n, d) for _, n, d in sorted(arrays.time_signatures)))
    if len(distinct) > 1:
        raise SkipFile("unsupported_meter", "meter changes " + " -> ".join(f"{n}/{d}" for n, d in distinct))
    return distinct[0] if distinct else (4, 4)


def ingest_file(path: Path, relative: str, labels: FileLabels | None, config: IngestConfig) -> FileWindows:
    """Windows of one file; a skipped file comes back with ``skipped`` set, never raises. ``labels`` None:
    a file the corpus's ``info.csv`` does not list (its split is unknown, so it is not used)."""
    if labels is None:
        return FileWindows(
            relative, FileLabels(split=""), "unlisted", f"not listed in {INFO_CSV}: split unknown"
        )
    result = FileWindows(source=relative, labels=labels)
    try:
        _fill_windows(result, path, config)
    except SkipFile as skip:
        result.skipped, result.detail = skip.reason, skip.detail
    except MidiFileError as error:
        result.skipped, result.detail = "unreadable", str(error)
    except Exception as error:  # a corpus file must never end the run: count it, keep the message
        result.skipped, result.detail = "error", f"{type(error).__name__}: {error}"
    return result


def _fill_windows(result: FileWindows, path: Path, config: IngestConfig) -> None:
    labels = result.labels
    if config.beat_type != "all" and labels.beat_type != config.beat_type:
        raise SkipFile("beat_type", f"beat type {labels.beat_type or 'unknown'!r}")
    arrays = read_drum_arrays(path, config.channel)
    if len(arrays.ticks) == 0:
        if arrays.other_channel_notes:
            raise SkipFile("non_drum", f"{arrays.other_channel_notes} notes, none on the drum channel")
        raise SkipFile("empty", "no note-on events")
    meter = meter_of(arrays)
    if meter not in SUPPORTED_TIME_SIGNATURES:
        raise SkipFile("unsupported_meter", f"time signature {meter[0]}/{meter[1]}")
    if meter != config.time_signature:
        raise SkipFile("other_meter", f"time signature {meter[0]}/{meter[1]}")
    voices = voice_lookup(drum_map_by_name(config.drum_map))[arrays.pitches]
    unknown = voices < 0
    if unknown.any():
        result.dropped_pitches.update(arrays.pitches[unknown].tolist())
        if config.unknown_pitches == "error":
            raise SkipFile("unknown_pitch", f"pitches {sorted(set(arrays.pitches[unknown].tolist()))}")
        if unknown.all():
            raise SkipFile("unknown_pitches_only", f"pitches {sorted(set(arrays.pitches.tolist()))}")
        arrays.ticks, arrays.velocities, voices = (
            arrays.ticks[~unknown],
            arrays.velocities[~unknown],
            voices[~unknown],
        )
    grid = config.grid
    ticks_per_bar = arrays.ticks_per_beat * grid.beats_per_bar
    length_ticks = int(arrays.ticks[-1]) + 1  # the performance ends with its last note, not end_of_track
    n_bars = whole_bars(
        length_ticks, ticks_per_bar, FILE_PARTIAL_BAR
    )  # a trailing bar counts when half played
    if n_bars < config.bars:
        raise SkipFile("too_short", f"{length_ticks / ticks_per_bar:.2f} bars < {config.bars}")
    # the whole performance on one grid, once; no loop: a note early for the next bar line stays there
    positions = arrays.ticks * (grid.steps_per_beat / arrays.ticks_per_beat)  # float64 [K], in steps
    hits, velocities, offsets = quantise_onsets(
        positions, voices, arrays.velocities, n_bars * grid.steps_per_bar, loop=False
    )
    start_bar = np.arange(0, n_bars - config.bars + 1, config.hop_bars, dtype=np.int32)
    columns = start_bar[:, None] * grid.steps_per_bar + np.arange(grid.n_steps)  # [W, T]
    window_hits = hits[:, columns].transpose(1, 0, 2)  # [W, V, T]
    full = window_hits.sum(axis=(1, 2)) >= max(config.min_hits, 1)
    result.sparse_windows = int((~full).sum())
    if not full.any():
        raise SkipFile("no_full_window", f"{len(full)} windows below {max(config.min_hits, 1)} hits")
    columns = columns[full]
    result.hits = window_hits[full].astype(np.uint8)
    result.velocities = velocities[:, columns].transpose(1, 0, 2)
    result.offsets = offsets[:, columns].transpose(1, 0, 2)
    result.start_bar = start_bar[full]
    result.bpm = arrays.bpm or labels.bpm or DEFAULT_BPM


def find_midi_files(root: str | os.PathLike) -> list[tuple[Path, str]]:
    """Every .mid/.midi file under ``root`` (sorted), with its posix path relative to ``root``."""
    root = Path(root)
    found = [p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()]
    return [(p, str(PurePosixPath(p.relative_to(root).as_posix()))) for p in sorted(found)]


def file_jobs(root: str | os.PathLike) -> list[tuple[Path, str, FileLabels | None]]:
    """(path, relative path, labels) for every MIDI file: from the ``info.csv`` that covers ``root`` when
    there is one (None for a file it does not list: skipped, its split unknown), else from the folders."""
    if find_info_csv(root) is None:
        return [(path, rel, labels_from_path(rel)) for path, rel in find_midi_files(root)]
    info = read_info_csv(root)
    return [(path, rel, info.get(rel)) for path, rel in find_midi_files(root)]
