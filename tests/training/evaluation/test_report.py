"""The report: stdout table, Markdown page, strict JSON and real PNG plots."""

from __future__ import annotations

import json

import pytest

from companion.core.pattern import Grid
from tests.support.synthetic_dataset import synthetic_dataset
from tests.support.tiny_onnx import write_tiny_model
from training.evaluation.diversity import DiversityConfig
from training.evaluation.evaluate import EvalConfig, evaluate
from training.evaluation.report import (
    COLUMNS,
    format_stdout,
    markdown_table,
    set_table_rows,
    text_table,
    write_report,
)

GRID = Grid(4, 4, 4)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    write_tiny_model(path, grid=GRID, conditions=("density", "syncopation"), styles=("funk", "rock"))
    small = DiversityConfig(settings=4, samples=3, reference_anchors=30, search=False)
    config = EvalConfig(seed=0, sweep_levels=4, sweep_samples=3, search=False, diversity=small, repeats=3)
    return evaluate(path, synthetic_dataset(GRID), config)


def test_text_table_aligns_columns():
    text = text_table([["set", "x"], ["model", "0.5"], ["bernoulli", "12.25"]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].startswith("---------")


def test_markdown_table_has_a_separator_and_no_stray_pipes():
    table = markdown_table([["a", "b"], ["1", "2"]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_set_rows_show_every_column_and_dashes_for_the_reference(evaluation):
    rows = set_table_rows(evaluation)
    assert rows[0] == ["set", "n", *(c[0] for c in COLUMNS)]
    reference = rows[1]
    assert reference[0] == "reference" and reference[2] == "-" and reference[3] == "-"
    model = next(r for r in rows if r[0] == "model")
    mean, sd = model[2].split("±")
    assert float(mean) == pytest.approx(evaluation.row("model").one_nn, abs=5e-4)
    assert float(sd) == pytest.approx(evaluation.row("model").sd["one_nn"], abs=5e-4)


def test_stdout_has_both_tables_and_the_runtime(evaluation):
    text = format_stdout(evaluation)
    assert "1-NN acc" in text and "max leak" in text and "evaluation took" in text
    assert "vel ov kick" in text and ">=120 %" in text
    assert "with search: skipped (--no-search)" in text


def test_write_report_writes_page_json_and_pngs(evaluation, tmp_path):
    written = write_report(evaluation, tmp_path / "out")
    names = sorted(p.name for p in written)
    pngs = ("piano_rolls.png", "descriptors.png", "dynamics.png", "diversity.png", "control.png")
    assert names == sorted(["README.md", "metrics.json", *pngs])
    for png in pngs:
        data = (tmp_path / "out" / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    page = (tmp_path / "out" / "README.md").read_text()
    for png in pngs:
        assert f"]({png})" in page
    assert "| model |" in page and "| density | raw |" in page
    assert "## Dynamics" in page and "| train |" in page and "accent r snare" in page
    assert "## Takes at one setting" in page and "| raw |" in page and "near-dup %" in page
    figures = json.loads((tmp_path / "out" / "metrics.json").read_text(), parse_constant=_reject)
    assert figures["sets"][0]["one_nn"] is None  # NaN becomes null: strict JSON
    assert [s["name"] for s in figures["sets"]][2] == "model"
    assert [d["name"] for d in figures["dynamics"]] == ["reference", "train", "real", "model"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def _reject(token: str):
    raise AssertionError(f"metrics.json holds {token}, which is not JSON")
