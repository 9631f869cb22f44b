"""Process-group setup for ``torchrun``: DistributedDataParallel with gloo on CPU, nccl on CUDA.

``nudge-train fit`` calls ``setup`` first. Under ``torchrun --nproc_per_node=K`` (which sets ``RANK``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and ``WORLD_SIZE``) each process joins the group, takes its own GPU
(``cuda:LOCAL_RANK``) when CUDA is used, and trains on its own share of every batch; DDP averages the
gradients. A plain ``python`` run is a world of one and nothing changes. No user code differs between the two.

One GPU per process: NCCL cannot run two processes on one GPU, so more processes on a machine than GPUs is
an error that says what to do (fewer processes, or ``--device cpu`` for gloo on the CPU), never a crash
inside NCCL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from companion.core.errors import UsageError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str = ""  # "" when not distributed

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def choose_device(preference: str, local_rank: int = 0, local_world_size: int = 1) -> torch.device:
    """``auto``: CUDA when present, else CPU. ``cuda`` without a GPU is an error that says so.

    On CUDA, process ``local_rank`` of the ``local_world_size`` on this machine takes GPU ``local_rank``;
    more processes than GPUs is an error (two processes cannot share a GPU under NCCL)."""
    if preference not in ("auto", "cpu", "cuda"):
        raise UsageError(f"device must be one of auto, cpu, cuda; got {preference!r}")
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but torch sees no CUDA GPU (use --device cpu or auto)")
    gpus = torch.cuda.device_count()
    processes = max(local_world_size, local_rank + 1)
    if processes > gpus:
        raise UsageError(
            f"{processes} training processes on this machine but torch sees {gpus} GPU(s): one GPU per "
            f"process (torchrun --nproc_per_node={gpus}), or --device cpu to train on the CPU with gloo"
        )
    return torch.device("cuda", local_rank)


def setup(device_preference: str = "auto") -> DistContext:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    device = choose_device(device_preference, local_rank, local_world_size if world_size > 1 else 1)
    if world_size <= 1:
        return DistContext(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank, local_rank, world_size, device, backend)


def wrap(module: nn.Module, ctx: DistContext) -> nn.Module:
    """``module`` in DistributedDataParallel when distributed, else unchanged."""
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, output_device=ids[0] if ids else None)


def mean_over_processes(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean of ``values`` across processes (a copy on ``values``' device; unchanged when not distributed).

    The reduction runs on ``ctx.device`` (NCCL reduces CUDA tensors only; gloo takes CPU ones)."""
    values = values.detach().clone()
    if ctx.distributed:
        on_device = values.to(ctx.device)
        dist.all_reduce(on_device, op=dist.ReduceOp.SUM)
        values = (on_device / ctx.world_size).to(values.device)
    return values


def min_over_processes(value: torch.Tensor, ctx: DistContext) -> int:
    """The smallest of a one-element tensor ``value`` over all processes, read back as an int."""
    if ctx.distributed:
        value = value.detach().clone().to(ctx.device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return int(value.item())


def any_over_processes(flag: bool, ctx: DistContext) -> bool:
    """Whether ``flag`` is true in any process (all processes call it at the same step)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor(float(flag), device=ctx.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def from_main(value: Any, ctx: DistContext) -> Any:
    """Rank 0's ``value`` (a picklable object) in every process, e.g. its validation scores."""
    if not ctx.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, device=ctx.device if ctx.device.type == "cuda" else None)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier(device_ids=[ctx.device.index] if ctx.backend == "nccl" else None)


def teardown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
