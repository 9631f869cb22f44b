"""Fetch audio analyses (and audio features) into a cache folder, one JSON record per track.

Tracks come from artist ids (their top tracks), a genre search (artists tagged with the genre, then their
top tracks; the genre becomes the style label) or a playlist (its tracks). A track whose record is already
in the cache is never fetched again, so an interrupted run resumes where it stopped.

Errors: 429 waits the ``Retry-After`` seconds (a wait longer than ``max_wait_s`` stops the run), 5xx and
network errors retry with exponential backoff, up to ``max_retries`` times; a payload that is not a valid
analysis fails that track with the reason and writes nothing; 403 on the analysis endpoint stops the run
(``FetchStopped``) with ``ANALYSIS_CLOSED``; 403/404 on audio features only turns features off.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from training.spotify.client import redact
from training.spotify.records import record_path, write_record
from training.spotify.validate import AnalysisError, validate_analysis, validate_features

log = logging.getLogger(__name__)

ANALYSIS_CLOSED = (
    "Spotify answered 403 Forbidden on the audio-analysis endpoint. Spotify closed audio analysis and "
    "audio features to apps registered after November 2024 (and to apps in development mode), so these "
    "credentials cannot fetch analyses. What is cached so far is kept. If you have audio-analysis JSON files "
    "from elsewhere (an older app, a data dump), import them offline with: "
    "nudge-train ingest spotify DIR -o dataset.npz"
)
STOP_EXIT_CODE = 3
TRACK_ID = re.compile(r"[A-Za-z0-9]{1,64}")  # Spotify ids are base62; anything else never becomes a file name
FEATURES_BATCH = 100


class FetchStopped(RuntimeError):
    """The run cannot go on (analysis endpoint closed, credentials refused, rate limit too long)."""


@dataclass(frozen=True)
class TrackRef:
    track_id: str
    name: str = ""
    artists: tuple[str, ...] = ()
    source_kind: str = ""
    source_value: str = ""
    style: str = ""


@dataclass(frozen=True)
class FetchConfig:
    cache_dir: Path
    top_tracks: int = 10
    market: str = "US"
    features: bool = True
    max_retries: int = 5
    backoff_s: float = 1.0
    max_wait_s: float = 600.0
    progress: bool = True


@dataclass
class FetchSummary:
    fetched: int = 0
    cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # item -> reason
    stopped: str = ""
    features_unavailable: str = ""

    @property
    def reasons(self) -> Counter[str]:
        return Counter(self.failed.values())

    def format(self) -> str:
        lines = [f"fetched {self.fetched}, cached {self.cached}, failed {len(self.failed)}"]
        for reason, count in self.reasons.most_common():
            examples = [item for item, r in self.failed.items() if r == reason][:3]
            lines.append(f"  failed {count:4d}  {reason}  (e.g. {', '.join(examples)})")
        if self.features_unavailable:
            lines.append(f"audio features not fetched: {self.features_unavailable}")
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


def retry_after(error: SpotifyException, default: float) -> float:
    value = (error.headers or {}).get("Retry-After") if hasattr(error, "headers") else None
    if value is None:
        return default
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else default
    except ValueError:
        pass
    try:  # an HTTP date; one without a zone is taken as UTC (RFC 9110 dates are GMT)
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Fetcher:
    """Runs spotipy calls under the retry policy and fills the cache; ``sleep`` is injectable for tests."""

    def __init__(self, client: Any, config: FetchConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.config = config
        self.sleep = sleep
        self.summary = FetchSummary()

    def call(self, what: str, method: Callable, *args: Any, **kwargs: Any) -> Any:
        """``method(*args)`` with 429 / 5xx / network retries; raises the last error when they run out."""
        for attempt in range(self.config.max_retries + 1):
            last = attempt == self.config.max_retries
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*deprecated")  # spotipy flags these endpoints
                    return method(*args, **kwargs)
            except SpotifyOauthError as error:
                raise FetchStopped(f"Spotify refused the credentials: {redact(str(error))}") from None
            except SpotifyException as error:
                if error.http_status == 401:
                    raise FetchStopped(f"Spotify answered 401 Unauthorized on {what}") from None
                if error.http_status == 429 and not last:
                    wait = retry_after(error, self.config.backoff_s * 2**attempt)
                    if wait > self.config.max_wait_s:
                        raise FetchStopped(
                            f"Spotify asks to wait {wait:.0f} s (rate limit) - more than --max-wait "
                            f"{self.config.max_wait_s:.0f} s; run again later, cached tracks are kept"
                        ) from None
                    log.info("429 on %s: waiting %.1f s (Retry-After)", what, wait)
                    self.sleep(wait)
                elif error.http_status is not None and error.http_status >= 500 and not last:
                    wait = self.config.backoff_s * 2**attempt
                    log.info("%s on %s: retry %d in %.1f s", error.http_status, what, attempt + 1, wait)
                    self.sleep(wait)
                else:
                    raise
            except (requests.ConnectionError, requests.Timeout) as error:
                if last:
                    raise
                wait = self.config.backoff_s * 2**attempt
                log.info("network error on %s (%s): retry in %.1f s", what, type(error).__name__, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    # ---- track sources -------------------------------------------------------------------------------
    def _refs(self, items: Iterable[Any], kind: str, value: str, style: str = "") -> list[TrackRef]:
        refs = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue  # local files and removed tracks have no id
            artists = tuple(a.get("name", "") for a in item.get("artists") or [] if isinstance(a, dict))
            refs.append(TrackRef(item["id"], str(item.get("name") or ""), artists, kind, value, style))
        return refs

    def tracks_of_artists(
        self, artist_ids: Iterable[str], style: str = "", kind: str = "artist"
    ) -> list[TrackRef]:
        refs: list[TrackRef] = []
        for artist_id in artist_ids:
            try:
                result = self.call(
                    f"artist {artist_id}", self.client.artist_top_tracks, artist_id, self.config.market
                )
            except (SpotifyException, requests.RequestException) as error:
                self.summary.failed[f"artist:{artist_id}"] = _reason(error)
                continue
            tracks = (result or {}).get("tracks") if isinstance(result, dict) else None
            if not isinstance(tracks, list):
                self.summary.failed[f"artist:{artist_id}"] = (
                    "malformed payload: top tracks without a tracks list"
                )
                continue
            source = style if kind == "genre" else artist_id
            refs.extend(self._refs(tracks[: self.config.top_tracks], kind, source, style))
        return refs

    def tracks_of_genre(self, genre: str, max_artists: int = 20) -> list[TrackRef]:
        artist_ids: list[str] = []
        offset = 0
        while len(artist_ids) < max_artists:
            limit = min(50, max_artists - len(artist_ids))
            query = f'genre:"{genre}"'
            result = self.call(
                f"search {query}", self.client.search, q=query, type="artist", limit=limit, offset=offset
            )
            page = (result or {}).get("artists") if isinstance(result, dict) else None
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise FetchStopped(f"malformed payload: search for {query} has no artists.items list")
            artist_ids.extend(a["id"] for a in items if isinstance(a, dict) and isinstance(a.get("id"), str))
            if not items or not isinstance(page, dict) or not page.get("next"):
                break
            offset += len(items)
        return self.tracks_of_artists(artist_ids[:max_artists], style=genre, kind="genre")

    def tracks_of_playlist(self, playlist_id: str, max_tracks: int = 1000) -> list[TrackRef]:
        refs: list[TrackRef] = []
        result = self.call(
            f"playlist {playlist_id}",
            self.client.playlist_items,
            playlist_id,
            limit=100,
            additional_types=("track",),
        )
        while isinstance(result, dict) and len(refs) < max_tracks:
            items = result.get("items")
            if not isinstance(items, list):
                raise FetchStopped(f"malformed payload: playlist {playlist_id} page without an items list")
            tracks = [(i.get("track") or i.get("item")) if isinstance(i, dict) else None for i in items]
            refs.extend(self._refs(tracks, "playlist", playlist_id))
            if not result.get("next"):
                break
            result = self.call(f"playlist {playlist_id} (next page)", self.client.next, result)
        return refs[:max_tracks]

    # ---- analyses ------------------------------------------------------------------------------------
    def _is_cached(self, track_id: str) -> bool:
        path = record_path(self.config.cache_dir, track_id)
        if not path.is_file():
            return False
        try:
            return "audio_analysis" in json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("%s: unreadable cache file, fetching the track again", path)
            return False

    def _features(self, track_ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        if not self.config.features:
            self.summary.features_unavailable = "turned off (--no-features)"
            return found
        for i in range(0, len(track_ids), FEATURES_BATCH):
            batch = track_ids[i : i + FEATURES_BATCH]
            try:
                result = self.call("audio features", self.client.audio_features, batch)
            except (SpotifyException, requests.RequestException) as error:
                self.summary.features_unavailable = (
                    f"{_reason(error)} (features are optional; analyses go on)"
                )
                return found
            items = result.get("audio_features") if isinstance(result, dict) else result
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("id") in batch:
                    found[item["id"]] = item
        return found

    def fetch(self, tracks: Iterable[TrackRef]) -> FetchSummary:
        """Fetch every track not yet cached; may raise ``FetchStopped`` (counts so far: ``summary``)."""
        unique: dict[str, TrackRef] = {}
        for ref in tracks:
            if not TRACK_ID.fullmatch(ref.track_id):
                self.summary.failed[ref.track_id[:40]] = "invalid track id"
            else:
                unique.setdefault(ref.track_id, ref)
        todo = []
        for ref in unique.values():
            if self._is_cached(ref.track_id):
                self.summary.cached += 1
            else:
                todo.append(ref)
        features = self._features([r.track_id for r in todo]) if todo else {}
        iterable: Iterable[TrackRef] = todo
        if self.config.progress and todo:
            from tqdm import tqdm

            iterable = tqdm(todo, unit="track", desc="fetch", leave=False)
        for ref in iterable:
            self._fetch_one(ref, features.get(ref.track_id))
        return self.summary

    def _fetch_one(self, ref: TrackRef, features: dict | None) -> None:
        try:
            payload = self.call(f"analysis {ref.track_id}", self.client.audio_analysis, ref.track_id)
        except SpotifyException as error:
            if error.http_status == 403:
                self.summary.stopped = ANALYSIS_CLOSED
                raise FetchStopped(ANALYSIS_CLOSED) from None
            self.summary.failed[ref.track_id] = _reason(error)
            return
        except requests.RequestException as error:
            self.summary.failed[ref.track_id] = _reason(error)
            return
        if payload is None:
            self.summary.failed[ref.track_id] = "malformed payload: not JSON"
            return
        try:
            validate_analysis(payload)
        except AnalysisError as error:
            self.summary.failed[ref.track_id] = f"malformed payload: {error}"
            return
        try:
            validate_features(features)
        except AnalysisError as error:
            log.warning("%s: audio features left out (%s)", ref.track_id, error)
            features = None
        info = {
            "name": ref.name,
            "artists": list(ref.artists),
            "source": {"kind": ref.source_kind, "value": ref.source_value},
            "style": ref.style,
            "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        write_record(self.config.cache_dir, ref.track_id, payload, features, info)
        self.summary.fetched += 1


def _reason(error: Exception) -> str:
    if isinstance(error, SpotifyException):
        status = error.http_status
        text = {404: "not found (404)", 429: "rate limited (429) after retries"}.get(status)
        return text or (
            f"server error ({status}) after retries" if status and status >= 500 else f"HTTP {status}"
        )
    return f"network error ({type(error).__name__})"
