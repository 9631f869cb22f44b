"""Validate Spotify audio-analysis responses: accept the real variety, reject garbage with a reason.

Accepted (with a warning where something was repaired):
- any of ``bars``, ``beats``, ``tatums``, ``sections``, ``segments`` missing, ``null`` or empty;
- items without ``confidence`` (taken as 1.0); confidences outside 0..1 are clipped (with a warning
  beyond ``CONFIDENCE_SLACK``);
- ``track.time_signature`` 3..7 (Spotify's documented range); other integers (1 occurs in real data) are
  kept as unknown (``None``) with a warning;
- no ``track`` object (duration then comes from the last event), no ``meta`` object;
- arrays out of time order (sorted, with a warning).
Rejected (``AnalysisError`` naming the field): a payload that is not an object or has none of the analysis
arrays, ``meta.status_code`` other than 0, non-numeric / NaN / infinite / negative times, wrong timbre or
pitch vectors, out-of-range audio features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.core.errors import DataError

INTERVAL_ARRAYS = ("bars", "beats", "tatums", "sections")
ANALYSIS_ARRAYS = (*INTERVAL_ARRAYS, "segments")
VALID_TIME_SIGNATURES = range(3, 8)

# rules as data: field -> (required, low, high); numbers must be finite and within [low, high]
INTERVAL_FIELDS: dict[str, tuple[bool, float, float]] = {
    "start": (True, 0.0, math.inf),
    "duration": (True, 0.0, math.inf),
}
SEGMENT_FIELDS: dict[str, tuple[bool, float, float]] = {
    "start": (True, 0.0, math.inf),
    "duration": (True, 0.0, math.inf),
    "loudness_max": (True, -100.0, 20.0),  # dB
    "loudness_start": (False, -100.0, 20.0),  # dB
    "loudness_max_time": (False, 0.0, math.inf),  # seconds after the segment's start
}
TRACK_FIELDS: dict[str, tuple[bool, float, float]] = {
    "duration": (False, 0.0, 86_400.0),
    "tempo": (False, 0.0, 1000.0),
    "loudness": (False, -100.0, 20.0),
}
FEATURE_FIELDS: dict[str, tuple[float, float]] = {
    "danceability": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "valence": (0.0, 1.0),
    "tempo": (0.0, 1000.0),
}
VECTOR_LENGTH = 12  # timbre and pitches
CONFIDENCE_SLACK = 0.01  # confidences within this of 0..1 are clipped silently


class AnalysisError(DataError):
    """An audio-analysis payload (or a file holding one) is unusable; the message says where and why."""


@dataclass(frozen=True)
class Intervals:
    """One of bars / beats / tatums / sections: float64 arrays [K], sorted by start, in seconds."""

    start: np.ndarray
    duration: np.ndarray
    confidence: np.ndarray  # 0..1; 1.0 where the response had none

    def __len__(self) -> int:
        return len(self.start)

    @property
    def end(self) -> np.ndarray:
        return self.start + self.duration


@dataclass(frozen=True)
class Segments:
    """Spotify's segments: float64 arrays [K] (seconds, dB) and timbre [K, 12] (NaN rows where absent)."""

    start: np.ndarray
    duration: np.ndarray
    confidence: np.ndarray
    loudness_start: np.ndarray
    loudness_max: np.ndarray
    loudness_max_time: np.ndarray
    timbre: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


