"""``nudge-train fit`` as trainers expect it (issue 25): no silent overwrite of a run, a dated folder by
default, a progress bar with the validation figures, a line per new best, an end summary with the export
command, TensorBoard event files, a curves PNG in every run folder, and help for every option."""

from __future__ import annotations

import re
import sys

import pytest

from tests.support.rhythm_data import write_rhythm_dataset
from training.cli import main as cli_main
from training.fitting.metrics_log import read_rows
from training.fitting.run_folder import dated_folder

TINY = ["--batch-size", "8", "--g-hidden", "32", "--d-hidden", "32", "--latent-dim", "8", "--val-rows", "16"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_rhythm_dataset(tmp_path_factory.mktemp("data") / "tiny.npz", n_train=48, n_val=16, n_test=16)


def fit(dataset, *args: str) -> int:
    try:
        return cli_main(["fit", "--data", str(dataset), *TINY, *args])
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (print(done.code, file=sys.stderr) or 2)


def test_an_existing_run_is_refused_without_resume_or_overwrite(dataset, tmp_path, capsys):
    out = tmp_path / "copy"
    assert fit(dataset, "--out", str(out), "--steps", "4", "--no-progress") == 0
    before = {name: (out / name).read_bytes() for name in ("best.pt", "last.pt", "metrics.jsonl")}
    capsys.readouterr()
    assert fit(dataset, "--out", str(out), "--steps", "5", "--no-progress") != 0
    err = capsys.readouterr().err
    assert f"--out {out} holds a run already" in err and "--resume" in err and "--overwrite" in err
    assert {name: (out / name).read_bytes() for name in before} == before, "nothing was touched"
    assert fit(dataset, "--out", str(out), "--steps", "2", "--no-progress", "--overwrite") == 0
    assert "removed the earlier run's" in capsys.readouterr().out
    assert [r["step"] for r in read_rows(out / "metrics.jsonl")][-1] == 2, "a fresh run, not appended"
    assert fit(dataset, "--out", str(out), "--resume", "--overwrite") != 0
    assert "choose one" in capsys.readouterr().err


def test_without_out_a_new_dated_folder_is_made_and_named(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert fit(dataset, "--steps", "2", "--no-progress") == 0
    out = capsys.readouterr().out
    folder = re.search(r"run folder: (runs/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\S*)", out).group(1)
    assert (tmp_path / folder / "last.pt").exists()
    assert not (tmp_path / "runs" / "default").exists()
    assert dated_folder(tmp_path / "runs") != tmp_path / folder  # a second run gets another name


def test_progress_best_lines_summary_curves_and_tensorboard(dataset, tmp_path, capsys):
    out = tmp_path / "watched"
    assert fit(dataset, "--out", str(out), "--steps", "12", "--checkpoint-every", "6", "--progress") == 0
    captured = capsys.readouterr()
    bar = captured.err  # tqdm writes to stderr
    assert re.search(r"val_fd=\d+\.\d{3}", bar) and re.search(r"score=\d+\.\d{3}", bar), bar[-500:]
    best_lines = re.findall(r"step (\d+): new best score (\d+\.\d+) \(Fréchet", captured.out + bar)
    assert best_lines, captured.out
    rows = read_rows(out / "metrics.jsonl")
    best = min((r for r in rows if "score" in r), key=lambda r: r["score"])
    assert (str(best["step"]), f"{best['score']:.3f}") == best_lines[-1]
    text = captured.out
    assert re.search(r"trained 12 steps in \d+ min \d+ s", text)
    assert f"best: step {best['step']}, score {best['score']:.3f}" in text
    assert f"export it: nudge-train export {out / 'best.pt'} -o models/watched.onnx" in text
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    pytest.importorskip("tensorboard", reason="TensorBoard logs need tensorboard (the [train] extra)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"loss/critic", "loss/generator", "validation/score", "validation/frechet"} <= set(tags)
    assert [e.step for e in events.Scalars("validation/score")] == [r["step"] for r in rows if "score" in r]


def test_curves_png_is_written_without_tensorboard(dataset, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were missing
    out = tmp_path / "plain"
    assert fit(dataset, "--out", str(out), "--steps", "4", "--no-progress") == 0
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert not list(out.glob("events.out.tfevents.*"))
    assert "tensorboard is not installed" in caplog.text


def test_every_fit_option_is_described_once(capsys):
    with pytest.raises(SystemExit):
        cli_main(["fit", "--help"])
    text = capsys.readouterr().out
    options = text[text.index("options:") :]
    entries = re.split(r"\n  (?=-)", options)[1:]
    assert len(entries) > 30
    for entry in entries:
        flag, _, described = entry.partition("  ")
        if " " not in flag.strip() and "\n" in entry and not described.strip():  # help on the next line
            described = entry.split("\n", 1)[1]
        assert described.strip(), f"{flag.strip()} has no description"
        assert entry.count("(default") <= 1, entry
        assert "(default: None)" not in entry, entry
