"""Fetching from a real local HTTP server speaking the Web API: full, resumed, 429, 5xx, 403, bad payloads."""

from __future__ import annotations

import json

import pytest
from spotipy.exceptions import SpotifyException

from tests.support.fake_spotify import FakeSpotify, track_object
from tests.support.spotify_analysis import features, four_on_the_floor
from training.spotify.client import ClientSettings, make_client
from training.spotify.fetch import ANALYSIS_CLOSED, FetchConfig, Fetcher, FetchStopped, retry_after
from training.spotify.records import list_track_files, read_record

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*deprecated")]

CLIENT_ID, SECRET = "fetch-test-id", "fetch-test-secret-9876"
TRACKS = {"artistA": ["trkA1", "trkA2"], "artistB": ["trkB1", "trkB2"]}


@pytest.fixture
def server():
    with FakeSpotify(CLIENT_ID, SECRET) as fake:
        for artist, ids in TRACKS.items():
            fake.artists[artist] = [track_object(i, artist=artist) for i in ids]
            for track_id in ids:
                fake.analyses[track_id] = four_on_the_floor(n_bars=4)
                fake.features[track_id] = features(track_id)
        yield fake


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _fetcher(server, cache, **config) -> tuple[Fetcher, Sleeps]:
    settings = ClientSettings(
        CLIENT_ID, SECRET, api_url=server.api_url, token_url=server.token_url, timeout_s=5
    )
    sleeps = Sleeps()
    options = {"progress": False, "backoff_s": 1.0, **config}
    return Fetcher(make_client(settings), FetchConfig(cache_dir=cache, **options), sleep=sleeps), sleeps


def _fetch_artists(server, cache, **config):
    fetcher, sleeps = _fetcher(server, cache, **config)
    summary = fetcher.fetch(fetcher.tracks_of_artists(list(TRACKS)))
    return summary, sleeps


def _cache_names(cache) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_full_fetch_writes_one_validated_record_per_track(server, tmp_path):
    summary, sleeps = _fetch_artists(server, tmp_path)
    assert (summary.fetched, summary.cached, summary.failed) == (4, 0, {})
    assert _cache_names(tmp_path) == ["trkA1.json", "trkA2.json", "trkB1.json", "trkB2.json"]
    record = json.loads((tmp_path / "trkA1.json").read_text())
    assert record["source"] == {"kind": "artist", "value": "artistA"}
    assert record["artists"] == ["artistA"] and record["audio_features"]["danceability"] == 0.8
    assert record["audio_analysis"] == server.analyses["trkA1"]
    assert read_record(tmp_path / "trkA1.json").features["energy"] == 0.7
    assert len(server.requests_to("/audio-features")) == 1  # one batched features call
    assert sleeps == []
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text()


def test_top_tracks_are_limited_per_artist(server, tmp_path):
    summary, _ = _fetch_artists(server, tmp_path, top_tracks=1)
    assert summary.fetched == 2 and _cache_names(tmp_path) == ["trkA1.json", "trkB1.json"]


def test_resumed_fetch_never_refetches_what_is_cached(server, tmp_path):
    _fetch_artists(server, tmp_path)
    (tmp_path / "trkB2.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    analysis_calls = len(server.requests_to("/audio-analysis/"))
    summary, _ = _fetch_artists(server, tmp_path)
    assert (summary.fetched, summary.cached, summary.failed) == (1, 3, {})
    new_calls = [r.path for r in server.requests_to("/audio-analysis/")][analysis_calls:]
    assert new_calls == ["/v1/audio-analysis/trkB2"]
    assert all((tmp_path / name).stat().st_mtime_ns == mtime for name, mtime in before.items())
    summary, _ = _fetch_artists(server, tmp_path)
    assert (summary.fetched, summary.cached) == (0, 4)


def test_an_unreadable_cache_file_is_fetched_again(server, tmp_path):
    (tmp_path / "trkA1.json").write_text("{half a rec")
    summary, _ = _fetch_artists(server, tmp_path)
    assert (summary.fetched, summary.cached) == (4, 0)
    assert read_record(tmp_path / "trkA1.json").track_id == "trkA1"


def test_429_waits_retry_after_then_succeeds(server, tmp_path):
    server.fail("/audio-analysis/trkA2", 429, times=2, headers={"Retry-After": "1"})
    summary, sleeps = _fetch_artists(server, tmp_path)
    assert summary.fetched == 4 and summary.failed == {}
    assert sleeps == [1.0, 1.0]
    assert len(server.requests_to("/audio-analysis/trkA2")) == 3


def test_429_asking_for_too_long_a_wait_stops_and_keeps_the_cache(server, tmp_path):
    server.fail("/audio-analysis/trkB1", 429, headers={"Retry-After": "3600"})
    with pytest.raises(FetchStopped, match="wait 3600 s"):
        _fetch_artists(server, tmp_path, max_wait_s=60)
    assert _cache_names(tmp_path) == ["trkA1.json", "trkA2.json"]


def test_500_then_success_retries_with_backoff(server, tmp_path):
    server.fail("/audio-analysis/trkA1", 500, times=2)
    summary, sleeps = _fetch_artists(server, tmp_path)
    assert summary.fetched == 4 and summary.failed == {}
    assert sleeps == [1.0, 2.0]  # exponential backoff from backoff_s


def test_persistent_5xx_fails_that_track_with_a_reason_and_goes_on(server, tmp_path):
    server.fail("/audio-analysis/trkA1", 503, times=10)
    summary, sleeps = _fetch_artists(server, tmp_path, max_retries=2)
    assert summary.failed == {"trkA1": "server error (503) after retries"}
    assert summary.fetched == 3 and sleeps == [1.0, 2.0]
    assert "trkA1.json" not in _cache_names(tmp_path)
    assert "failed    1  server error (503) after retries" in summary.format()


def test_403_on_analysis_stops_with_the_november_2024_message(server, tmp_path):
    server.fail("/audio-analysis/trkA2", 403, times=5)
    fetcher, _ = _fetcher(server, tmp_path)
    with pytest.raises(FetchStopped) as caught:
        fetcher.fetch(fetcher.tracks_of_artists(list(TRACKS)))
    message = str(caught.value)
    assert message == ANALYSIS_CLOSED
    assert "November 2024" in message and "nudge-train ingest spotify DIR" in message
    assert fetcher.summary.fetched == 1 and _cache_names(tmp_path) == ["trkA1.json"]
    assert len(server.requests_to("/audio-analysis/")) == 2  # nothing asked after the 403


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{this is not json", "malformed payload: not JSON"),
        (json.dumps({"beats": "every one"}).encode(), "malformed payload: beats: expected a list"),
        (
            json.dumps({"segments": [{"start": 1.0}]}).encode(),
            "malformed payload: segments[0].duration: missing",
        ),
    ],
)
def test_a_malformed_payload_is_reported_and_nothing_is_half_written(server, tmp_path, body, reason):
    server.fail("/audio-analysis/trkB1", 200, body=body)
    summary, _ = _fetch_artists(server, tmp_path)
    assert summary.failed["trkB1"].startswith(reason)
    assert _cache_names(tmp_path) == ["trkA1.json", "trkA2.json", "trkB2.json"]  # no temp files either
    again, _ = _fetch_artists(server, tmp_path)  # the next run fetches it properly
    assert (again.fetched, again.cached) == (1, 3)


