"""DistributedDataParallel on CPU: two processes with the gloo backend train together and stay identical.

The gloo tests ask for the CPU explicitly (``device="cpu"``): on a machine with GPUs ``auto`` would take
CUDA, and two processes on one GPU are refused. Which GPU each process takes is tested with a faked
``torch.cuda.device_count`` (the mapping logic only); NCCL itself needs GPUs (bench/gpu_check.sh).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from tests.support.rhythm_data import TINY_ARCH, write_rhythm_dataset
from training.fitting.checkpoint import load_checkpoint
from training.fitting.config import TrainConfig
from training.fitting.distributed import DistContext, choose_device, setup
from training.fitting.train import LAST, Trainer

ROOT = Path(__file__).resolve().parents[3]
TINY = dict(
    **TINY_ARCH,
    batch_size=32,  # 8 same-setting groups of 4 (the recipe's pack) per process: the batches' rows as before
    progress=False,
    val_rows=8,
    device="cpu",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(
    rank: int, world: int, port: int, data: str, out: str, loss: str, steps: int = 3, resume: bool = False
) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    trainer = Trainer(TrainConfig(data=data, out=out, steps=steps, loss=loss, **TINY), resume=resume)
    assert trainer.ctx.world_size == world and trainer.ctx.backend == "gloo"
    rows, _ = BatchRows.first(trainer)
    result = trainer.run()
    torch.save(
        {
            "G": trainer.G.state_dict(),
            "D": trainer.D.state_dict(),
            "rows": rows,
            "history": [{k: v for k, v in row.items() if k != "seconds"} for row in result.history],
            "best": (trainer.best_score, trainer.best_step),
        },
        Path(out) / f"rank{rank}.pt",
    )
    torch.distributed.destroy_process_group()


class BatchRows:
    @staticmethod
    def first(trainer: Trainer):
        from training.fitting.batches import BatchSampler

        probe = BatchSampler(  # draws the batches' anchors (each heads a same-setting group)
            trainer.n_rows,
            trainer.config.batch_size // trainer.config.pack,
            trainer.config.seed,
            trainer.ctx.rank,
            trainer.ctx.world_size,
        )
        return probe.next()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_rhythm_dataset(tmp_path_factory.mktemp("ddp") / "tiny.npz", n_train=40, n_val=8, n_test=8)


@pytest.mark.slow
@pytest.mark.integration
def test_two_gloo_processes_resume_as_if_they_had_not_stopped(dataset, tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    mp.spawn(_worker, args=(2, _free_port(), str(dataset), str(whole), "hinge", 6), nprocs=2, join=True)
    mp.spawn(_worker, args=(2, _free_port(), str(dataset), str(part), "hinge", 3), nprocs=2, join=True)
    mp.spawn(_worker, args=(2, _free_port(), str(dataset), str(part), "hinge", 6, True), nprocs=2, join=True)
    for rank in range(2):
        a, b = (torch.load(folder / f"rank{rank}.pt", weights_only=True) for folder in (whole, part))
        for key in a["G"]:
            torch.testing.assert_close(a["G"][key], b["G"][key], rtol=0, atol=0)
    assert load_checkpoint(part / LAST)["best"] == load_checkpoint(whole / LAST)["best"]


def test_each_process_takes_its_own_gpu_and_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    """The rank -> GPU mapping with a faked GPU count (no GPU needed; NCCL itself is not faked)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    gpus = [choose_device("auto", rank, 2) for rank in range(2)]
    assert gpus == [torch.device("cuda", 0), torch.device("cuda", 1)]
    assert choose_device("cuda", 1, 2) == torch.device("cuda", 1)
    assert choose_device("cpu", 1, 4) == torch.device("cpu")  # gloo on the CPU stays possible
    for preference in ("auto", "cuda"):
        with pytest.raises(ValueError, match=r"3 training processes on this machine but torch sees 2 GPU"):
            choose_device(preference, 0, 3)
    with pytest.raises(ValueError, match=r"--nproc_per_node=2\), or --device cpu"):
        choose_device("auto", 2, 1)  # a launcher without LOCAL_WORLD_SIZE: the rank alone tells
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # two processes, one GPU: refused up front
    with pytest.raises(ValueError, match="2 training processes on this machine but torch sees 1 GPU"):
        setup("auto")


def test_single_process_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert setup("cpu") == DistContext()
    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            choose_device("cuda")


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("loss", ["hinge", "wgan-gp"])
def test_two_gloo_processes_train_on_different_rows_and_agree(dataset, tmp_path, loss):
    mp.spawn(_worker, args=(2, _free_port(), str(dataset), str(tmp_path), loss), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert set(a["rows"].tolist()).isdisjoint(b["rows"].tolist())  # each process its own share of the batch
    assert a["history"] == b["history"] and "score" in a["history"][-1]  # same metrics, same validation
    assert a["best"] == b["best"] and a["best"][1] > 0  # and the same model selection
    for part in ("G", "D"):
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key], rtol=0, atol=0)
    saved = load_checkpoint(tmp_path / LAST)["generator"]
    start = Trainer(
        TrainConfig(data=str(dataset), out=str(tmp_path / "fresh"), steps=0, **TINY)
    ).G.state_dict()
    assert any(not torch.equal(saved[k], start[k]) for k in saved)  # they did train
    assert all(torch.equal(saved[k], a["G"][k]) for k in saved)


@pytest.mark.slow
@pytest.mark.integration
def test_fit_runs_unchanged_under_torchrun(dataset, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port",
        str(_free_port()),
        "-m",
        "training.cli",
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
        "--no-progress",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_checkpoint(out / LAST)["step"] == 3
    # both processes finished (torchrun's exit code); the main one sums the run up, once
    assert done.stdout.count("trained 3 steps") == 1 and done.stdout.count("run folder:") == 1
