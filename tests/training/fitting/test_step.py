"""The training step's mechanics (training.fitting.step): no host reads per step, device-side stats, CUDA
graphs.

The CUDA tests run where torch sees a GPU (bench/gpu_check.sh runs them); on a CPU-only machine they are
skipped and say so. Everything else runs on the CPU, through the same code the GPU runs.
"""

import traceback

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tests.support.rhythm_data import TINY_ARCH, write_rhythm_dataset
from training.fitting import losses
from training.fitting.config import TrainConfig
from training.fitting.step import STAT_NAMES, StepStats, _Snapshot, wants_graphs
from training.fitting.train import LAST, Trainer, train

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (bench/gpu_check.sh runs these)")
TINY = dict(**TINY_ARCH, batch_size=16, progress=False, val_rows=16)
# .item(), bool(t), nonzero(), and ops whose output size depends on the values
HOST_READS = {
    "_local_scalar_dense",
    "nonzero",
    "is_nonzero",
    "equal",
    "bincount",
    "masked_select",
    "unique_dim",
}
HOST_READS |= {"_unique2", "unique_consecutive", "repeat_interleave"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_rhythm_dataset(tmp_path_factory.mktemp("step") / "tiny.npz", n_train=48, n_val=16, n_test=16)


def _config(dataset, out, **kwargs):
    return TrainConfig(data=str(dataset), out=str(out), **{**TINY, **kwargs})


class _HostReads(TorchDispatchMode):
    """Records every op that reads a tensor's value back to the host or whose output shape depends on the
    data (both a sync on CUDA, and impossible in a CUDA graph), with its caller."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        bool_index = name == "index" and any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] if len(args) > 1 else [])
        )
        if name in HOST_READS or bool_index:
            frames = traceback.extract_stack()[:-1]
            ours = [f for f in frames if "/torch/" not in f.filename and "/_pytest/" not in f.filename]
            in_optimiser = any("/torch/optim/" in f.filename for f in frames)
            if not in_optimiser:  # CPU Adam keeps its step count on the host by design (CUDA: fused Adam)
                self.calls.append(f"{func.__name__} from {ours[-1].filename}:{ours[-1].lineno}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    ("loss", "dynamics_weight", "groups"),
    [("hinge", 10.0, {}), ("wgan-gp", 0.0, {}), ("hinge", 10.0, {"pack": 4, "diversity_weight": 1.0})],
)
def test_a_training_step_reads_nothing_back_to_the_host(
    dataset, tmp_path, loss, dynamics_weight, groups, monkeypatch
):
    monkeypatch.setattr(losses, "STATIC_SHAPES_ON_CPU", True)  # the path a GPU takes
    config = _config(
        dataset, tmp_path, loss=loss, n_critic=2, device="cpu", dynamics_weight=dynamics_weight, **groups
    )
    trainer = Trainer(config)
    trainer.train_step()  # first-call work (lazy optimiser state) out of the way
    stats_sum = StepStats(trainer.ctx.device)
    with _HostReads() as reads:
        for _ in range(3):  # crosses an epoch end (48 rows, 3 batches of 16 per step)
            stats, _ = trainer.train_step()
            stats_sum.add(stats, trainer.step)
    assert not reads.calls, f"a step reads values back to the host: {reads.calls}"
    assert stats.shape == (len(STAT_NAMES),) and stats.device == trainer.ctx.device


def test_the_gpus_static_shape_quantiles_equal_the_cpus(monkeypatch):
    g = torch.Generator().manual_seed(3)
    values = torch.rand(32, 9, 64, generator=g, dtype=torch.float64).requires_grad_(True)
    mask = torch.rand(32, 9, 64, generator=g) < torch.linspace(0.0, 0.4, 9)[None, :, None]  # voice 0: none
    grads = []
    for static in (False, True):
        monkeypatch.setattr(losses, "STATIC_SHAPES_ON_CPU", static)
        q, counts = losses.masked_quantiles(values, mask, 33)
        played = counts > 0
        (q[played] * torch.arange(1.0, 34.0, dtype=torch.float64)).sum().backward()
        grads.append((q[played].detach(), counts, values.grad.clone()))
        values.grad = None
    (qa, ca, ga), (qb, cb, gb) = grads
    assert ca[0] == 0 and torch.equal(ca, cb)
    torch.testing.assert_close(qa, qb, rtol=0, atol=1e-12)
    torch.testing.assert_close(ga, gb, rtol=0, atol=1e-12)


def test_step_stats_add_up_on_the_device_and_remember_the_first_bad_step():
    stats = StepStats(torch.device("cpu"))
    assert len(STAT_NAMES) == 7 and STAT_NAMES[-1] == "loss_div"
    stats.add(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.5]), step=1)
    stats.add(torch.tensor([3.0, 2.0, 1.0, float("nan"), 5.0, 0.0, 0.5]), step=2)
    stats.add(torch.tensor([float("inf"), 2.0, 1.0, 0.0, 5.0, 0.0, 0.5]), step=3)
    assert int(stats.first_bad) == 2
    stats.reset()
    stats.add(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 0.25]), step=4)
    stats.add(torch.tensor([3.0, 4.0, 5.0, 6.0, 7.0, 2.0, 0.75]), step=5)
    assert stats.means().tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 1.5, 0.5]
    assert int(stats.first_bad) == 2  # a divergence is not forgotten by an epoch's reset


def test_cuda_graphs_are_chosen_only_where_they_can_work():
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert wants_graphs("auto", cuda, distributed=False, amp=torch.bfloat16)
    assert wants_graphs("auto", cuda, distributed=False, amp=None)
    assert not wants_graphs("auto", cuda, distributed=True, amp=torch.bfloat16)  # DDP: plain steps
    assert not wants_graphs("auto", cuda, distributed=False, amp=torch.float16)  # GradScaler reads the host
    assert not wants_graphs("auto", cpu, distributed=False, amp=None)
    assert not wants_graphs("off", cuda, distributed=False, amp=None)
    with pytest.raises(ValueError, match="cuda_graphs 'on' needs a CUDA device"):
        wants_graphs("on", cpu, distributed=False, amp=None)
    with pytest.raises(ValueError, match="float16 needs a GradScaler"):
        wants_graphs("on", cuda, distributed=False, amp=torch.float16)
    with pytest.raises(ValueError, match="config field 'cuda_graphs' must be one of"):
        TrainConfig(cuda_graphs="always")


def test_the_capture_warm_up_leaves_weights_and_optimiser_states_as_they_were(dataset, tmp_path):
    """What ``_CapturedStep`` does around its warm-up steps, checked on the CPU: trained steps are undone."""
    for resumed in (False, True):
        trainer = Trainer(_config(dataset, tmp_path / str(resumed), device="cpu"))
        if resumed:  # optimiser states exist before the warm-up and must come back, not be zeroed
            trainer.train_step()
        before = _state(trainer)
        snapshot = _Snapshot([trainer.G, trainer.D], [trainer.opt_g, trainer.opt_d])
        inputs, _ = trainer.runner.draw()
        for _ in range(3):
            trainer.runner.body(inputs)
        assert before.keys() <= _state(trainer).keys()
        assert any(not torch.equal(before[k], v) for k, v in _state(trainer).items())  # they did train
        snapshot.restore()
        after = _state(trainer)
        assert all(torch.equal(before[k], after[k]) for k in before if k in after)
        for key, value in after.items():
            if key not in before:  # state created by the warm-up: a fresh Adam state is zeros
                assert not value.any(), key


def test_an_optimiser_state_from_a_cuda_graph_run_resumes_on_the_cpu(dataset, tmp_path):
    """A CUDA-graph run saves Adam with ``fused`` and ``capturable`` set; the CPU resumes with its Adam."""
    straight = train(_config(dataset, tmp_path / "straight", steps=6, device="cpu"))
    train(_config(dataset, tmp_path / "split", steps=3, device="cpu"))
    last = tmp_path / "split" / LAST
    state = torch.load(last, weights_only=True)
    for key in ("opt_g", "opt_d"):
        for group in state[key]["param_groups"]:
            group.update(fused=True, capturable=True, foreach=None)  # what a CUDA-graph run writes
    torch.save(state, last)
    resumed = train(_config(dataset, tmp_path / "split", steps=6, device="cpu"), resume=True)
    trainer_groups = torch.load(resumed.last, weights_only=True)["opt_g"]["param_groups"]
    assert not any(group["capturable"] or group["fused"] for group in trainer_groups)
    a, b = (torch.load(r.last, weights_only=True)["generator"] for r in (straight, resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)  # as if it had never left the CPU


def _state(trainer):
    out = {f"G.{k}": v.clone() for k, v in trainer.G.state_dict().items()}
    out.update({f"D.{k}": v.clone() for k, v in trainer.D.state_dict().items()})
    for name, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for i, p in enumerate(opt.param_groups[0]["params"]):
            for key, value in opt.state.get(p, {}).items():
                out[f"{name}.{i}.{key}"] = torch.as_tensor(value).clone()
    return out


# ---- CUDA only -----------------------------------------------------------------------------------------
@needs_cuda
def test_on_cuda_a_plain_step_never_synchronises_with_the_host(dataset, tmp_path):
    trainer = Trainer(_config(dataset, tmp_path, device="cuda", cuda_graphs="off"))
    trainer.train_step()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any synchronising call in a step raises
    try:
        for _ in range(4):
            stats, _ = trainer.train_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(stats).all()


@needs_cuda
def test_on_cuda_the_graph_replays_the_same_training_as_the_plain_step(dataset, tmp_path):
    runs = {}
    for mode in ("off", "on"):
        config = _config(dataset, tmp_path / mode, device="cuda", amp="off", cuda_graphs=mode, steps=12)
        trainer = Trainer(config)
        trainer.run()
        assert trainer.runner.captured == (mode == "on")
        runs[mode] = trainer.G.state_dict()
    for key, value in runs["off"].items():  # the same maths, one launch; float32, so only rounding differs
        torch.testing.assert_close(runs["on"][key], value, rtol=1e-3, atol=1e-4)


@needs_cuda
def test_on_cuda_a_run_trains_resumes_and_its_checkpoint_loads_on_the_cpu(dataset, tmp_path):
    from training.fitting.checkpoint import generator_from_checkpoint, load_checkpoint

    whole = train(_config(dataset, tmp_path / "whole", device="cuda", steps=8))
    train(_config(dataset, tmp_path / "part", device="cuda", steps=4))
    resumed = train(_config(dataset, tmp_path / "part", device="cuda", steps=8), resume=True)
    a, b = load_checkpoint(whole.last)["generator"], load_checkpoint(resumed.last)["generator"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-3, atol=1e-4)
    state = load_checkpoint(resumed.last)  # map_location cpu
    assert all(t.device.type == "cpu" for t in state["generator"].values())
    generator, _ = generator_from_checkpoint(state)
    assert next(generator.parameters()).device.type == "cpu"
