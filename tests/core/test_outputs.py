"""The -o rules every command shares (companion.core.outputs) and the argparse range types
(companion.core.cli_args): what may be replaced, what --count leaves behind, errors that name the flag."""

from __future__ import annotations

import argparse
import os

import pytest

from companion.core.atomic import atomic_write_bytes
from companion.core.cli_args import int_in, number_in, seed
from companion.core.outputs import MIDI, PNG, OutputError, add_output_arguments, plan_outputs


def test_nothing_or_a_file_of_the_kind_is_replaced_anything_else_needs_force(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(OutputError, match=r"notes\.txt: exists and is not a Standard MIDI File.*--force"):
        plan_outputs(notes, MIDI)
    assert plan_outputs(notes, MIDI, force=True).paths == [notes]
    midi = tmp_path / "old.mid"
    midi.write_bytes(b"MThd\x00\x00\x00\x06")
    assert plan_outputs(midi, MIDI).paths == [midi]
    assert plan_outputs(tmp_path / "new.mid", MIDI).paths == [tmp_path / "new.mid"]


def test_the_files_beside_are_checked_too(tmp_path):
    (tmp_path / "take.png").write_text("not a picture")
    with pytest.raises(OutputError, match=r"take\.png: exists and is not a PNG image"):
        plan_outputs(tmp_path / "take.mid", MIDI, beside=(PNG,))
    (tmp_path / "take.png").write_bytes(b"\x89PNG\r\n\x1a\n....")
    assert plan_outputs(tmp_path / "take.mid", MIDI, beside=(PNG,)).paths == [tmp_path / "take.mid"]


def test_force_never_replaces_a_link_or_a_folder(tmp_path):
    (tmp_path / "dir.mid").mkdir()
    (tmp_path / "link.mid").symlink_to(tmp_path / "elsewhere.mid")
    for name, words in (("dir.mid", "is a folder"), ("link.mid", "is a symbolic link")):
        with pytest.raises(OutputError, match=words):
            plan_outputs(tmp_path / name, MIDI, force=True)


def test_a_shorter_count_names_the_files_an_earlier_run_left(tmp_path):
    for i in range(1, 9):
        (tmp_path / f"v_{i}.mid").write_bytes(b"MThd")
    plan = plan_outputs(tmp_path / "v.mid", MIDI, count=2)
    assert [p.name for p in plan.paths] == ["v_1.mid", "v_2.mid"]
    assert len(plan.notes) == 1
    assert "v_3.mid .. v_8.mid" in plan.notes[0] and "from an earlier run" in plan.notes[0]
    assert all((tmp_path / f"v_{i}.mid").exists() for i in range(1, 9)), "nothing is removed"
    assert "v_1.mid .. v_8.mid" in plan_outputs(tmp_path / "v.mid", MIDI).notes[0]
    assert plan_outputs(tmp_path / "v.mid", MIDI, count=8).notes == []


def test_output_arguments_are_the_same_for_every_command():
    parser = argparse.ArgumentParser()
    add_output_arguments(parser, "the file", count=True)
    args = parser.parse_args(["-o", "x.mid", "--force", "--count", "3"])
    assert (str(args.output), args.force, args.count) == ("x.mid", True, 3)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (seed(), "-5", "must be an int in 0..2147483647, got -5"),
        (seed(), "1.5", "must be an int in 0..2147483647, got '1.5'"),
        (int_in(1, 1024), "0", "must be an int in 1..1024, got 0"),
        (number_in(20.0, 999.0, "bpm"), "0", "must be a number in 20..999 bpm, got 0"),
        (number_in(0.0, 1.0), "nan", "must be a number in 0..1, got nan"),
        (number_in(0.0, 1.0), "x", "must be a number in 0..1, got 'x'"),
    ],
)
def test_range_types_say_the_range(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        kind(text)
    assert str(error.value) == message
    assert int_in(1, 8)("4.0") == 4


def test_a_write_that_fails_names_the_file_asked_for_never_the_temp_file(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where a folder should be")
    with pytest.raises(OSError) as error:
        atomic_write_bytes(blocked / "out.mid", b"MThd")
    message = str(error.value)
    assert str(blocked / "out.mid") in message and ".tmp" not in message and "nudge-" not in message
    if os.path.isdir("/proc") and os.geteuid() == 0:  # what the issue met: a folder no file can be made in
        with pytest.raises(OSError) as error:
            atomic_write_bytes("/proc/e.mid", b"MThd")
        assert str(error.value).startswith("/proc/e.mid: cannot write it") and ".tmp" not in str(error.value)