@dataclass(frozen=True)
class Analysis:
    """A validated, normalised audio analysis."""

    duration_s: float
    tempo_bpm: float | None
    time_signature: int | None
    loudness_db: float | None
    bars: Intervals
    beats: Intervals
    tatums: Intervals
    sections: Intervals
    segments: Segments
    warnings: tuple[str, ...] = field(default=())


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnalysisError(f"{where}: expected a number in {low}..{high}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise AnalysisError(f"{where}: expected a finite number in {low}..{high}, got {value!r}")
    return number


def _items(payload: dict, name: str) -> list:
    items = payload.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise AnalysisError(f"{name}: expected a list, got {type(items).__name__}")
    return items


def _confidence(item: dict, where: str, warnings: list[str]) -> float:
    if item.get("confidence") is None:
        return 1.0
    value = _number(item["confidence"], f"{where}.confidence", -math.inf, math.inf)
    if not -CONFIDENCE_SLACK <= value <= 1 + CONFIDENCE_SLACK:
        warnings.append(f"{where}.confidence {value} clipped to 0..1")
    return min(max(value, 0.0), 1.0)


def _fields(item: Any, where: str, rules: dict[str, tuple[bool, float, float]]) -> dict[str, float]:
    if not isinstance(item, dict):
        raise AnalysisError(f"{where}: expected an object, got {type(item).__name__}")
    out: dict[str, float] = {}
    for name, (required, low, high) in rules.items():
        if item.get(name) is None:
            if required:
                raise AnalysisError(f"{where}.{name}: missing")
            continue
        out[name] = _number(item[name], f"{where}.{name}", low, high)
    return out


def _vector(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != VECTOR_LENGTH:
        got = f"{len(value)} items" if isinstance(value, list) else type(value).__name__
        raise AnalysisError(f"{where}: expected a list of {VECTOR_LENGTH} numbers, got {got}")
    return np.array([_number(v, f"{where}[{i}]", -math.inf, math.inf) for i, v in enumerate(value)])


def _sorted(arrays: dict[str, np.ndarray], name: str, warnings: list[str]) -> dict[str, np.ndarray]:
    start = arrays["start"]
    if len(start) > 1 and np.any(np.diff(start) < 0):
        warnings.append(f"{name} were out of time order; sorted")
        order = np.argsort(start, kind="stable")
        return {k: v[order] for k, v in arrays.items()}
    return arrays


def _intervals(payload: dict, name: str, warnings: list[str]) -> Intervals:
    rows = []
    for i, item in enumerate(_items(payload, name)):
        where = f"{name}[{i}]"
        values = _fields(item, where, INTERVAL_FIELDS)
        rows.append((values["start"], values["duration"], _confidence(item, where, warnings)))
    table = np.array(rows, dtype=np.float64).reshape(-1, 3)
    arrays = _sorted(
        {"start": table[:, 0], "duration": table[:, 1], "confidence": table[:, 2]}, name, warnings
    )
    return Intervals(**arrays)


def _segments(payload: dict, warnings: list[str]) -> Segments:
    items = _items(payload, "segments")
    columns: dict[str, list[float]] = {name: [] for name in (*SEGMENT_FIELDS, "confidence")}
    timbres = []
    for i, item in enumerate(items):
        where = f"segments[{i}]"
        values = _fields(item, where, SEGMENT_FIELDS)
        columns["start"].append(values["start"])
        columns["duration"].append(values["duration"])
        columns["loudness_max"].append(values["loudness_max"])
        columns["loudness_start"].append(values.get("loudness_start", values["loudness_max"]))
        columns["loudness_max_time"].append(min(values.get("loudness_max_time", 0.0), values["duration"]))
        columns["confidence"].append(_confidence(item, where, warnings))
        if item.get("pitches") is not None:
            _vector(item["pitches"], f"{where}.pitches")
        timbre = item.get("timbre")
        timbres.append(
            np.full(VECTOR_LENGTH, np.nan) if timbre is None else _vector(timbre, f"{where}.timbre")
        )
    arrays = {k: np.array(v, dtype=np.float64) for k, v in columns.items()}
    arrays["timbre"] = np.array(timbres, dtype=np.float64).reshape(-1, VECTOR_LENGTH)
    arrays = _sorted(arrays, "segments", warnings)
    return Segments(**arrays)


def _time_signature(track: dict, warnings: list[str]) -> int | None:
    value = track.get("time_signature")
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)  # json reads NaN and Infinity; int() of them raises
        or float(value) != int(value)
    ):
        raise AnalysisError(f"track.time_signature: expected an integer, got {value!r}")
    if int(value) not in VALID_TIME_SIGNATURES:
        warnings.append(f"track.time_signature {int(value)} is outside 3..7; meter taken as unknown")
        return None
    return int(value)


def validate_analysis(payload: Any) -> Analysis:
    """Check and normalise one audio-analysis response; raises ``AnalysisError`` with the reason."""
    if not isinstance(payload, dict):
        raise AnalysisError(f"expected a JSON object, got {type(payload).__name__}")
    if not any(name in payload for name in ANALYSIS_ARRAYS):
        raise AnalysisError(f"not an audio analysis: none of {list(ANALYSIS_ARRAYS)} present")
    meta = payload.get("meta") or {}
    if not isinstance(meta, dict):
        raise AnalysisError(f"meta: expected an object, got {type(meta).__name__}")
    if meta.get("status_code", 0) not in (0, None):
        raise AnalysisError(
            f"meta.status_code is {meta['status_code']!r} ({meta.get('detailed_status', '?')})"
        )
    track = payload.get("track") or {}
    if not isinstance(track, dict):
        raise AnalysisError(f"track: expected an object, got {type(track).__name__}")
    warnings: list[str] = []
    track_values = _fields(track, "track", TRACK_FIELDS)
    time_signature = _time_signature(track, warnings)
    intervals = {name: _intervals(payload, name, warnings) for name in INTERVAL_ARRAYS}
    segments = _segments(payload, warnings)
    ends = [float(i.end.max()) for i in intervals.values() if len(i)]
    if len(segments):
        ends.append(float((segments.start + segments.duration).max()))
    duration = track_values.get("duration") or max(ends, default=0.0)
    if duration <= 0:
        raise AnalysisError("empty analysis: no track duration and no events")
    tempo = track_values.get("tempo")
    return Analysis(
        duration_s=float(duration),
        tempo_bpm=tempo if tempo else None,
        time_signature=time_signature,
        loudness_db=track_values.get("loudness"),
        segments=segments,
        warnings=tuple(warnings),
        **intervals,
    )


def validate_features(payload: Any) -> dict[str, float] | None:
    """Audio features -> ``{name: value}`` of the ``FEATURE_FIELDS`` present; ``None`` when absent."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise AnalysisError(f"audio_features: expected an object, got {type(payload).__name__}")
    out = {}
    for name, (low, high) in FEATURE_FIELDS.items():
        if payload.get(name) is not None:
            out[name] = _number(payload[name], f"audio_features.{name}", low, high)
    return out or None
