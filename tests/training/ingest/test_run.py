"""Corpus ingest: many files in parallel into one dataset, the summary, and the `ingest midi` command."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.midi_files import write_midi
from training.cli import main
from training.dataset import IngestSummary, RhythmDataset
from training.ingest.midi import IngestConfig
from training.ingest.run import ingest_corpus

HEADER = "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split\n"


def groove(bars: int, velocity: int = 100, late: float = 0.0) -> list[tuple[float, int, int]]:
    notes = []
    for bar in range(bars):
        notes += [(bar * 4 + b, 36 if b % 2 == 0 else 38, velocity) for b in range(4)]
        notes += [(bar * 4 + h / 2 + late * (h % 2), 42, 70) for h in range(8)]
    return notes


@pytest.fixture
def gmd_like(tmp_path):
    """A GMD-shaped corpus: info.csv, splits, beats and fills, plus a broken and a 6/8 file."""
    root = tmp_path / "corpus"
    rows = [
        ("d1/s1/1_funk-groove1_100_beat_4-4.mid", "funk/groove1", "beat", "4-4", "train", groove(6)),
        ("d1/s1/2_rock_110_beat_4-4.mid", "rock", "beat", "4-4", "validation", groove(5, 90, 0.05)),
        ("d1/s1/3_rock_110_fill_4-4.mid", "rock", "fill", "4-4", "train", groove(4, 80)),
        ("d2/s1/4_jazz_120_beat_4-4.mid", "jazz", "beat", "4-4", "test", groove(4, 60)),
        ("d2/s1/5_rock_70_beat_6-8.mid", "rock", "beat", "6-8", "train", groove(4)),
    ]
    lines = [HEADER]
    for name, style, beat_type, meter, split, notes in rows:
        numerator, denominator = map(int, meter.split("-"))
        write_midi(root / name, notes, time_signatures=[(0, numerator, denominator)])
        lines.append(f"d,s,i,{style},100,{beat_type},{meter},{name},,10,{split}\n")
    (root / "d2/s1/6_broken_100_beat_4-4.mid").write_bytes(b"MThd\x00\x00\x00\x06 truncated")
    lines.append("d,s,i,funk,100,beat,4-4,d2/s1/6_broken_100_beat_4-4.mid,,10,train\n")
    (root / "info.csv").write_text("".join(lines), encoding="utf-8")
    (root / "LICENSE").write_text(
        "This work is licensed under the Creative Commons Attribution 4.0 International License."
    )
    return root


def test_corpus_keeps_official_split_and_labels(gmd_like):
    dataset, summary = ingest_corpus(gmd_like, IngestConfig(), workers=1, progress=False)
    assert summary.files_found == 6 and summary.files_used == 4
    assert dict(summary.skipped) == {"unreadable": 1, "unsupported_meter": 1}
    assert summary.windows_per_split == {"train": 3 + 1, "validation": 2, "test": 1}
    assert len(dataset) == summary.windows == 7
    for source in set(dataset.source.tolist()):
        assert len(set(dataset.split[dataset.source == source].tolist())) == 1
    test_rows = dataset.of_split("test")
    assert test_rows.style.tolist() == ["jazz"] and test_rows.source.tolist() == [
        "d2/s1/4_jazz_120_beat_4-4.mid"
    ]
    assert sorted(set(dataset.beat_type.tolist())) == ["beat", "fill"]
    assert dataset.meta["licence"] == "CC BY 4.0"
    assert "Groove MIDI Dataset" in dataset.meta["credit"] and "CC BY 4.0" in dataset.meta["credit"]
    assert dataset.meta["ingest"]["skipped"] == {"unreadable": 1, "unsupported_meter": 1}
    velocity = dataset.of_split("test").patterns[0, 1, 0, 0]
    assert velocity == pytest.approx(60 / 127)
    late = dataset.of_split("validation").patterns[0, 2, 2, 2]  # closed hat, off-beat 8th
    assert late == pytest.approx(0.2, abs=1 / 120)


def test_beat_type_filter(gmd_like):
    dataset, summary = ingest_corpus(gmd_like, IngestConfig(beat_type="fill"), workers=1, progress=False)
    assert (
        set(dataset.beat_type.tolist()) == {"fill"} and summary.skipped["beat_type"] == 5
    )  # the broken file is a beat too


def test_two_workers_give_the_same_dataset(gmd_like):
    one, _ = ingest_corpus(gmd_like, IngestConfig(bars=2), workers=1, progress=False)
    two, summary = ingest_corpus(gmd_like, IngestConfig(bars=2), workers=2, progress=False)
    assert np.array_equal(one.patterns, two.patterns) and one.source.tolist() == two.source.tolist()
    assert summary.files_used == 4


def test_folder_labels_without_info_csv(tmp_path):
    write_midi(tmp_path / "train/funk/a.mid", groove(4))
    write_midi(tmp_path / "test/rock/b.mid", groove(4))
    write_midi(tmp_path / "latin/c.mid", groove(4))
    dataset, _ = ingest_corpus(tmp_path, IngestConfig(), workers=1, progress=False)
    assert dict(
        zip(
            dataset.source.tolist(),
            zip(dataset.style.tolist(), dataset.split.tolist(), strict=True),
            strict=True,
        )
    ) == {
        "train/funk/a.mid": ("funk", "train"),
        "test/rock/b.mid": ("rock", "test"),
        "latin/c.mid": ("latin", "train"),
    }


def test_summary_text_names_reasons_and_counts():
    summary = IngestSummary(files_found=3)
    summary.skipped["too_short"] = 2
    summary.examples["too_short"] = ["a.mid: 1.00 bars < 4"]
    summary.dropped_pitches[60] = 5
    text = summary.format()
    assert "skipped     2  too_short" in text and "a.mid: 1.00 bars < 4" in text
    assert "notes dropped for unknown pitches: 5 (60: 5)" in text


def test_command_writes_dataset_and_prints_summary(gmd_like, tmp_path, capsys):
    out = tmp_path / "out" / "data.npz"
    rc = main(
        [
            "ingest",
            "midi",
            str(gmd_like),
            "-o",
            str(out),
            "--bars",
            "2",
            "--hop-bars",
            "2",
            "--no-progress",
            "--workers",
            "1",
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0 and "windows:" in printed and "unreadable" in printed
    dataset = RhythmDataset.load(out)
    assert dataset.grid.bars == 2 and dataset.meta["config"]["hop_bars"] == 2
    assert set(dataset.start_bar.tolist()) <= {0, 2, 4}


def test_command_with_nothing_to_ingest_writes_nothing(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "data.npz"
    assert main(["ingest", "midi", str(tmp_path / "empty"), "-o", str(out), "--no-progress"]) == 1
    assert not out.exists() and "no windows" in capsys.readouterr().err
    assert main(["ingest", "midi", str(tmp_path / "missing"), "-o", str(out), "--no-progress"]) == 2
    assert main(["ingest", "midi", str(tmp_path), "-o", str(out), "--time-signature", "7/8"]) == 2
    assert "7/8 is not supported" in capsys.readouterr().err


def test_command_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "midi", "--help"])
    assert exit_info.value.code == 0
    assert "--hop-bars" in capsys.readouterr().out


def test_a_sub_folder_keeps_the_corpus_splits_credit_and_licence(gmd_like):
    dataset, summary = ingest_corpus(gmd_like / "d2", IngestConfig(), workers=1, progress=False)
    assert summary.windows_per_split == {"train": 0, "validation": 0, "test": 1}  # jazz: a test file
    assert dataset.meta["licence"] == "CC BY 4.0"
    assert "Groove MIDI Dataset" in dataset.meta["credit"]
