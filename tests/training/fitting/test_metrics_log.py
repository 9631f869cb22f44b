"""training.fitting.metrics_log: strict JSON lines, and a resumed run's log without duplicate or torn rows."""

from __future__ import annotations

import json
import math

from training.fitting.metrics_log import append_row, read_rows, trim_rows


def test_rows_are_strict_json_lines_with_nan_and_inf_as_null(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_row(path, {"step": 10, "loss_d": 0.5})
    append_row(path, {"step": 20, "val_fd": math.nan, "score": math.inf})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"step": 10, "loss_d": 0.5},
        {"step": 20, "val_fd": None, "score": None},
    ]
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()


def test_trim_keeps_the_rows_up_to_the_checkpoint_and_drops_a_torn_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for step in (10, 20, 30):
        append_row(path, {"step": step})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"step": 40, "loss')  # the run died mid-write
    trim_rows(path, 20)
    assert read_rows(path) == [{"step": 10}, {"step": 20}]
    append_row(path, {"step": 30})  # the resumed run goes on: each step once
    assert [r["step"] for r in read_rows(path)] == [10, 20, 30]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]  # no temp file left


def test_trim_without_a_file_writes_none(tmp_path):
    trim_rows(tmp_path / "metrics.jsonl", 5)
    assert not (tmp_path / "metrics.jsonl").exists()
    assert read_rows(tmp_path / "metrics.jsonl") == []
