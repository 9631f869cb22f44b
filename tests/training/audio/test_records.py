"""``nudge-train analyze audio`` end to end: formats, skipped files with reasons, the resumable cache, and
``ingest spotify`` (with ``--series`` / ``--series-midi``) reading local-audio records unchanged."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile

from tests.support.audio import render_loop, soundfont_or_skip, write_audio
from training.cli import main
from training.dataset import RhythmDataset
from training.spotify.ingest import build_dataset
from training.spotify.records import read_record

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    soundfont_or_skip()
    folder = tmp_path_factory.mktemp("audio")
    loop = render_loop(folder / "groove 1.wav", bpm=104.0, bars=10, lead_s=0.2)
    samples, rate = soundfile.read(loop)
    write_audio(folder / "groove-flac.flac", samples[: rate * 12], rate)
    (folder / "sub").mkdir()
    write_audio(folder / "sub" / "groove-mp3.mp3", samples[: rate * 12], rate, format="MP3")
    write_audio(folder / "silence.wav", np.zeros((rate * 3, 2)), rate)
    (folder / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 200)
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_analyse_a_folder_then_resume_then_ingest(folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    rc = main(["analyze", "audio", str(folder), "-o", str(cache), "--no-progress", "--style", "demo"])
    out = capsys.readouterr().out
    assert rc == 1  # two files skipped
    assert "5 found, 3 analysed" in out
    assert "silent" in out and "unreadable" in out and "broken.ogg" in out
    records = sorted(cache.glob("*.json"))
    assert len(records) == 3
    payload = json.loads(records[0].read_text())
    assert payload["format"] == "nudge-spotify-track/1"
    assert payload["source"]["kind"] == "local-audio" and payload["style"] == "demo"
    assert payload["audio_features"] is None and len(payload["audio_file"]["sha1"]) == 40
    assert {r.stem.rsplit("-", 1)[0] for r in records} == {"groove_1", "groove-flac", "groove-mp3"}
    for record in records:
        assert read_record(record).analysis.tempo_bpm == pytest.approx(104.0, rel=0.02)

    stamps = {r: r.stat().st_mtime_ns for r in records}
    rc = main(["analyze", "audio", str(folder), "-o", str(cache), "--no-progress"])
    assert "0 analysed, 3 already in the cache" in capsys.readouterr().out
    assert {r: r.stat().st_mtime_ns for r in records} == stamps  # nothing analysed again

    moved = tmp_path / "moved.wav"  # the id comes from the content: a moved file is still cached
    shutil.copy(folder / "groove 1.wav", moved)
    main(["analyze", "audio", str(moved), "-o", str(cache), "--no-progress"])
    assert "1 already in the cache" in capsys.readouterr().out

    out_npz, series, midi = tmp_path / "d.npz", tmp_path / "s.npz", tmp_path / "midi"
    series_args = ["--series", str(series), "--series-midi", str(midi)]
    rc = main(
        ["ingest", "spotify", str(cache), "-o", str(out_npz), *series_args, "--no-progress", "--bars", "2"]
    )
    assert rc == 0, capsys.readouterr()
    dataset = RhythmDataset.load(out_npz)
    assert len(dataset) >= 3 and set(dataset.style) == {"demo"}
    assert dataset.patterns[:, 0].sum() > 0
    assert np.load(series)["series"].shape[:2] == (3, 8)
    assert len(list(midi.glob("*.mid"))) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere-at-all"], "no such file"),
        ([], "no audio files"),
    ],
)
def test_bad_arguments(tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    paths = args or [str(tmp_path / "empty")]
    rc = main(["analyze", "audio", *paths, "-o", str(tmp_path / "cache"), "--no-progress"])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_local_audio_record_ingests_like_a_spotify_record_with_the_same_events(folder, tmp_path, capsys):
    """The same beats, bars, tatums, sections and segments: once as our local-audio record, once as a bare
    Spotify API response (its extra fields included) and once as a fetched Spotify record. Ingest cannot tell
    them apart: the same patterns, bpm and windows."""
    cache = tmp_path / "local"
    main(["analyze", "audio", str(folder / "groove 1.wav"), "-o", str(cache), "--no-progress"])
    capsys.readouterr()
    (local_path,) = cache.glob("*.json")
    local = json.loads(local_path.read_text())
    analysis = local["audio_analysis"]
    spotify_analysis = {
        "meta": {**analysis["meta"], "analyzer_version": "4.0.0", "input_process": "libvorbisfile L+R"},
        "track": {**analysis["track"], "codestring": "eJx", "code_version": 3.15, "rhythmstring": "eJx"},
        **{k: analysis[k] for k in ("bars", "beats", "tatums", "sections")},
        "segments": [{k: v for k, v in s.items() if k != "loudness_end"} for s in analysis["segments"]],
    }  # fmt: skip
    fetched = {**local, "source": {"kind": "playlist", "value": "37i9dQZF1DX2TRYkJECvfC"}}
    fetched["audio_analysis"] = spotify_analysis
    del fetched["audio_file"]
    bare_dir, fetched_dir = tmp_path / "bare", tmp_path / "fetched"
    bare_dir.mkdir()
    fetched_dir.mkdir()
    (bare_dir / f"{local['track_id']}.json").write_text(json.dumps(spotify_analysis))
    (fetched_dir / f"{local['track_id']}.json").write_text(json.dumps(fetched))
    datasets = [
        build_dataset([read_record(next(d.glob("*.json")))])[0] for d in (cache, bare_dir, fetched_dir)
    ]
    assert len(datasets[0]) >= 3
    for other in datasets[1:]:
        np.testing.assert_array_equal(other.patterns, datasets[0].patterns)
        np.testing.assert_array_equal(other.bpm, datasets[0].bpm)
        np.testing.assert_array_equal(other.start_bar, datasets[0].start_bar)
        np.testing.assert_array_equal(other.split, datasets[0].split)
