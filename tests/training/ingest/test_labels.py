"""Labels of corpus files: the GMD's info.csv first, folder and file names otherwise."""

from __future__ import annotations

import pytest

from training.ingest.labels import FileLabels, find_info_csv, labels_from_path, read_info_csv
from training.ingest.midi import IngestConfig, file_jobs, ingest_file

INFO = """drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split
drummer1,drummer1/eval_session,drummer1/eval_session/1,funk/groove1,138,beat,4-4,drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid,x.wav,27.8,test
drummer2,drummer2/session1,drummer2/session1/5,rock,90,fill,3-4,drummer2/session1/5_rock_90_fill_3-4.mid,,2.1,validation
drummer3,drummer3/session1,drummer3/session1/7,jazz-swing,,odd,,drummer3/session1/7.mid,,1,train
"""


def test_info_csv_gives_top_level_style_split_beat_type_bpm_meter(tmp_path):
    (tmp_path / "info.csv").write_text(INFO, encoding="utf-8")
    table = read_info_csv(tmp_path)
    assert table["drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid"] == FileLabels(
        style="funk", split="test", beat_type="beat", bpm=138.0, time_signature=(4, 4)
    )
    fill = table["drummer2/session1/5_rock_90_fill_3-4.mid"]
    assert (fill.style, fill.split, fill.beat_type, fill.time_signature) == (
        "rock",
        "validation",
        "fill",
        (3, 4),
    )
    odd = table["drummer3/session1/7.mid"]
    assert (odd.style, odd.beat_type, odd.bpm, odd.time_signature) == ("jazz-swing", "", None, None)


def test_no_info_csv_is_an_empty_table(tmp_path):
    assert read_info_csv(tmp_path) == {}


def test_labels_from_folders():
    assert labels_from_path("funk/groove.mid") == FileLabels(style="funk", split="train", beat_type="")
    assert labels_from_path("test/latin/a.mid") == FileLabels(style="latin", split="test")
    assert labels_from_path("Validation/rock/fills/a.mid") == FileLabels(
        style="rock", split="validation", beat_type="fill"
    )
    assert labels_from_path("a.mid") == FileLabels()


def test_beat_type_from_gmd_style_file_names():
    assert labels_from_path("rock/3_rock_120_beat_4-4.mid").beat_type == "beat"
    assert labels_from_path("rock/4_rock_120_fill_4-4.mid").beat_type == "fill"
    assert labels_from_path("rock/beat-and-fill.mid").beat_type == ""  # ambiguous: unknown
    assert labels_from_path("rock/beatles.mid").beat_type == ""  # a token, not a substring


def test_a_subfolder_is_labelled_by_the_info_csv_above_it(tmp_path):
    (tmp_path / "info.csv").write_text(INFO, encoding="utf-8")
    drummer1 = tmp_path / "drummer1"
    drummer1.mkdir()
    assert find_info_csv(drummer1) == (tmp_path.resolve() / "info.csv", "drummer1")
    table = read_info_csv(drummer1)
    assert list(table) == ["eval_session/1_funk-groove1_138_beat_4-4.mid"]  # relative to drummer1
    assert table["eval_session/1_funk-groove1_138_beat_4-4.mid"].split == "test"  # not "train"


def test_an_unknown_split_value_is_refused_naming_the_line(tmp_path):
    (tmp_path / "info.csv").write_text(INFO.replace(",validation\n", ",holdout\n"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"info.csv: line 3: split 'holdout' is not one of"):
        read_info_csv(tmp_path)


def test_files_an_info_csv_does_not_list_are_skipped_not_called_train(tmp_path):
    (tmp_path / "info.csv").write_text(INFO, encoding="utf-8")
    session = tmp_path / "drummer1" / "eval_session"
    session.mkdir(parents=True)
    (session / "1_funk-groove1_138_beat_4-4.mid").write_bytes(b"listed")
    (session / "2_stray.mid").write_bytes(b"unlisted")
    jobs = {rel: labels for _, rel, labels in file_jobs(tmp_path / "drummer1")}
    assert jobs["eval_session/1_funk-groove1_138_beat_4-4.mid"].split == "test"
    assert jobs["eval_session/2_stray.mid"] is None
    stray = ingest_file(session / "2_stray.mid", "eval_session/2_stray.mid", None, IngestConfig())
    assert stray.skipped == "unlisted" and stray.n_windows == 0


def test_an_unrelated_info_csv_above_changes_nothing_and_dotted_folders_keep_their_names(tmp_path):
    (tmp_path / "info.csv").write_text("id,notes\n1,a project file, not a corpus table\n", encoding="utf-8")
    corpus = tmp_path / "data" / "mymidi"
    (corpus / "rock").mkdir(parents=True)
    (corpus / "rock" / "x.mid").write_bytes(b"x")
    assert find_info_csv(corpus) is None
    assert [labels for _, _, labels in file_jobs(corpus)] == [FileLabels(style="rock")]
    # a GMD table above that lists nothing under this folder does not claim it either
    (tmp_path / "data" / "info.csv").write_text(INFO, encoding="utf-8")
    assert find_info_csv(corpus) is None
    hidden = tmp_path / ".hidden"
    hidden.mkdir()
    (tmp_path / "info.csv").write_text(INFO.replace("drummer1/eval_session/", ".hidden/"), encoding="utf-8")
    assert find_info_csv(hidden) == (tmp_path.resolve() / "info.csv", ".hidden")
