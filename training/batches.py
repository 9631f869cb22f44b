"""Seeded randomness of the training loop: which rows each batch takes, and each step's noise.

Both derive from the run's ``seed`` and the position in the run alone (epoch and position for the batches;
step and process rank for the noise), never from a generator carried along, so a run resumed from a
checkpoint draws exactly what the uninterrupted run would have drawn.
"""

from __future__ import annotations

import torch


class BatchSampler:
    """Seeded, resumable batches: a fresh permutation of the rows per epoch; each process takes its slice."""

    def __init__(self, n_rows: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.n_rows, self.batch_size, self.seed = n_rows, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        return torch.randperm(
            self.n_rows, generator=torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
        )

    def next(self) -> tuple[torch.Tensor, bool]:
        """This process's row indices [batch_size] and whether this batch ends an epoch."""
        global_batch = self.batch_size * self.world_size
        take = (self.position + torch.arange(global_batch)) % self.n_rows
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


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 4099 + rank * 7) % (2**63))
