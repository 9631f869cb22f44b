"""``nudge generate``: .mid files from the command line, variations, nudging a file, and clear errors."""

from __future__ import annotations

import pytest

from companion.cli import main
from companion.core.midi_file import read_drum_take
from companion.core.pattern import Grid
from tests.support.tiny_onnx import write_tiny_model


@pytest.fixture
def model(tmp_path):
    return str(write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 4)))


def notes(path):
    return [(n.pitch, round(n.start_beats, 4), n.velocity) for n in read_drum_take(path).notes]


def test_generate_writes_a_midi_file_deterministically(tmp_path, model, capsys):
    args = [
        "generate",
        "--model",
        model,
        "--bars",
        "4",
        "--style",
        "funk",
        "--density",
        "0.7",
        "--syncopation",
        "0.4",
        "--seed",
        "1",
        "--tempo",
        "96",
    ]
    assert main([*args, "-o", str(tmp_path / "a.mid")]) == 0
    assert main([*args, "-o", str(tmp_path / "b.mid")]) == 0
    take = read_drum_take(tmp_path / "a.mid")
    assert take.bpm == pytest.approx(96, abs=0.01) and take.notes
    assert notes(tmp_path / "a.mid") == notes(tmp_path / "b.mid")
    assert "a.mid: 4 bars" in capsys.readouterr().out


def test_count_writes_numbered_variations(tmp_path, model):
    assert (
        main(["generate", "--model", model, "--count", "3", "--seed", "5", "-o", str(tmp_path / "v.mid")])
        == 0
    )
    files = sorted(p.name for p in tmp_path.glob("v_*.mid"))
    assert files == ["v_1.mid", "v_2.mid", "v_3.mid"]
    assert notes(tmp_path / "v_1.mid") != notes(tmp_path / "v_2.mid")


def test_from_file_amount_zero_keeps_it_and_small_amount_nudges(tmp_path, model):
    source = tmp_path / "clip.mid"
    assert main(["generate", "--model", model, "--seed", "2", "--density", "0.3", "-o", str(source)]) == 0
    assert (
        main(
            [
                "generate",
                "--model",
                model,
                "--from",
                str(source),
                "--amount",
                "0",
                "-o",
                str(tmp_path / "same.mid"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "generate",
                "--model",
                model,
                "--from",
                str(source),
                "--amount",
                "0.2",
                "--seed",
                "3",
                "-o",
                str(tmp_path / "nudged.mid"),
            ]
        )
        == 0
    )
    original = notes(tmp_path / "same.mid")
    nudged = notes(tmp_path / "nudged.mid")
    assert read_drum_take(tmp_path / "nudged.mid").bpm == pytest.approx(read_drum_take(source).bpm)
    assert original != nudged
    shared = {(p, s) for p, s, _ in original} & {(p, s) for p, s, _ in nudged}
    assert len(shared) >= 0.6 * len(original)


def test_keep_from_file_keeps_those_voices_and_generates_the_rest(tmp_path, model):
    source = tmp_path / "clip.mid"
    assert main(["generate", "--model", model, "--seed", "2", "--density", "0.6", "-o", str(source)]) == 0
    out = tmp_path / "locked.mid"
    args = ["generate", "--model", model, "--from", str(source), "--keep", "kick,snare", "--seed", "9"]
    assert main([*args, "--count", "2", "-o", str(out)]) == 0
    assert main([*args, "--amount", "0", "-o", str(tmp_path / "read.mid")]) == 0  # the file as read
    original = notes(tmp_path / "read.mid")
    for path in (tmp_path / "locked_1.mid", tmp_path / "locked_2.mid"):
        locked = notes(path)
        assert [n for n in locked if n[0] in (36, 38)] == [n for n in original if n[0] in (36, 38)]
        assert [n for n in locked if n[0] not in (36, 38)] != [n for n in original if n[0] not in (36, 38)]
    assert notes(tmp_path / "locked_1.mid") != notes(tmp_path / "locked_2.mid")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--style", "polka"], "unknown style 'polka'"),
        (["--swing", "0.5"], "unknown condition 'swing'"),
        (["--density", "1.5"], "must be a number in 0..1"),
        (["--cond", "density"], "NAME=VALUE"),
        (["--bars", "12"], "bars must be an int in 1..8"),
        (["--count", "0"], "--count must be in 1..1000"),
        (["--from", "missing.mid"], "not a readable MIDI file"),
        (["--keep", "kick"], "--keep needs --from FILE.mid"),
        (["--keep", "kick,gong"], "--keep: unknown voice 'gong'"),
    ],
)
def test_errors_are_clear_and_write_nothing(tmp_path, model, capsys, extra, needle):
    out = tmp_path / "out.mid"
    assert main(["generate", "--model", model, *extra, "-o", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_missing_model(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "x.mid")]) == 2
    assert "model file not found" in capsys.readouterr().err
