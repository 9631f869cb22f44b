"""``nudge-train evaluate-tools`` end to end on tiny data: every task's rows, the report, and the command."""

from __future__ import annotations

import json

import pytest

from tests.support.tools_data import tiny_base, write_tools_data
from training.cli import main as cli_main
from training.dataset import RhythmDataset
from training.evaluation.tools_eval import ToolsEvalConfig, evaluate_tools
from training.export.tools_export import export_tools
from training.tools.config import ToolsConfig
from training.tools.train import fit_tools


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    beats, fills = write_tools_data(root)
    base = tiny_base(root, beats)
    config = ToolsConfig(
        base=str(base), data=str(beats), fills=str(fills), out=str(root / "tools"),
        enc_hidden=16, enc_dim=8, groove_hidden=16, batch_size=16, steps=2, val_every=2, checkpoint_every=2,
        progress=False,
    )  # fmt: skip
    generator, _ = export_tools(fit_tools(config), root / "m.onnx")
    return generator.path, beats, fills


def test_every_task_has_its_rows_and_the_baselines(model):
    path, beats, fills = model
    result = evaluate_tools(
        str(path),
        RhythmDataset.load(beats),
        RhythmDataset.load(fills),
        ToolsEvalConfig(repeats=2, candidates=8),
    )
    tasks = result.tasks
    assert set(tasks) == {"groove", "drumify", "continue", "interpolate", "fill"}
    assert {"model", "groove template", "random humaniser", "search (plain generator)"} <= set(
        tasks["groove"]
    )
    assert tasks["groove"]["model"]["hits_kept"].mean == 1.0  # by construction
    assert {"model", "nearest-onset train window", "generate"} <= set(tasks["drumify"])
    assert sum(tasks["drumify"]["nearest-onset train window"]["copies"].values) > 0  # a copy by definition
    assert tasks["continue"]["model"]["input_unchanged"].mean == 1.0
    assert tasks["interpolate"]["model"]["monotone_steps"].mean == 1.0
    assert tasks["fill"]["model"]["before_unchanged"].mean == 1.0
    assert len(tasks["groove"]["model"]["velocity_r"].values) == 2  # one per repeat
    assert 0 <= result.classifier["test_accuracy"] <= 1


def test_the_command_writes_the_report(model, tmp_path, capsys):
    path, beats, fills = model
    out = tmp_path / "report"
    args = ["evaluate-tools", str(path), "--data", str(beats), "--fills", str(fills), "--repeats", "1"]
    assert cli_main([*args, "--candidates", "8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "groove" in text and "fill classifier" in text
    page = (out / "README.md").read_text()
    assert "## Groove" in page and "tools_groove.png" in page and (out / "tools_fill.png").exists()
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["tasks"]["drumify"]["model"]["onset_f1"]["mean"] >= 0
