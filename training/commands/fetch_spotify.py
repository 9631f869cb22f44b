"""``nudge-train fetch spotify``: fetch audio analyses through the Spotify Web API into a cache folder.

Exit codes: 0 every track fetched or already cached; 1 finished, but some tracks or artists failed (listed);
2 bad arguments or missing credentials; 3 stopped early (analysis endpoint closed to the app, credentials
refused, rate limit longer than --max-wait). Cached tracks are kept in every case.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CACHE = "data/spotify-cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--artists", nargs="+", metavar="ID", help="Spotify artist ids (their top tracks)")
    source.add_argument("--artists-file", metavar="FILE", help="text file with one artist id per line")
    source.add_argument("--genre", help='genre to search artists for (genre:"...") - also the style label')
    source.add_argument("--playlist", metavar="ID", help="a playlist id (its tracks)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help=f"cache folder (default {DEFAULT_CACHE})")
    parser.add_argument(
        "--top-tracks", type=int, default=10, help="top tracks per artist, 1..10 (default 10)"
    )
    parser.add_argument("--max-artists", type=int, default=20, help="artists taken from --genre (default 20)")
    parser.add_argument(
        "--max-tracks", type=int, default=1000, help="tracks taken from --playlist (default 1000)"
    )
    parser.add_argument("--market", default="US", help="market for top tracks (default US)")
    parser.add_argument("--no-features", action="store_true", help="do not fetch audio features")
    parser.add_argument("--max-retries", type=int, default=5, help="retries on 429/5xx/network (default 5)")
    parser.add_argument(
        "--backoff", type=float, default=1.0, help="first 5xx backoff in s, doubling (default 1)"
    )
    parser.add_argument(
        "--max-wait", type=float, default=600.0, help="longest Retry-After to wait, in s (default 600)"
    )
    parser.add_argument("--api-url", help="Web API base (default https://api.spotify.com/v1/)")
    parser.add_argument("--token-url", help="token endpoint (default https://accounts.spotify.com/api/token)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _artist_ids(args: argparse.Namespace) -> list[str]:
    if args.artists:
        return list(args.artists)
    lines = Path(args.artists_file).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def _describe(error: Exception) -> str:
    from training.spotify.client import redact

    status = getattr(error, "http_status", None)
    text = f"Spotify answered HTTP {status}" if status else f"{type(error).__name__}"
    return redact(f"{text}: {getattr(error, 'msg', error)}")


def run(args: argparse.Namespace) -> int:
    from requests import RequestException
    from spotipy.exceptions import SpotifyException

    from training.spotify.client import ClientSettings, CredentialsError, make_client, redact
    from training.spotify.fetch import STOP_EXIT_CODE, FetchConfig, Fetcher, FetchStopped

    if not 1 <= args.top_tracks <= 10 or args.max_artists < 1 or args.max_tracks < 1 or args.max_retries < 0:
        print(
            "error: --top-tracks must be 1..10; --max-artists, --max-tracks >= 1; --max-retries >= 0",
            file=sys.stderr,
        )
        return 2
    try:
        settings = ClientSettings.from_env(api_url=args.api_url, token_url=args.token_url)
        artist_ids = _artist_ids(args) if (args.artists or args.artists_file) else []
    except (CredentialsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = FetchConfig(
        cache_dir=Path(args.cache),
        top_tracks=args.top_tracks,
        market=args.market,
        features=not args.no_features,
        max_retries=args.max_retries,
        backoff_s=args.backoff,
        max_wait_s=args.max_wait,
        progress=not args.no_progress,
    )
    fetcher = Fetcher(make_client(settings), config)
    try:
        if args.genre:
            tracks = fetcher.tracks_of_genre(args.genre, args.max_artists)
        elif args.playlist:
            tracks = fetcher.tracks_of_playlist(args.playlist, args.max_tracks)
        else:
            tracks = fetcher.tracks_of_artists(artist_ids)
        summary = fetcher.fetch(tracks)
    except FetchStopped as error:
        fetcher.summary.stopped = redact(str(error))
        print(fetcher.summary.format())
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return STOP_EXIT_CODE
    except (SpotifyException, RequestException) as error:  # e.g. an unknown playlist: nothing to fetch
        print(fetcher.summary.format())
        print(f"error: {_describe(error)}", file=sys.stderr)
        return 1
    print(summary.format())
    print(f"cache: {config.cache_dir} (next: nudge-train ingest spotify {config.cache_dir} -o dataset.npz)")
    return 1 if summary.failed else 0
