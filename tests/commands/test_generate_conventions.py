"""``nudge generate`` as users of familiar tools expect (issue 25): no silent overwrite, no option that
does nothing, errors that name the flag and the file, a note when a file is cut or may not be drums, and
piano rolls."""

from __future__ import annotations

import subprocess
import sys

import pytest

from companion.core.midi_file import read_drum_take
from companion.core.pattern import MAX_CANDIDATES, MIN_CANDIDATES, Grid
from companion.osc.api import OPTION_BY_KEY
from tests.commands.test_generate import exit_code
from tests.support.midi_files import write_midi
from tests.support.tiny_onnx import write_tiny_model


@pytest.fixture
def model(tmp_path):
    return str(write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 4)))


def generate(model, *args):
    return exit_code(["generate", "--model", model, "--seed", "1", *args])


def test_o_does_not_replace_a_file_that_is_not_midi_without_force(tmp_path, model, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("call the drummer")
    assert generate(model, "-o", str(notes)) == 2
    err = capsys.readouterr().err
    assert "notes.txt: exists and is not a Standard MIDI File" in err and "--force" in err
    assert notes.read_text() == "call the drummer"
    assert generate(model, "-o", str(notes), "--force") == 0
    assert len(read_drum_take(notes).notes) > 0
    assert generate(model, "-o", str(notes)) == 0, "a MIDI file is replaced as before"


def test_a_shorter_count_says_which_files_of_an_earlier_run_stay(tmp_path, model, capsys):
    out = str(tmp_path / "v.mid")
    assert generate(model, "--count", "8", "-o", out) == 0
    capsys.readouterr()
    assert generate(model, "--count", "2", "-o", out) == 0
    err = capsys.readouterr().err
    assert "note: v_3.mid .. v_8.mid" in err and "from an earlier run" in err
    assert sorted(p.name for p in tmp_path.glob("v_*.mid")) == [f"v_{i}.mid" for i in range(1, 9)]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--amount", "0.5"], "--amount needs --from FILE.mid"),
        (["--seed", "-5"], "argument --seed: must be an int in 0..2147483647, got -5"),
        (["--candidates", "0"], f"argument --candidates: must be an int in 1..{MAX_CANDIDATES}, got 0"),
        (["--candidates", "1025"], "argument --candidates: must be an int in 1..1024, got 1025"),
        (["--tempo", "0"], "argument --tempo: must be a number in 20..999 bpm, got 0"),
    ],
)
def test_options_that_would_do_nothing_or_are_out_of_range_name_the_flag(
    tmp_path, model, capsys, args, needle
):
    out = tmp_path / "out.mid"
    assert exit_code(["generate", "--model", model, *args, "-o", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_one_candidates_range_for_the_cli_and_osc(tmp_path, model):
    option = OPTION_BY_KEY["candidates"]
    assert (option.low, option.high) == (MIN_CANDIDATES, MAX_CANDIDATES) == (1, 1024)
    assert generate(model, "--candidates", "1", "-o", str(tmp_path / "a.mid")) == 0
    assert generate(model, "--candidates", "1024", "--bars", "1", "-o", str(tmp_path / "b.mid")) == 0


def test_a_type_error_prints_one_usage_line_and_the_error(model, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "companion.cli", "generate", "--model", model, "--bars", "x", "-o", "o.mid"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 2, done.stderr
    assert lines[0].startswith("usage: nudge generate ") and "--help" in lines[0]
    assert lines[1] == "nudge generate: error: argument --bars: must be an int in 1..8, got 'x'"


def test_a_long_file_says_which_bars_were_used(tmp_path, model, capsys):
    long = write_midi(tmp_path / "long.mid", [(beat, 36, 100) for beat in range(105 * 4)])
    assert generate(model, "--from", str(long), "-o", str(tmp_path / "out.mid")) == 0
    err = capsys.readouterr().err
    assert f"note: {long} has 105 bars; using bars 1-8" in err
    assert read_drum_take(tmp_path / "out.mid").length_beats == 32
    assert generate(model, "--from", str(long), "--bars", "2", "-o", str(tmp_path / "two.mid")) == 0
    assert "has 105 bars; using bars 1-2 (--bars 2" in capsys.readouterr().err


def test_a_piano_part_is_read_with_a_warning(tmp_path, model, capsys):
    piano = write_midi(tmp_path / "piano.mid", [(b / 2, 60 + b % 12, 90) for b in range(32)], channel=1)
    assert generate(model, "--from", str(piano), "-o", str(tmp_path / "out.mid")) == 0
    err = capsys.readouterr().err
    assert "none of its 32 notes is on MIDI channel 10 (drums)" in err
    assert "none of its notes in bars 1-4 is on a pitch of the drum map" in err and "the clip is empty" in err
    mixed = [(b / 2, 36 if b % 8 == 0 else 72, 90) for b in range(32)]  # a kick under a melody
    write_midi(tmp_path / "mixed.mid", mixed, channel=1)
    assert generate(model, "--from", str(tmp_path / "mixed.mid"), "-o", str(tmp_path / "out.mid")) == 0
    assert "28 of its notes in bars 1-4 are on pitches outside the drum map" in capsys.readouterr().err
    drums = write_midi(tmp_path / "drums.mid", [(b, 36, 90) for b in range(16)])
    assert generate(model, "--from", str(drums), "-o", str(tmp_path / "fine.mid")) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_from_file_with_an_absurd_tempo_is_named(tmp_path, model, capsys):
    fast = write_midi(tmp_path / "fast.mid", [(b, 36, 90) for b in range(16)], bpm=60_000_000)  # 1 us
    assert generate(model, "--from", str(fast), "-o", str(tmp_path / "out.mid")) == 2
    err = capsys.readouterr().err
    assert f"--from {fast}: its tempo is 6e+07 bpm, outside 20..999" in err and "--tempo" in err
    assert generate(model, "--from", str(fast), "--tempo", "100", "-o", str(tmp_path / "out.mid")) == 0


def test_png_draws_a_piano_roll_beside_each_file(tmp_path, model, capsys):
    pytest.importorskip("matplotlib", reason="--png needs matplotlib (the [train] and [png] extras)")
    assert generate(model, "--count", "2", "--png", "-o", str(tmp_path / "take.mid")) == 0
    for i in (1, 2):
        data = (tmp_path / f"take_{i}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    assert "(+ take_1.png)" in capsys.readouterr().out


def test_png_without_matplotlib_says_how_to_get_it(tmp_path, model, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert generate(model, "--png", "-o", str(tmp_path / "take.mid")) == 2
    err = capsys.readouterr().err
    assert "piano rolls need matplotlib" in err and "pip install matplotlib" in err
    assert not (tmp_path / "take.mid").exists()
