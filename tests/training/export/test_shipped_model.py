"""The shipped model (issue 21): its sliders say what their ends mean, swing 0 is straight, and its report
measures the takes at one setting and vary on made clips."""

from __future__ import annotations

import json
from pathlib import Path

from companion.runtime.model import load_model

ROOT = Path(__file__).resolve().parents[3]


def test_every_slider_of_the_shipped_model_says_what_its_ends_mean():
    meta = load_model(ROOT / "models" / "default.onnx").meta
    for condition in meta.conditions:
        assert "0 = " in condition.description and "; 1 = " in condition.description, condition.name
    swing = next(c for c in meta.conditions if c.name == "swing")
    assert swing.quantiles[0] == 0.0 and "0 = straight" in swing.description  # slider 0: no swing at all


def test_the_shipped_report_has_the_takes_at_one_setting_and_vary_on_made_clips():
    metrics = json.loads((ROOT / "models" / "report" / "metrics.json").read_text(encoding="utf-8"))
    paths = {row["path"] for row in metrics["diversity"]["rows"]}
    assert paths == {"real", "raw", "search"}
    assert set(metrics["vary"]["median"]) == {"real", "made"}
    assert (ROOT / "models" / "report" / "diversity.png").is_file()
