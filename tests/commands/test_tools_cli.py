"""``nudge groove``, ``drumify``, ``continue``, ``interpolate``, ``fill``: the forms outside scripts call,
``nudge generate``'s file conventions, and one clear line with exit code 2 for bad input, nothing written."""

from __future__ import annotations

import mido
import pytest

from companion.cli import main
from companion.core.midi_clip import read_midi_clip
from companion.core.pattern import Grid
from tests.support.midi_files import write_midi
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

BEAT = [
    (b + s, p, v) for b in (0.0, 4.0) for s, p, v in ((0, 36, 100), (1, 38, 90), (2.5, 36, 80), (3, 38, 95))
]
HATS = [(x / 2, 42, 60) for x in range(16)]


@pytest.fixture
def model(tmp_path):
    path = write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 4))
    write_tiny_tools(path)
    return str(path)


@pytest.fixture
def clip(tmp_path):
    return str(write_midi(tmp_path / "in.mid", BEAT + HATS, bpm=93.0, end_beats=8.0))


def run(model, *args):
    return main([*args, "--model", model])


def check_format(path, bars):
    midi = mido.MidiFile(path)
    assert midi.type == 0 and midi.ticks_per_beat == 480
    notes = [m for m in midi.tracks[0] if m.type == "note_on"]
    assert notes and {m.channel for m in notes} == {9}  # GM drums on channel 10
    assert round(mido.tempo2bpm(next(m.tempo for m in midi.tracks[0] if m.type == "set_tempo"))) == 93
    assert read_midi_clip(path).bars == bars


def test_the_five_commands_write_files_like_generate(model, clip, tmp_path, capsys):
    out = lambda name: str(tmp_path / name)  # noqa: E731
    assert run(model, "groove", "--from", clip, "--amount", "0.7", "--seed", "1", "-o", out("g.mid")) == 0
    check_format(out("g.mid"), 2)
    assert len(read_midi_clip(out("g.mid")).notes) == len(BEAT + HATS)
    assert (
        run(model, "drumify", "--from", clip, "--style", "funk", "--density", "0.6", "-o", out("d.mid")) == 0
    )
    check_format(out("d.mid"), 2)
    assert run(model, "continue", "--from", clip, "--bars", "2", "--seed", "1", "-o", out("c.mid")) == 0
    check_format(out("c.mid"), 4)
    assert run(model, "fill", "--from", clip, "--seed", "1", "-o", out("f.mid")) == 0
    check_format(out("f.mid"), 2)
    assert (
        run(model, "interpolate", "--from", clip, "--to", out("c.mid"), "--count", "3", "-o", out("i.mid"))
        == 2
    )
    assert "A and B must have the same length" in capsys.readouterr().err
    assert (
        run(model, "interpolate", "--from", clip, "--to", out("f.mid"), "--count", "4", "-o", out("i.mid"))
        == 0
    )
    for i in range(1, 5):
        check_format(out(f"i_{i}.mid"), 2)
    first = read_midi_clip(out("i_1.mid")).notes
    assert sorted(first["pitch"].tolist()) == sorted(p for _, p, _ in BEAT + HATS)  # the A end first
    assert "i_4.mid: 2 bars" in capsys.readouterr().out


def test_same_seed_same_file(model, clip, tmp_path):
    for name in ("a.mid", "b.mid"):
        assert (
            run(model, "continue", "--from", clip, "--bars", "1", "--seed", "9", "-o", str(tmp_path / name))
            == 0
        )
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()


@pytest.mark.parametrize(
    ("notes", "end", "args", "message"),
    [
        ([], 8.0, ("groove",), "has no notes"),
        (BEAT, 40.0, ("groove",), "10 bars long; the tools take at most 8"),
        ([(0.0, 36, 100)], 1.0, ("fill",), "shorter than one bar"),
        (BEAT, 8.0, ("continue", "--bars", "7"), "--bars must be 1..6 for a file of 2 bars"),
    ],
)
def test_bad_input_gets_one_line_and_writes_nothing(model, tmp_path, capsys, notes, end, args, message):
    source = write_midi(tmp_path / "bad.mid", notes, end_beats=end)
    args = tuple(str(source) if a == "same" else a for a in args)
    target = tmp_path / "out.mid"
    assert run(model, *args, "--from", str(source), "-o", str(target)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert err.startswith(f"nudge {args[0]}: ")
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("interpolate", "--count", "2", "--to", "x.mid"),
            "argument --count: must be an int in 3..16, got 2",
        ),
        (("groove", "--amount", "1.5"), "argument --amount: must be a number in 0..1, got 1.5"),
        (("continue", "--bars", "8"), "argument --bars: must be an int in 1..7, got 8"),
    ],
)
def test_out_of_range_flags_are_refused_while_parsing(model, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        run(model, *args, "--from", "in.mid", "-o", str(tmp_path / "o.mid"))
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.glob("o*.mid"))


def test_an_existing_file_of_another_kind_needs_force(model, clip, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert run(model, "fill", "--from", clip, "-o", str(notes)) == 2
    assert "not a Standard MIDI File" in capsys.readouterr().err and notes.read_text() == "my notes"
    assert run(model, "fill", "--from", clip, "-o", str(notes), "--force") == 0


def test_a_missing_input_file_is_one_line(model, tmp_path, capsys):
    assert run(model, "fill", "--from", str(tmp_path / "none.mid"), "-o", str(tmp_path / "o.mid")) == 2
    assert "not a readable MIDI file" in capsys.readouterr().err
