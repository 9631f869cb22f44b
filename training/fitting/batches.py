"""Seeded randomness of the training loop: which rows each batch takes, and each step's noise.

Both derive from the run's ``seed`` and the position in the run alone (epoch and position for the batches;
step and process rank for the noise), never from a generator carried along, so a run resumed from a
checkpoint draws exactly what the uninterrupted run would have drawn.

Both live on the training device: the epoch's permutation is copied there once per epoch and each batch's
rows are picked there; the noise comes from one generator on that device, re-seeded per step (a host-side
operation). No step waits for the GPU. On the CPU the draws are the same numbers as from the CPU generators
this module used before.
"""

from __future__ import annotations

import torch


class BatchSampler:
    """Seeded, resumable batches: a fresh permutation of the rows per epoch; each process takes its slice."""

    def __init__(
        self,
        n_rows: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        *,
        device: torch.device | str = "cpu",
    ) -> None:
        self.n_rows, self.batch_size, self.seed = n_rows, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.device = torch.device(device)
        self.epoch, self.position = 0, 0
        self._offsets = torch.arange(batch_size * world_size, device=self.device)  # [world * B]
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        perm = torch.randperm(  # drawn on the CPU (the same order on every device), copied once per epoch
            self.n_rows, generator=torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
        )
        return perm.to(self.device, non_blocking=True)  # [N]

    def next(self) -> tuple[torch.Tensor, bool]:
        """This process's row indices [batch_size] on the device, and whether this batch ends an epoch."""
        global_batch = self.batch_size * self.world_size
        take = (self._offsets + self.position) % self.n_rows  # [world * B]
        rows = self._perm[take].view(self.world_size, self.batch_size)[self.rank]  # [B]
        self.position += global_batch
        ends = self.position + global_batch > max(self.n_rows, global_batch)
        if ends:
            self.epoch, self.position = self.epoch + 1, 0
            self._perm = self._permutation()
        return rows, ends

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._perm = self._permutation()


def step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 4099 + rank * 7) % (2**63)


def step_generator(seed: int, step: int, rank: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded by (seed, step, rank) alone."""
    return torch.Generator(device=device).manual_seed(step_seed(seed, step, rank))


class StepNoise:
    """One generator on the training device, re-seeded from (seed, step, rank) at every step."""

    def __init__(self, seed: int, rank: int, device: torch.device | str) -> None:
        self.seed, self.rank = seed, rank
        self.generator = torch.Generator(device=device)

    def at(self, step: int) -> torch.Generator:
        return self.generator.manual_seed(step_seed(self.seed, step, self.rank))
