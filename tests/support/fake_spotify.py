"""A real local HTTP server that speaks the Spotify Web API's paths and JSON shapes, for spotipy to talk to.

``http.server`` in a thread on 127.0.0.1 (ephemeral port). It serves what the test puts in its tables
(``artists``, ``genres``, ``playlists``, ``analyses``, ``features``), checks client-credentials auth, records
every request (``requests``) and answers scripted faults first (``fail``), e.g. a 429 with Retry-After,
a 500 then success, a 403 on the analysis endpoint, or a malformed body.

Paths: POST /api/token; GET /v1/artists/{id}/top-tracks, /v1/search?type=artist&q=genre:"x",
/v1/playlists/{id}/tracks and /v1/playlists/{id}/items (paged, absolute ``next`` URLs),
/v1/audio-analysis/{id}, /v1/audio-features?ids=a,b (with or without a trailing slash).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCESS_TOKEN = "fake-access-token-1234"


@dataclass
class Fault:
    path_pattern: str  # regex searched in the request path
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # raw body; default: a Spotify error object


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def track_object(track_id: str, name: str = "", artist: str = "Artist") -> dict:
    return {
        "id": track_id,
        "name": name or f"Track {track_id}",
        "type": "track",
        "artists": [{"id": "a" + track_id[:5], "name": artist, "type": "artist"}],
    }


class FakeSpotify:
    """Use as ``with FakeSpotify() as server``; point spotipy at ``server.api_url`` / ``server.token_url``."""

    def __init__(self, client_id: str = "test-client-id", client_secret: str = "test-client-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.artists: dict[str, list[dict]] = {}  # artist id -> top track objects
        self.genres: dict[str, list[str]] = {}  # genre -> artist ids
        self.playlists: dict[str, list[dict]] = {}  # playlist id -> track objects
        self.analyses: dict[str, Any] = {}  # track id -> analysis object, or bytes sent as the raw body
        self.features: dict[str, dict] = {}  # track id -> audio-features object
        self.page_size = 2
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- scripting -------------------------------------------------------------------------------------
    def fail(
        self,
        path_pattern: str,
        status: int,
        times: int = 1,
        headers: dict | None = None,
        body: bytes | None = None,
    ) -> None:
        self.faults.append(Fault(path_pattern, status, times, dict(headers or {}), body))

    def requests_to(self, pattern: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if re.search(pattern, r.path)]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1/"

    @property
    def token_url(self) -> str:
        return self.base_url + "/api/token"

    # ---- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FakeSpotify:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSpotify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- handling --------------------------------------------------------------------------------------
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.path_pattern, path):
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(method, parts.path, parse_qs(parts.query), dict(handler.headers.items()))
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(parts.path)
        if fault is not None:
            payload = fault.body if fault.body is not None else _error_body(fault.status)
            self._send(handler, fault.status, payload, fault.headers)
            return
        status, payload = self._route(method, parts.path, request, body)
        self._send(handler, status, payload)

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, request: Request, body: bytes) -> tuple[int, Any]:
        if path == "/api/token" and method == "POST":
            return self._token(request, body)
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return 401, _error_body(401, "Invalid access token")
        routes = (
            (r"/v1/artists/([^/]+)/top-tracks", self._top_tracks),
            (r"/v1/search", self._search),
            (r"/v1/playlists/([^/]+)/(?:tracks|items)", self._playlist),
            (r"/v1/audio-analysis/([^/]+)", self._analysis),
            (r"/v1/audio-features/?", self._features),
        )
        for pattern, route in routes:
            match = re.fullmatch(pattern, path)
            if match and method == "GET":
                return route(request, *match.groups())
        return 404, _error_body(404, "Service not found")

    def _token(self, request: Request, body: bytes) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = parse_qs(body.decode())
        if request.headers.get("Authorization") != f"Basic {expected}":
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant_type"}
        return 200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}

    def _top_tracks(self, request: Request, artist_id: str) -> tuple[int, Any]:
        if artist_id not in self.artists:
            return 404, _error_body(404, "non existing id")
        return 200, {"tracks": self.artists[artist_id]}

    def _search(self, request: Request) -> tuple[int, Any]:
        query = request.query.get("q", [""])[0]
        match = re.fullmatch(r'genre:"([^"]+)"', query)
        ids = self.genres.get(match[1], []) if match else []
        limit = int(request.query.get("limit", ["10"])[0])
        offset = int(request.query.get("offset", ["0"])[0])
        page = ids[offset : offset + min(limit, self.page_size)]
        end = offset + len(page)
        following = (
            f"{self.api_url}search?q={query}&type=artist&offset={end}&limit={limit}"
            if end < len(ids)
            else None
        )
        items = [
            {"id": a, "name": f"Artist {a}", "type": "artist", "genres": [match[1]] if match else []}
            for a in page
        ]
        return 200, {
            "artists": {
                "items": items,
                "total": len(ids),
                "limit": limit,
                "offset": offset,
                "next": following,
            }
        }

    def _playlist(self, request: Request, playlist_id: str) -> tuple[int, Any]:
        if playlist_id not in self.playlists:
            return 404, _error_body(404, "Not found.")
        tracks = self.playlists[playlist_id]
        offset = int(request.query.get("offset", ["0"])[0])
        page = tracks[offset : offset + self.page_size]
        end = offset + len(page)
        following = f"{self.api_url}playlists/{playlist_id}/items?offset={end}" if end < len(tracks) else None
        items = [{"added_at": "2020-01-01T00:00:00Z", "track": t} for t in page]
        return 200, {"items": items, "total": len(tracks), "offset": offset, "next": following}

    def _analysis(self, request: Request, track_id: str) -> tuple[int, Any]:
        if track_id not in self.analyses:
            return 404, _error_body(404, "analysis not found")
        return 200, self.analyses[track_id]

    def _features(self, request: Request) -> tuple[int, Any]:
        ids = request.query.get("ids", [""])[0].split(",")
        return 200, {"audio_features": [self.features.get(i) for i in ids]}


def _error_body(status: int, message: str = "") -> bytes:
    return json.dumps({"error": {"status": status, "message": message or f"status {status}"}}).encode()
