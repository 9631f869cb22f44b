"""A folder of track JSON files (fetch cache or offline dumps) -> ``RhythmDataset`` (+ optional 8 x F series).

Per window: ``source`` = track id, ``style`` = the genre the track was found under (``""`` otherwise),
``split`` from a hash of the track id (all windows of a track share one split, stable across runs),
``bpm`` = the analysis's tempo, ``start_bar`` = the window's first bar within the track.

Extra conditions (``cond_<name>``, all 0..1): ``danceability``, ``track_energy`` and ``valence`` from the
audio features as they are (named ``track_energy`` so it cannot clash with the ``energy`` descriptor), and
``tempo`` = (bpm - 60) / (200 - 60) clipped to 0..1 (the features' tempo, else the analysis's). ``tempo``
is always present; the other three only when at least one track has features. Tracks without features then
take the median of the tracks that have them (``missing_features="median"``, counted) or are skipped
(``"skip"``).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from companion.core.errors import UsageError
from training.dataset import IngestSummary, RhythmDataset
from training.spotify.patterns import PatternConfig, analysis_to_bars, window_planes, window_starts
from training.spotify.records import TrackRecord, list_track_files, read_record
from training.spotify.series import SeriesGrid, analysis_to_series
from training.spotify.validate import Analysis, AnalysisError

TEMPO_RANGE_BPM = (60.0, 200.0)
# condition        audio-features field
FEATURE_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("danceability", "danceability"),
    ("track_energy", "energy"),
    ("valence", "valence"),
)
CONDITION_DESCRIPTIONS: dict[str, str] = {
    "danceability": "Spotify danceability of the track (0..1: tempo, rhythm stability, beat strength)",
    "track_energy": "Spotify energy of the track (0..1: perceived intensity and activity)",
    "valence": "Spotify valence of the track (0..1: musical positiveness)",
    "tempo": "track tempo, (bpm - 60) / 140 clipped to 0..1 (60 BPM -> 0, 200 BPM -> 1)",
}
MISSING_FEATURE_POLICIES = ("median", "skip")
DEFAULT_CONFIG = PatternConfig()
DEFAULT_SERIES_GRID = SeriesGrid()
LICENCE = (
    "Spotify audio analysis, subject to the Spotify Developer Terms (which restrict using Spotify content "
    "to train machine-learning models): check that your use is allowed"
)


def split_of(track_id: str, validation_share: float = 0.1, test_share: float = 0.1) -> str:
    """Stable split from a hash of the track id."""
    value = int.from_bytes(hashlib.sha1(track_id.encode("utf-8")).digest()[:8], "big") / 2.0**64
    if value < test_share:
        return "test"
    if value < test_share + validation_share:
        return "validation"
    return "train"


def track_bpm(features: dict, analysis: Analysis) -> float | None:
    """The features' tempo, else the analysis's, else 60 / the median beat; None when none is > 0."""
    median_beat = float(np.median(analysis.beats.duration)) if len(analysis.beats) else 0.0
    for bpm in (features.get("tempo"), analysis.tempo_bpm, 60.0 / median_beat if median_beat > 0 else None):
        if bpm is not None and math.isfinite(bpm) and bpm > 0:
            return float(bpm)
    return None


def tempo_condition(bpm: float) -> float:
    low, high = TEMPO_RANGE_BPM
    return float(np.clip((bpm - low) / (high - low), 0.0, 1.0))


def _issue(error: AnalysisError) -> str:
    """A short reason class (the text before the first colon) for counting."""
    return str(error).split(":")[0] if ":" in str(error) else str(error)


def read_records(
    folder: str | os.PathLike, summary: IngestSummary, progress: bool = True
) -> list[TrackRecord]:
    files = list_track_files(folder)
    summary.files_found = len(files)
    iterable: Iterable[Path] = files
    if progress:
        from tqdm import tqdm

        iterable = tqdm(files, unit="file", desc="read", leave=False)
    records = []
    for path in iterable:
        try:
            records.append(read_record(path))
        except AnalysisError as error:
            summary.skip(f"invalid: {_issue(error)}", f"{path.name}: {error}")
    return records


def build_dataset(
    records: list[TrackRecord],
    config: PatternConfig = DEFAULT_CONFIG,
    summary: IngestSummary | None = None,
    *,
    missing_features: str = "median",
    validation_share: float = 0.1,
    test_share: float = 0.1,
) -> tuple[RhythmDataset, IngestSummary]:
    """Windows of every usable track, with labels and extra conditions (see the module docstring)."""
    if missing_features not in MISSING_FEATURE_POLICIES:
        raise UsageError(
            f"missing_features must be one of {MISSING_FEATURE_POLICIES}, got {missing_features!r}"
        )
    started = time.perf_counter()
    summary = summary or IngestSummary(files_found=len(records))
    # the conditions and the medians that fill missing features come from train tracks only: nothing of the
    # validation or test tracks reaches what the model learns from
    train_ids = {r.track_id for r in records if split_of(r.track_id, validation_share, test_share) == "train"}
    with_features = [r.features for r in records if r.features and r.track_id in train_ids]
    names = [name for name, key in FEATURE_CONDITIONS if any(key in f for f in with_features)]
    medians = {
        key: float(np.median([f[key] for f in with_features if key in f]))
        for name, key in FEATURE_CONDITIONS
        if name in names
    }
    rows: list[np.ndarray] = []
    labels: dict[str, list] = {k: [] for k in ("style", "split", "source", "bpm", "start_bar")}
    conditions: dict[str, list[float]] = {name: [] for name in [*names, "tempo"]}
    for record in records:
        analysis = record.analysis
        summary.warnings += len(analysis.warnings)
        features = record.features or {}
        if names and not record.features and missing_features == "skip":
            summary.skip("no audio features", record.track_id)
            continue
        if not len(analysis.beats):
            summary.skip("no beats", record.track_id)
            continue
        bars = analysis_to_bars(analysis, config)
        summary.regular_bars += int(bars.regular.sum())
        summary.irregular_bars += int((~bars.regular).sum())
        summary.tatums_per_beat.update(bars.tatums_per_beat)
        summary.hits_outside_bars += bars.hits_outside
        starts = window_starts(bars, config.bars, config.hop_bars)
        windows = [(s, window_planes(bars, s, config.bars)) for s in starts]
        kept = [(s, w) for s, w in windows if w[0].sum() >= config.min_hits]
        summary.sparse_windows += len(windows) - len(kept)
        if not kept:
            reason = f"no {config.bars}-bar window of {config.beats_per_bar}-beat bars"
            summary.skip(reason if not windows else "only windows with too few hits", record.track_id)
            continue
        if names and not record.features:
            summary.features_filled += 1
        bpm = track_bpm(features, analysis)
        if bpm is None:
            summary.skip("no tempo", record.track_id)
            continue
        split = split_of(record.track_id, validation_share, test_share)
        summary.files_used += 1
        for start, planes in kept:
            rows.append(planes)
            labels["style"].append(record.style)
            labels["split"].append(split)
            labels["source"].append(record.track_id)
            labels["bpm"].append(bpm)
            labels["start_bar"].append(start)
            for name, key in FEATURE_CONDITIONS:
                if name in names:
                    conditions[name].append(features.get(key, medians[key]))
            conditions["tempo"].append(tempo_condition(bpm))
        summary.windows_per_split[split] += len(kept)
    grid = config.grid
    patterns = np.stack(rows) if rows else np.zeros((0, 3, 9, grid.n_steps), dtype=np.float32)  # [N, 3, V, T]
    summary.seconds += time.perf_counter() - started
    dataset = RhythmDataset(
        grid=grid,
        patterns=patterns.astype(np.float32),
        style=np.array(labels["style"], dtype=str),
        split=np.array(labels["split"], dtype=str),
        source=np.array(labels["source"], dtype=str),
        beat_type=np.array([""] * len(rows), dtype=str),
        bpm=np.array(labels["bpm"], dtype=np.float32),
        start_bar=np.array(labels["start_bar"], dtype=np.int32),
        extra_conditions={k: np.array(v, dtype=np.float32) for k, v in conditions.items()},
        meta={
            "source": "Spotify Web API audio analysis",
            "licence": LICENCE,
            "spotify": {
                "config": {**config.__dict__, "band_edges": list(config.band_edges)},
                "conditions": list(conditions),
                "tempo_range_bpm": list(TEMPO_RANGE_BPM),
            },
            "condition_descriptions": {k: CONDITION_DESCRIPTIONS[k] for k in conditions},
            "ingest": summary.to_dict(),
        },
    )
    return dataset, summary


def build_series(
    records: list[TrackRecord], grid: SeriesGrid = DEFAULT_SERIES_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [N, 8, n_frames], track ids [N]) — the prototype's representation of every track."""
    series = [analysis_to_series(r.analysis, grid) for r in records]
    stacked = np.stack(series) if series else np.zeros((0, 8, grid.n_frames), dtype=np.float32)
    return stacked, np.array([r.track_id for r in records], dtype=str)