def test_missing_analysis_and_artist_are_failures_with_reasons(server, tmp_path):
    del server.analyses["trkA1"]
    fetcher, _ = _fetcher(server, tmp_path)
    summary = fetcher.fetch(fetcher.tracks_of_artists(["artistA", "nobody"]))
    assert summary.failed == {"artist:nobody": "not found (404)", "trkA1": "not found (404)"}
    assert summary.fetched == 1


def test_features_refused_are_optional(server, tmp_path):
    server.fail("/audio-features", 403)
    summary, _ = _fetch_artists(server, tmp_path)
    assert summary.fetched == 4 and "HTTP 403" in summary.features_unavailable
    assert json.loads((tmp_path / "trkA1.json").read_text())["audio_features"] is None


def test_genre_search_pages_through_artists_and_labels_the_style(server, tmp_path):
    server.genres["deep house"] = ["artistA", "artistB", "nobody"]
    fetcher, _ = _fetcher(server, tmp_path, top_tracks=1)
    refs = fetcher.tracks_of_genre("deep house", max_artists=2)
    assert [r.track_id for r in refs] == ["trkA1", "trkB1"]
    assert len(server.requests_to("/v1/search")) == 1
    fetcher.fetch(refs)
    record = read_record(tmp_path / "trkB1.json")
    assert record.style == "deep house"
    every = fetcher.tracks_of_genre("deep house", max_artists=10)  # pages of 2 via absolute next URLs
    assert len(server.requests_to("/v1/search")) == 3
    assert fetcher.summary.failed["artist:nobody"] == "not found (404)" and len(every) == 2


def test_playlist_pages_are_followed_and_empty_items_skipped(server, tmp_path):
    server.playlists["pl1"] = [track_object("trkA1"), None, track_object("trkB2"), track_object("trkA2")]
    fetcher, _ = _fetcher(server, tmp_path)
    refs = fetcher.tracks_of_playlist("pl1")
    assert [r.track_id for r in refs] == ["trkA1", "trkB2", "trkA2"]
    assert len(server.requests_to("/v1/playlists/pl1/")) == 2
    assert fetcher.fetch(refs).fetched == 3


def test_track_ids_that_are_not_spotify_ids_never_become_files(server, tmp_path):
    server.artists["evil"] = [track_object("../../escape"), track_object("trkA1")]
    fetcher, _ = _fetcher(server, tmp_path / "cache")
    summary = fetcher.fetch(fetcher.tracks_of_artists(["evil"]))
    assert summary.failed == {"../../escape": "invalid track id"} and summary.fetched == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
    assert [p.name for p in list_track_files(tmp_path / "cache")] == ["trkA1.json"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("-3", 0.0),
        ("nan", 42.0),
        ("Wed, 21 Oct 2015 07:28:00", 0.0),  # an HTTP date without a zone (taken as UTC): long past
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("tomorrow-ish", 42.0),
        ("", 42.0),
    ],
)
def test_retry_after_headers_of_any_shape_give_a_wait_never_an_exception(header, expected):
    error = SpotifyException(429, -1, "rate limited", headers={"Retry-After": header})
    assert retry_after(error, 42.0) == expected
