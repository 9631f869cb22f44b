"""``nudge generate``: .mid files from the command line, variations, nudging a file, and clear errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from companion.cli import main
from companion.core.midi_file import read_drum_take
from companion.core.pattern import Grid
from tests.support.tiny_onnx import write_tiny_model


@pytest.fixture
def model(tmp_path):
    return str(write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 4)))


def notes(path):
    notes = read_drum_take(path).notes
    return list(
        zip(
            notes["pitch"].tolist(),
            np.round(notes["start_beats"], 4).tolist(),
            notes["velocity"].tolist(),
            strict=True,
        )
    )


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
    assert take.bpm == pytest.approx(96, abs=0.01) and len(take.notes)
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


def exit_code(argv) -> int:
    """``main``'s return code, or argparse's exit code for an option it refused."""
    try:
        return main(argv)
    except SystemExit as done:
        return done.code


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--style", "polka"], "unknown style 'polka'"),
        (["--swing", "0.5"], "unknown condition 'swing'"),
        (["--density", "1.5"], "argument --density: must be a number in 0..1, got 1.5"),
        (["--cond", "density"], "NAME=VALUE"),
        (["--bars", "12"], "argument --bars: must be an int in 1..8, got 12"),
        (["--bars", "0"], "argument --bars: must be an int in 1..8, got 0"),
        (["--bars", "-1"], "argument --bars: must be an int in 1..8, got -1"),
        (["--count", "0"], "argument --count: must be an int in 1..1000, got 0"),
        (["--from", "missing.mid"], "--from missing.mid: not a readable MIDI file"),
        (["--keep", "kick"], "--keep needs --from FILE.mid"),
        (["--keep", "kick,gong"], "--keep needs --from FILE.mid"),
    ],
)
def test_errors_are_clear_and_write_nothing(tmp_path, model, capsys, extra, needle):
    out = tmp_path / "out.mid"
    assert exit_code(["generate", "--model", model, *extra, "-o", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_voice_to_keep_is_named(tmp_path, model, capsys):
    source = tmp_path / "clip.mid"
    assert main(["generate", "--model", model, "--seed", "2", "-o", str(source)]) == 0
    out = tmp_path / "out.mid"
    assert (
        main(["generate", "--model", model, "--from", str(source), "--keep", "kick,gong", "-o", str(out)])
        == 2
    )
    assert "--keep: unknown voice 'gong'" in capsys.readouterr().err
    assert not out.exists()


def test_missing_model(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "x.mid")]) == 2
    assert "model file not found" in capsys.readouterr().err


# -- only regular files, read with a cap, written over nothing else (issue 17, findings 9 and 10) --------


def test_an_output_that_is_a_link_a_fifo_or_a_device_is_refused_and_left_alone(tmp_path, model, capsys):
    kept = tmp_path / "kept.mid"
    kept.write_bytes(b"someone else's file")
    link = tmp_path / "link.mid"
    link.symlink_to(kept)
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    targets = [(link, "is a symbolic link"), (fifo, "is a FIFO")]
    if os.geteuid() == 0:  # as root, what -o /dev/full did: a device node beside the test's files
        device = tmp_path / "full"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        targets.append((device, "is a character device"))
    for target, needle in targets:
        before = os.lstat(target)
        assert main(["generate", "--model", model, "--seed", "1", "-o", str(target)]) == 2
        err = capsys.readouterr().err
        assert needle in err and str(target) in err and "only regular files" in err
        after = os.lstat(target)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert kept.read_bytes() == b"someone else's file"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_write_killed_earlier_leaves_no_temp_file_behind_the_next_one(tmp_path, model):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(gone.stdout)  # a process that has ended: its temp file is stale
    stale = tmp_path / f".out.mid.nudge-{dead_pid}-k1ll3d.tmp"
    stale.write_bytes(b"half a file")
    live = tmp_path / f".out.mid.nudge-{os.getpid()}-wr1t1ng.tmp"  # a writer that still runs
    live.write_bytes(b"being written")
    foreign = tmp_path / ".out.mid.abcdef.tmp"  # not of our naming
    foreign.write_bytes(b"not ours")
    assert main(["generate", "--model", model, "--seed", "1", "-o", str(tmp_path / "out.mid")]) == 0
    assert not stale.exists() and live.exists() and foreign.exists()


def test_from_refuses_a_fifo_at_once_and_a_file_over_the_cap(tmp_path, model):
    fifo = tmp_path / "clip.mid"
    os.mkfifo(fifo)
    out = tmp_path / "out.mid"
    command = [sys.executable, "-m", "companion.cli", "generate", "--model", model, "--from", str(fifo)]
    done = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is a FIFO (named pipe), not a regular file" in done.stderr
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + bytes(300 * 1024))
    command[-1] = str(huge)
    done = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "larger than the 262144 allowed" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("numerator", "denominator", "needle"),
    [(7, 8, "time signature 7/8 is not supported"), (3, 4, "does not match the model's")],
)
def test_a_file_in_another_meter_is_the_users_mistake_not_a_bug(
    tmp_path, model, capsys, numerator, denominator, needle
):
    import mido

    track = mido.MidiTrack(
        [
            mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0),
            mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
            mido.Message("note_off", channel=9, note=36, velocity=0, time=480),
        ]
    )
    source = tmp_path / "odd.mid"
    mido.MidiFile(type=0, tracks=[track]).save(source)
    out = tmp_path / "out.mid"
    assert main(["generate", "--model", model, "--from", str(source), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and not out.exists()


def test_a_bug_gives_its_traceback_and_exit_1_never_a_user_error_line(tmp_path, model, capsys, monkeypatch):
    from companion.runtime import engine

    def broken(batch, grid, bars):
        return batch[..., :3] + batch[..., :5]  # numpy's own ValueError, as a real shape bug raises it

    monkeypatch.setattr(engine, "windows_of", broken)
    out = tmp_path / "out.mid"
    assert main(["generate", "--model", model, "--seed", "1", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "operands could not be broadcast" in err
    assert "nudge generate: internal error: this is a bug in Nudge" in err and not out.exists()


# -- the sliders offered are the model's, with what their ends mean (issue 21) ------------------------------


def _help(argv):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0


def test_help_offers_exactly_the_models_conditions_with_their_ends(tmp_path, capsys):
    from tests.support.tiny_onnx import tiny_meta, tiny_model_bytes

    meta = tiny_meta(conditions=("density", "swing"))
    ends = {"density": "0 = sparse; 1 = busy", "swing": "0 = straight; 1 = strong shuffle"}
    conditions = tuple(
        type(c)(c.name, f"what it is. {ends[c.name]}", c.quantiles, c.default, c.unit)
        for c in meta.conditions
    )
    path = tmp_path / "two.onnx"
    path.write_bytes(tiny_model_bytes(type(meta)(**{**meta.__dict__, "conditions": conditions})))
    _help(["generate", "--model", str(path), "--help"])
    text = capsys.readouterr().out
    assert "--density 0..1" in text and "--swing 0..1" in text
    assert "0 = straight; 1 = strong shuffle" in text and "0 = sparse; 1 = busy" in text
    for other in (
        "--density-low",
        "--density-mid",
        "--density-high",
        "--energy",
        "--symmetry",
        "--syncopation",
    ):
        assert other not in text, other
    assert "conditions of the model two.onnx" in text


def test_help_of_another_model_offers_its_own_and_an_unreadable_one_none(tmp_path, model, capsys):
    _help(["generate", f"--model={model}", "--help"])
    text = capsys.readouterr().out
    assert "--density 0..1" in text and "--syncopation 0..1" in text and "--swing" not in text
    _help(["generate", "--model", str(tmp_path / "none.onnx"), "--help"])
    text = capsys.readouterr().out
    assert "none offered" in text and "model file not found" in text and "--density 0..1" not in text


def test_a_slider_the_model_lacks_is_named_in_a_clear_error(tmp_path, model, capsys):
    out = tmp_path / "x.mid"
    assert main(["generate", "--model", model, "--energy", "0.3", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown condition 'energy'" in err and "density" in err and not out.exists()
