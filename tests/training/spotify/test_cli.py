"""``nudge-train fetch spotify`` and ``ingest spotify`` end to end: local server, real files, exit codes."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys

import mido
import numpy as np
import pytest

from tests.support.fake_spotify import FakeSpotify, track_object
from tests.support.spotify_analysis import features, four_on_the_floor
from training.cli import main
from training.dataset import RhythmDataset

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*deprecated")]

CLIENT_ID, SECRET = "cli-test-id", "cli-test-secret-5555"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", SECRET)
    with FakeSpotify(CLIENT_ID, SECRET) as fake:
        ids = [f"trk{i}" for i in range(6)]
        fake.artists["art1"] = [track_object(i) for i in ids[:3]]
        fake.artists["art2"] = [track_object(i) for i in ids[3:]]
        for n, track_id in enumerate(ids):
            fake.analyses[track_id] = four_on_the_floor(bpm=110 + 5 * n, n_bars=6)
            fake.features[track_id] = features(track_id, danceability=0.1 * n, tempo=110 + 5 * n)
        yield fake


def _fetch(server, cache, *extra, verbose=()):
    urls = ["--api-url", server.api_url, "--token-url", server.token_url]
    return main(
        [
            *verbose,
            "fetch",
            "spotify",
            "--artists",
            "art1",
            "art2",
            "--cache",
            str(cache),
            "--no-progress",
            *urls,
            *extra,
        ]
    )


def test_fetch_then_ingest_gives_a_dataset_with_extra_conditions(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert _fetch(server, cache) == 0
    out = capsys.readouterr().out
    assert "fetched 6, cached 0, failed 0" in out
    assert _fetch(server, cache) == 0
    assert "fetched 0, cached 6, failed 0" in capsys.readouterr().out
    output = tmp_path / "spotify.npz"
    code = main(
        [
            "ingest",
            "spotify",
            str(cache),
            "-o",
            str(output),
            "--bars",
            "2",
            "--hop-bars",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "files: 6 found, 6 used, 0 skipped" in out and "danceability, track_energy, valence, tempo" in out
    dataset = RhythmDataset.load(output)
    assert len(dataset) == 6 * 3 and dataset.grid.bars == 2 and dataset.grid.n_steps == 32
    assert sorted(set(dataset.source.tolist())) == [f"trk{i}" for i in range(6)]
    assert np.allclose(
        sorted(set(dataset.extra_conditions["danceability"].round(3).tolist())), [0.1 * n for n in range(6)]
    )


def test_fetch_stops_with_exit_code_3_and_the_offline_hint_on_403(server, tmp_path, capsys):
    server.fail("/audio-analysis/", 403, times=100)
    assert _fetch(server, tmp_path / "cache") == 3
    captured = capsys.readouterr()
    assert "November 2024" in captured.err and "nudge-train ingest spotify DIR" in captured.err
    assert "fetched 0, cached 0, failed 0" in captured.out


def test_fetch_without_credentials_exits_2_naming_the_variables(server, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET")
    assert _fetch(server, tmp_path / "cache") == 2
    assert "SPOTIPY_CLIENT_SECRET" in capsys.readouterr().err


def test_fetch_with_refused_credentials_exits_3_without_the_secret(
    server, tmp_path, capsys, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "a-wrong-secret-777")
    assert _fetch(server, tmp_path / "cache", verbose=["-vv"]) == 3
    captured = capsys.readouterr()
    assert "refused the credentials" in captured.err
    everything = captured.out + captured.err + caplog.text
    assert "a-wrong-secret-777" not in everything and SECRET not in everything


def test_fetch_of_an_unknown_playlist_exits_1(server, tmp_path, capsys):
    urls = ["--api-url", server.api_url, "--token-url", server.token_url]
    assert (
        main(["fetch", "spotify", "--playlist", "nope", "--cache", str(tmp_path), "--no-progress", *urls])
        == 1
    )
    assert "HTTP 404" in capsys.readouterr().err


def test_fetch_with_failed_tracks_exits_1_and_lists_them(server, tmp_path, capsys):
    del server.analyses["trk4"]
    assert _fetch(server, tmp_path / "cache") == 1
    assert "failed    1  not found (404)  (e.g. trk4)" in capsys.readouterr().out


def test_offline_ingest_of_bare_analyses_with_series_and_midi(tmp_path, capsys):
    folder = tmp_path / "dump"
    folder.mkdir()
    for i in range(3):
        (folder / f"song-{i}.json").write_text(json.dumps(four_on_the_floor(n_bars=5)))
    (folder / "garbage.json").write_text(json.dumps({"beats": [{"start": "x", "duration": 1}]}))
    out = tmp_path / "ds.npz"
    series = tmp_path / "series.npz"
    midi_dir = tmp_path / "midi"
    args = [
        "ingest",
        "spotify",
        str(folder),
        "-o",
        str(out),
        "--series",
        str(series),
        "--series-midi",
        str(midi_dir),
    ]
    assert main([*args, "--frames", "100", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "files: 4 found, 3 used, 1 skipped" in text and "garbage.json: beats[0].start" in text
    dataset = RhythmDataset.load(out)
    assert list(dataset.extra_conditions) == ["tempo"] and len(dataset) == 3 * 2
    with np.load(series) as data:
        assert data["series"].shape == (3, 8, 100) and data["track_id"].tolist() == [
            "song-0",
            "song-1",
            "song-2",
        ]
    assert sorted(p.name for p in midi_dir.iterdir()) == ["song-0.mid", "song-1.mid", "song-2.mid"]
    assert any(m.type == "note_on" for m in mido.MidiFile(midi_dir / "song-0.mid").tracks[0])


def test_ingest_of_a_folder_without_usable_windows_writes_nothing(tmp_path, capsys):
    (tmp_path / "one.json").write_text(json.dumps(four_on_the_floor(n_bars=1)))
    out = tmp_path / "ds.npz"
    assert main(["ingest", "spotify", str(tmp_path), "-o", str(out), "--no-progress"]) == 1
    assert not out.exists() and "no usable window" in capsys.readouterr().err
    assert main(["ingest", "spotify", str(tmp_path / "missing"), "-o", str(out), "--no-progress"]) == 2
    assert main(["ingest", "spotify", str(tmp_path), "-o", str(out), "--bars", "9"]) == 2


def test_a_real_process_at_debug_level_never_prints_the_secret(server, tmp_path):
    urls = ["--api-url", server.api_url, "--token-url", server.token_url]
    command = [sys.executable, "-m", "training.cli", "-vv", "fetch", "spotify", "--artists", "art1"]
    command += ["--cache", str(tmp_path / "cache"), "--no-progress", *urls]
    env = {**os.environ, "SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": SECRET}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Sending POST request" in result.stderr  # spotipy's debug output, headers included...
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    for secret in (SECRET, basic):  # ...with the secret redacted
        assert secret not in result.stderr and secret not in result.stdout
    assert "fetched 3, cached 0, failed 0" in result.stdout
