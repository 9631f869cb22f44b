"""training.spotify.records: the cache's track files, written atomically and read back with clear errors."""

from __future__ import annotations

import json

import pytest

from tests.support.spotify_analysis import features, make_analysis
from training.spotify.records import list_track_files, read_record, write_record
from training.spotify.validate import AnalysisError


def test_read_record_accepts_cache_records_and_bare_analyses_and_names_the_problem(tmp_path):
    analysis = make_analysis(n_bars=1)
    write_record(tmp_path, "abc123", analysis, features("abc123"), {"style": "house", "name": "A"})
    (tmp_path / "bare-one.json").write_text(json.dumps(analysis))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / ".tmp-partial.json").write_text("{")
    files = list_track_files(tmp_path)
    assert [p.name for p in files] == ["abc123.json", "bare-one.json", "broken.json"]
    cached = read_record(files[0])
    assert (cached.track_id, cached.style, cached.features["energy"]) == ("abc123", "house", 0.7)
    assert read_record(files[1]).track_id == "bare-one" and read_record(files[1]).features is None
    with pytest.raises(AnalysisError, match="not valid JSON"):
        read_record(files[2])
