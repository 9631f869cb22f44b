"""Model cards (issue 25): export writes a first one, evaluate writes it with the figures (date, machine,
command), --compare puts another model's figures beside them, and the shipped card is the writer's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from companion.core.pattern import Grid
from companion.runtime.model import load_model
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import write_tiny_model
from tests.training.export.test_export import checkpoints  # noqa: F401 (a fixture)
from training.cli import main as cli_main
from training.commands.evaluate import SHIPPED_MODEL
from training.export.card import card_path_for, compared_metrics, model_card, notes_path_for, recipe_command

ROOT = Path(__file__).resolve().parents[3]
GRID = Grid(4, 4, 4)
FAST = ["--seed", "1", "--sweep-levels", "3", "--sweep-samples", "2", "--candidates", "8", "--repeats", "2"]


def test_the_shipped_card_is_what_the_writer_makes_of_the_model_and_its_report():
    metrics = json.loads((ROOT / "models" / "report" / "metrics.json").read_text(encoding="utf-8"))
    card = ROOT / "models" / "MODEL_CARD.md"
    expected = model_card(
        load_model(ROOT / "models" / "default.onnx").meta,
        "models/default.onnx",
        metrics,
        compared_metrics(metrics),
        notes=notes_path_for(card).read_text(encoding="utf-8"),
        notes_name=notes_path_for(card).name,
    )
    assert card.read_text(encoding="utf-8") == expected, (
        "models/MODEL_CARD.md differs from its writer: run nudge-train card models/default.onnx "
        "--report models/report -o models/MODEL_CARD.md (edit MODEL_CARD.notes.md, not the card)"
    )
    assert "Groove MIDI Dataset" in expected and "CC BY 4.0" in expected
    assert re.search(r"Measured \d{4}-\d\d-\d\d on .+ by `nudge-train evaluate models/default.onnx", expected)


def test_export_writes_a_first_card_beside_the_model(checkpoints, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "groovy.onnx"
    assert cli_main(["export", str(checkpoints[0]), "-o", str(out)]) == 0
    card = (tmp_path / "groovy.card.md").read_text(encoding="utf-8")
    assert "model card: " in capsys.readouterr().out
    assert card.startswith("# Model card: `groovy.onnx`")
    assert "## Data: licence and credit" in card and "## Recipe" in card and "`nudge-train fit --data" in card
    assert "Not evaluated yet" in card and f"nudge-train evaluate {out}" in card
    (tmp_path / "mine.onnx").write_text("not a model")
    assert cli_main(["export", str(checkpoints[0]), "-o", str(tmp_path / "mine.onnx")]) == 2
    assert "mine.onnx: exists and is not an ONNX model" in capsys.readouterr().err
    assert (tmp_path / "mine.onnx").read_text() == "not a model"


def test_recipe_lists_the_options_that_differ_from_the_defaults(checkpoints, tmp_path):  # noqa: F811
    out = tmp_path / "m.onnx"
    assert cli_main(["export", str(checkpoints[0]), "-o", str(out)]) == 0
    recipe = recipe_command(load_model(out).meta)
    assert recipe.startswith("nudge-train fit --data tiny.npz ")
    assert "--steps 4" in recipe and "--batch-size 16" in recipe and "--val-rows 0" in recipe
    assert "--lr-g" not in recipe and "--loss" not in recipe  # defaults are left out


@pytest.fixture(scope="module")
def models_and_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    conditions, styles = ("density", "syncopation"), ("funk", "rock")
    first = write_tiny_model(root / "first.onnx", grid=GRID, conditions=conditions, styles=styles, seed=1)
    second = write_tiny_model(root / "second.onnx", grid=GRID, conditions=conditions, styles=styles, seed=2)
    return first, second, synthetic_dataset(GRID).save(root / "data.npz")


def test_evaluate_writes_the_card_with_figures_and_compares_in_one_table(models_and_data, tmp_path, capsys):
    first, second, data = models_and_data
    (tmp_path / "first.card.notes.md").write_text("Only for tests.\n")
    card_file = tmp_path / "first.card.md"
    args = ["evaluate", str(first), "--data", str(data), "--out", str(tmp_path / "report"), *FAST]
    assert cli_main([*args, "--card", str(card_file), "--compare", str(second)]) == 0
    out = capsys.readouterr().out
    assert "Compared in the same run" in out and "slider rho (raw), density" in out
    header = next(line for line in out.splitlines() if line.startswith("figure"))
    assert "`tiny`" in header and f"`{second}`" in header  # both are named tiny: the other by its path
    card = card_file.read_text(encoding="utf-8")
    assert re.search(r"Measured \d{4}-\d\d-\d\d on \d+ cores of .+ by `nudge-train evaluate ", card)
    for section in ("### Realism and novelty", "### Dynamics", "### Slider control", "### Compared with"):
        assert section in card
    assert card.rstrip().endswith("Only for tests.")
    report = (tmp_path / "report" / "README.md").read_text(encoding="utf-8")
    assert "## Compared with other models" in report and f"| `tiny` | `{second}` |" in report
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert list(metrics["compared"]) == [str(second)]
    assert metrics["provenance"]["command"].startswith("nudge-train evaluate ")
    # the card again from the report, after the notes changed
    (tmp_path / "first.card.notes.md").write_text("Changed notes.\n")
    assert cli_main(["card", str(first), "--report", str(tmp_path / "report"), "-o", str(card_file)]) == 0
    assert card_file.read_text(encoding="utf-8") == card.replace("Only for tests.", "Changed notes.")


def test_compare_without_a_model_means_the_shipped_one():
    from companion.core.cli_base import build_parser
    from training.cli import COMMANDS

    argv = ["evaluate", "m.onnx", "--data", "d.npz", "--out", "r", "--compare"]
    args = build_parser("nudge-train", "", COMMANDS, argv).parse_args(argv)
    assert Path(args.compare) == SHIPPED_MODEL and SHIPPED_MODEL.exists()
    assert card_path_for("models/x.onnx") == Path("models/x.card.md")
