import json

import numpy as np
import pytest
import torch

from tests.support.rhythm_data import TINY_ARCH, make_rhythm_dataset, write_rhythm_dataset
from training.cli import main as cli_main
from training.fitting.checkpoint import load_checkpoint
from training.fitting.config import TrainConfig
from training.fitting.train import BEST, LAST, METRICS, Trainer, amp_dtype, train

TINY = dict(
    **TINY_ARCH,
    batch_size=16,
    progress=False,
    val_rows=16,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_rhythm_dataset(tmp_path_factory.mktemp("data") / "tiny.npz", n_train=48, n_val=16, n_test=16)


def _config(dataset, out, **kwargs):
    return TrainConfig(data=str(dataset), out=str(out), **{**TINY, **kwargs})


def _weights(path):
    return load_checkpoint(path)["generator"]


def test_trains_and_writes_run_folder(dataset, tmp_path):
    result = train(_config(dataset, tmp_path / "run", steps=8, checkpoint_every=4))
    assert result.steps == 8
    assert (tmp_path / "run" / "config.json").exists()
    assert TrainConfig.load(tmp_path / "run").steps == 8
    state = load_checkpoint(result.last)
    assert state["step"] == 8
    assert state["dataset"]["counts"] == {"test": 16, "train": 48, "validation": 16}
    lines = [json.loads(line) for line in (tmp_path / "run" / METRICS).read_text().splitlines()]
    assert lines and {"epoch", "step", "loss_d", "loss_g", "loss_cond", "val_fd"} <= set(lines[0])
    assert lines[-1]["step"] == 8
    assert result.best is not None and result.best.name == BEST


def test_weights_change_and_losses_are_finite(dataset, tmp_path):
    result = train(_config(dataset, tmp_path / "a", steps=0))
    before = _weights(result.last)
    after = _weights(train(_config(dataset, tmp_path / "b", steps=5)).last)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for row in train(_config(dataset, tmp_path / "c", steps=3, loss="wgan-gp")).history:
        assert all(np.isfinite(v) for v in row.values())


def test_seed_makes_runs_repeatable(dataset, tmp_path):
    a = _weights(train(_config(dataset, tmp_path / "a", steps=6)).last)
    b = _weights(train(_config(dataset, tmp_path / "b", steps=6)).last)
    c = _weights(train(_config(dataset, tmp_path / "c", steps=6, seed=1)).last)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_reproduces_an_uninterrupted_run(dataset, tmp_path):
    straight = _weights(train(_config(dataset, tmp_path / "straight", steps=9, checkpoint_every=3)).last)
    train(_config(dataset, tmp_path / "split", steps=4, checkpoint_every=2))
    with open(tmp_path / "split" / METRICS, "a", encoding="utf-8") as handle:  # a run went on, died
        handle.write('{"step": 7, "loss_d": 1.0}\n{"step": 8, "lo')
    resumed = train(_config(dataset, tmp_path / "split", steps=9, checkpoint_every=3), resume=True)
    assert resumed.steps == 9
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / METRICS).read_text().splitlines()]
    assert steps == sorted(set(steps)) and 7 not in steps and steps[-1] == 9  # each step once, no torn line
    again = _weights(resumed.last)
    for key in straight:
        torch.testing.assert_close(again[key], straight[key], rtol=0, atol=0)


