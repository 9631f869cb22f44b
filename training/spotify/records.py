"""One JSON file per track: the fetch cache's format, and reading analysis files obtained elsewhere.

A cache record (written by ``fetch``) is an object::

    {"format": "nudge-spotify-track/1", "track_id": "...", "name": "...", "artists": ["..."],
     "source": {"kind": "artist" | "genre" | "playlist", "value": "..."}, "style": "house" or "",
     "fetched_at": "2026-01-01T00:00:00Z", "audio_analysis": {...}, "audio_features": {...} or null}

The offline import (``nudge-train ingest spotify DIR``) also reads a bare audio-analysis response (the
object the API returns, e.g. ``example-1.json``); its track id is then the file name without ``.json``.
Files are written atomically (``companion.core.atomic``), so a reader never sees half a record.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.core.atomic import atomic_write_text
from training.spotify.validate import Analysis, AnalysisError, validate_analysis, validate_features

RECORD_FORMAT = "nudge-spotify-track/1"
SAFE_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")  # ids become file names


@dataclass(frozen=True)
class TrackRecord:
    track_id: str
    analysis: Analysis
    features: dict[str, float] | None
    style: str = ""
    name: str = ""


def record_path(cache_dir: str | os.PathLike, track_id: str) -> Path:
    return Path(cache_dir) / f"{track_id}.json"


def write_record(
    cache_dir: str | os.PathLike,
    track_id: str,
    analysis: dict,
    features: dict | None,
    info: dict[str, Any],
) -> Path:
    """Write one track's record atomically. ``analysis`` must already have passed ``validate_analysis``."""
    record = {"format": RECORD_FORMAT, "track_id": track_id, **info}
    record["audio_analysis"] = analysis
    record["audio_features"] = features
    return atomic_write_text(record_path(cache_dir, track_id), json.dumps(record, separators=(",", ":")))


def parse_record(payload: Any, fallback_id: str) -> TrackRecord:
    """A cache record or a bare analysis -> ``TrackRecord``; raises ``AnalysisError`` with the reason."""
    if isinstance(payload, dict) and "audio_analysis" in payload:
        track_id = payload.get("track_id") or fallback_id
        if not isinstance(track_id, str) or not SAFE_ID.fullmatch(track_id):
            raise AnalysisError(f"track_id: expected letters, digits, '-', '_' or '.', got {track_id!r}")
        style = payload.get("style") or ""
        name = payload.get("name") or ""
        if not isinstance(style, str) or not isinstance(name, str):
            raise AnalysisError("style and name must be strings")
        return TrackRecord(
            track_id=track_id,
            analysis=validate_analysis(payload["audio_analysis"]),
            features=validate_features(payload.get("audio_features")),
            style=style,
            name=name,
        )
    return TrackRecord(track_id=fallback_id, analysis=validate_analysis(payload), features=None)


def read_record(path: str | os.PathLike) -> TrackRecord:
    """Read and validate one .json file; raises ``AnalysisError`` naming what is wrong."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise AnalysisError(f"unreadable file ({type(error).__name__}: {error})") from error
    except json.JSONDecodeError as error:
        raise AnalysisError(f"not valid JSON ({error})") from error
    return parse_record(payload, path.stem)


def list_track_files(folder: str | os.PathLike) -> list[Path]:
    """The .json files of ``folder`` (sorted), leaving out hidden ones (temp files of atomic writes)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith((".", "_")))
