"""Spotify analyses -> ingest -> fit -> export -> the daemon's loader: the ONNX contract holds unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.spotify_analysis import features, four_on_the_floor, make_analysis
from training.cli import main
from training.dataset import RhythmDataset
from training.spotify.records import write_record

pytest.importorskip("torch", reason="training needs torch (the [train] extra)")
pytestmark = [pytest.mark.slow, pytest.mark.integration]

CONDITIONS = ("density", "syncopation", "danceability", "track_energy", "tempo")


def _write_fixtures(folder) -> None:
    rng = np.random.default_rng(0)
    for n in range(10):
        track_id = f"trk{n:02d}"
        bpm = 100.0 + 5 * n
        if n % 2:
            payload = four_on_the_floor(bpm=bpm, n_bars=6)
        else:
            beat = 60.0 / bpm
            times = 0.5 + np.sort(rng.choice(6 * 16, size=40, replace=False)) * beat / 4
            segments = [(float(t), float(rng.uniform(-20, -4)), float(rng.uniform(-100, 100))) for t in times]
            payload = make_analysis(
                bpm=bpm, n_bars=6, segments=segments, section_starts_s=(0.0, 0.5 + 8 * beat)
            )
        info = {"style": "house", "name": f"Track {n}"}
        write_record(folder, track_id, payload, features(track_id, danceability=n / 10, tempo=bpm), info)


def test_spotify_dataset_trains_exports_and_loads_in_the_daemon(tmp_path, capsys):
    from companion.runtime.model import load_model

    cache = tmp_path / "cache"
    _write_fixtures(cache)
    data = tmp_path / "spotify.npz"
    assert main(["ingest", "spotify", str(cache), "-o", str(data), "--bars", "2", "--no-progress"]) == 0
    dataset = RhythmDataset.load(data)
    assert {"danceability", "track_energy", "valence", "tempo"} <= set(dataset.extra_conditions)
    assert "train" in set(dataset.split.tolist())
    run = tmp_path / "run"
    fit = ["fit", "--data", str(data), "--out", str(run), "--conditions", ",".join(CONDITIONS)]
    fit += [
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--checkpoint-every",
        "2",
        "--latent-dim",
        "8",
        "--g-hidden",
        "32",
    ]
    fit += ["--bar-dim", "8", "--bar-hidden", "16", "--d-hidden", "32", "--val-rows", "0", "--no-progress"]
    assert main(fit) == 0
    model_path = tmp_path / "models" / "spotify.onnx"
    assert main(["export", str(run / "last.pt"), "-o", str(model_path)]) == 0
    model = load_model(model_path)
    meta = model.meta
    assert meta.condition_names == CONDITIONS
    assert meta.styles == ("house",)
    assert (meta.steps_per_beat, meta.beats_per_bar, meta.bars) == (4, 4, 2)
    n = 5
    rng = np.random.default_rng(1)
    z = rng.standard_normal((n, meta.latent_dim)).astype(np.float32)
    cond = rng.uniform(0, 1, (n, len(CONDITIONS))).astype(np.float32)
    out = model.run(z, cond, np.zeros(n, dtype=np.int64))
    assert out.shape == (n, 3, 9, 32) and np.all(np.isfinite(out))
    danceability = next(c for c in meta.conditions if c.name == "danceability")
    assert danceability.quantiles[0] == pytest.approx(0.0) and danceability.quantiles[-1] == pytest.approx(
        1.0
    )
    assert json.loads(json.dumps(meta.dataset))  # the dataset block is plain JSON