def test_resume_without_checkpoint_is_a_clear_error(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(_config(dataset, tmp_path / "none", steps=2), resume=True)


def test_test_split_never_reaches_training(dataset, tmp_path):
    trainer = Trainer(_config(dataset, tmp_path / "run", steps=1))
    assert len(trainer.train_patterns) == 48
    assert trainer.train_patterns[:, 0].mean(dim=(1, 2)).max() < 0.9  # test rows are all hits
    assert "test_only" not in trainer.space.styles
    assert trainer.space.normaliser.quantiles[0, -1] < trainer.grid.n_steps * 9 / trainer.grid.bars


def test_a_dataset_without_train_rows_is_refused(tmp_path):
    path = write_rhythm_dataset(tmp_path / "only_test.npz", n_train=0, n_val=4, n_test=8)
    with pytest.raises(ValueError, match="no 'train' rows"):
        train(TrainConfig(data=str(path), out=str(tmp_path / "run"), progress=False))


def test_mixed_precision_is_chosen_only_on_cuda():
    assert amp_dtype("auto", torch.device("cpu")) is None
    assert amp_dtype("fp16", torch.device("cpu")) is None
    assert amp_dtype("off", torch.device("cuda")) is None
    assert amp_dtype("fp16", torch.device("cuda")) is torch.float16
    assert amp_dtype("bf16", torch.device("cuda")) is torch.bfloat16


def test_fit_command_trains_and_resumes(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    args = [
        "fit",
        "--data",
        str(dataset),
        "--out",
        str(out),
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--g-hidden",
        "32",
        "--d-hidden",
        "32",
        "--latent-dim",
        "8",
        "--no-progress",
    ]
    assert cli_main(args) == 0
    assert "trained 3 steps" in capsys.readouterr().out
    assert cli_main(["fit", "--out", str(out), "--resume", "--steps", "5"]) == 0
    assert load_checkpoint(out / LAST)["step"] == 5
    assert TrainConfig.load(out).batch_size == 8  # the saved config was kept


def test_fit_command_reports_bad_input(tmp_path, capsys):
    assert cli_main(["fit", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "nudge-train fit: training needs --data DATASET.npz\n"
    (tmp_path / "bad.npz").write_bytes(b"not a dataset")
    bad = ["fit", "--data", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "r"), "--no-progress"]
    assert cli_main(bad) == 2
    err = capsys.readouterr().err
    assert "not a readable dataset" in err and "Traceback" not in err


# (5, 4): step 4 ends no epoch and saves nothing: the loop reads the device-side flag at step 5
@pytest.mark.parametrize(("checkpoint_every", "bad_step"), [(1, 3), (5, 4)])
def test_a_non_finite_loss_stops_training_before_that_state_is_saved(
    dataset, tmp_path, monkeypatch, checkpoint_every, bad_step
):
    real_step = Trainer.train_step

    def diverging(self):
        stats, ended = real_step(self)  # stats [6] on the device
        if self.step == bad_step:
            stats = stats.clone()
            stats[3] = float("nan")  # loss_g
        return stats, ended

    monkeypatch.setattr(Trainer, "train_step", diverging)
    with pytest.raises(ValueError, match=rf"training diverged at step {bad_step}: .*not finite"):
        train(_config(dataset, tmp_path / "run", steps=6, checkpoint_every=checkpoint_every))
    for name in (LAST, BEST):  # the last good states only, even where the loop looked later
        if (tmp_path / "run" / name).exists():
            assert load_checkpoint(tmp_path / "run" / name)["step"] < bad_step
    if checkpoint_every == 1:
        assert load_checkpoint(tmp_path / "run" / LAST)["step"] == 2
    rows = (
        (tmp_path / "run" / METRICS).read_text().splitlines() if (tmp_path / "run" / METRICS).exists() else []
    )
    assert all("NaN" not in row for row in rows)


def test_resume_refuses_a_checkpoint_of_another_architecture_or_a_corrupt_one(dataset, tmp_path):
    train(_config(dataset, tmp_path / "run", steps=2))
    with pytest.raises(ValueError, match="was trained with another architecture"):
        train(_config(dataset, tmp_path / "run", steps=4, latent_dim=12), resume=True)
    (tmp_path / "run" / LAST).write_bytes(b"\x00truncated")
    with pytest.raises(ValueError, match="not a readable Nudge checkpoint"):
        train(_config(dataset, tmp_path / "run", steps=4), resume=True)


def test_validation_windows_of_a_style_the_train_split_lacks_are_left_out_of_selection(tmp_path, caplog):
    data = make_rhythm_dataset(n_train=48, n_val=16, n_test=16)
    val_rows = np.flatnonzero(data.split == "validation")
    data.style[val_rows[:3]] = "jazz"  # no embedding was learnt for it (train: rock, funk)
    path = data.save(tmp_path / "polka.npz")
    trainer = Trainer(_config(path, tmp_path / "run", steps=1))
    real_desc, cond, style = trainer.val
    assert len(real_desc) == len(cond) == len(style) == 13 and (style >= 0).all()
    assert "3 of 16 validation windows have styles the train split lacks (jazz)" in caplog.text


def test_model_selection_hears_the_dynamics(dataset, tmp_path):
    from companion.core.pattern import HIT, VELOCITY
    from training.fitting.train import DIVERSITY_SCORE_WEIGHT, DIVERSITY_TARGET, DYNAMICS_SCORE_WEIGHT

    trainer = Trainer(_config(dataset, tmp_path / "run"))
    bias = trainer.G.decoder_out.bias.view(3, -1)  # [3, V*S]
    with torch.no_grad():
        bias[HIT] = 1.0  # hits nearly everywhere, whatever the weights say
        bias[VELOCITY] = 0.0
        played = trainer.validate()
        bias[VELOCITY] = 20.0  # every hit at full force: a machine, not a drummer
        machine = trainer.validate()
    for key in ("val_velocity_overlap", "val_offset_overlap", "val_dynamics"):
        assert key in played
    assert machine["val_velocity_overlap"] < played["val_velocity_overlap"]
    assert machine["val_dynamics"] > played["val_dynamics"] + 0.05
    for row in (played, machine):
        shortfall = max(0.0, DIVERSITY_TARGET - row["val_diversity"] / trainer.real_diversity)
        assert row["score"] == pytest.approx(
            row["val_fd"]
            + 10 * row["val_cond_error"]
            + DYNAMICS_SCORE_WEIGHT * row["val_dynamics"]
            + DIVERSITY_SCORE_WEIGHT * shortfall
        )
    assert machine["score"] > played["score"]


def test_model_selection_hears_takes_that_repeat_themselves(dataset, tmp_path):
    from training.fitting.train import DIVERSITY_SCORE_WEIGHT, DIVERSITY_TARGET

    trainer = Trainer(_config(dataset, tmp_path / "run", conditions=("density",)))
    assert 0 < trainer.real_diversity < 1  # real windows of one style and nearly one setting differ
    first = trainer.G.trunk[0]  # its first columns take the noise
    with torch.no_grad():
        trainer.G.decoder_out.bias.view(3, -1)[0] = 0.0  # hits on a knife's edge: the noise can tip them
        first.weight[:, : trainer.config.latent_dim] *= 40.0  # the noise decides: takes differ
        lively = trainer.validate()
        first.weight[:, : trainer.config.latent_dim] = 0.0  # the noise is ignored: one pattern per setting
        deaf = trainer.validate()
    assert deaf["val_diversity"] == 0.0 and deaf["val_near_duplicates"] == 1.0
    assert lively["val_diversity"] > 0.1
    penalty = DIVERSITY_SCORE_WEIGHT * DIVERSITY_TARGET  # the whole shortfall
    assert deaf["score"] - (deaf["val_fd"] + 10 * deaf["val_cond_error"]) >= penalty - 1e-6


def test_groups_train_resume_exactly_and_log_the_diversity_floor(dataset, tmp_path):
    groups = dict(pack=4, pack_neighbours=3, diversity_weight=2.0, steps=6, checkpoint_every=3)
    whole = train(_config(dataset, tmp_path / "whole", **groups))
    assert all(np.isfinite(row["loss_div"]) for row in whole.history)
    train(_config(dataset, tmp_path / "part", **{**groups, "steps": 3}))
    resumed = train(_config(dataset, tmp_path / "part", **groups), resume=True)
    assert resumed.steps == 6
    for key, value in _weights(whole.last).items():
        torch.testing.assert_close(_weights(resumed.last)[key], value, rtol=0, atol=0)
