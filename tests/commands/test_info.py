"""``nudge info``: a model's metadata in words and as JSON."""

from __future__ import annotations

import json

from companion.cli import main
from tests.support.tiny_onnx import write_tiny_model


def test_info_prints_conditions_styles_and_grid(tmp_path, capsys):
    path = write_tiny_model(tmp_path / "groove.onnx", conditions=("density", "danceability"))
    assert main(["info", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "model       groove" in out and "2 bars of 4 beats" in out
    assert "styles      funk, rock" in out
    assert "density" in out and "danceability" in out and "default 0.50" in out


def test_info_json_is_the_metadata(tmp_path, capsys):
    path = write_tiny_model(tmp_path / "groove.onnx")
    assert main(["info", "--model", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latent_dim"] == 8 and [c["name"] for c in data["conditions"]] == ["density", "syncopation"]


def test_info_on_a_broken_file(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"")
    assert main(["info", "--model", str(tmp_path / "bad.onnx")]) == 2
    assert "file is empty" in capsys.readouterr().err
