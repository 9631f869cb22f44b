"""The tools training configuration: one dataclass, saved as ``config.json`` beside the weights (every field
is a ``nudge-train fit-tools`` option)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from companion.core.atomic import atomic_write_text
from companion.runtime.tools_model import TASKS

CONFIG_FILE = "config.json"


@dataclass
class ToolsConfig:
    base: str = ""  # the generator's checkpoint (RUN/best.pt of nudge-train fit)
    data: str = ""  # the generator's dataset .npz (its train rows; validation picks best.pt)
    fills: str = ""  # 1-bar fill windows .npz (nudge-train ingest midi ... --bars 1 --beat-type fill)
    out: str = "runs/tools"
    # the encoder beside the generator
    enc_hidden: int = 256
    enc_dim: int = 128
    groove_hidden: int = 512  # the Groove head (every given hit -> every cell's dynamics)
    # the share of each task in a batch, in TASKS order: generate, groove, continue, fill, drumify
    task_weights: tuple[float, ...] = (0.1, 0.25, 0.2, 0.2, 0.25)
    # losses
    cond_weight: float = 10.0  # the sliders that are given (Huber, as the generator's)
    dynamics_weight: float = 10.0  # velocities and offsets as a drummer plays them (losses.dynamics_loss)
    groove_weight: float = 10.0  # groove: L1 to the drummer's own velocities and offsets at his hits
    groove_dynamics_weight: float = 10.0  # groove: its rows' own dynamics loss (their spread, per voice)
    onset_weight: float = 5.0  # drumify: the merged onsets follow the rhythm (binary cross-entropy)
    hit_weight: float = 1.0  # drumify: the hits of what was hidden (binary cross-entropy)
    drumify_descriptor_weight: float = 0.0  # drumify: every descriptor of the drummer's pattern (Huber)
    continue_weight: float = 5.0  # continue, fill: the hits of the hidden bars (binary cross-entropy)
    lr_g: float = 2e-4  # the generator it was made from
    lr_new: float = 1e-3  # what is new beside it (the encoder, its paths, the Groove head)
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.9
    batch_size: int = 128
    steps: int = 3000
    groove_warmup_steps: int = 500  # the Groove head alone first (its L1 and dynamics losses, no critic)
    checkpoint_every: int = 250
    val_every: int = 250
    time_limit_s: float = 0.0
    seed: int = 0
    threads: int = 1  # torch threads: 1 (two on a busy 2-core machine spin against each other: 10x slower)
    progress: bool = True

    def __post_init__(self) -> None:
        self.task_weights = tuple(float(w) for w in self.task_weights)
        if len(self.task_weights) != len(TASKS) or min(self.task_weights) < 0 or sum(self.task_weights) <= 0:
            raise ValueError(
                f"task_weights must be {len(TASKS)} numbers >= 0 ({', '.join(TASKS)}), not all 0"
            )
        for name in (
            "enc_hidden",
            "enc_dim",
            "groove_hidden",
            "batch_size",
            "steps",
            "checkpoint_every",
            "val_every",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
                raise ValueError(f"config field '{name}' must be an int in 0..10000000, got {value!r}")
        weights = (
            "cond_weight",
            "dynamics_weight",
            "groove_weight",
            "groove_dynamics_weight",
            "onset_weight",
        )
        for name in (*weights, "hit_weight", "continue_weight"):
            if not 0 <= getattr(self, name) <= 1000:
                raise ValueError(f"config field '{name}' must be in 0..1000, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["task_weights"] = list(self.task_weights)
        return data

    def save(self, folder: str | os.PathLike) -> Path:
        return atomic_write_text(Path(folder) / CONFIG_FILE, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolsConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown tools config fields {unknown}; allowed: {sorted(known)}")
        return cls(**data)
