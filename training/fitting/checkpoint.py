"""Training checkpoints (``last.pt``, ``best.pt``): reading them back, and the generator they hold.

A checkpoint is the dict ``training.fitting.train.Trainer.checkpoint`` saves with ``torch.save``: ``format``
(``CHECKPOINT_FORMAT``), ``step``, ``config`` (the TrainConfig), ``conditions`` (the ConditionSpace),
``grid``, ``n_voices``, ``dataset``, the generator's and critic's weights, the optimisers', the sampler's
position, the best score so far and the date. Loading uses ``weights_only=True``: no code runs from it.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from companion.core.errors import TrainingError
from companion.core.pattern import Grid
from training.conditions import ConditionSpace
from training.fitting.config import TrainConfig
from training.fitting.model import Generator

CHECKPOINT_FORMAT = 1
REQUIRED_KEYS = ("format", "step", "date", "config", "conditions", "grid", "n_voices", "dataset", "generator")
RESUME_KEYS = ("critic", "opt_g", "opt_d", "scaler_g", "scaler_d", "sampler")  # what --resume needs as well


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """A checkpoint dict (see ``Trainer.checkpoint``); clear errors for missing or foreign files."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch raises several types for corrupt or foreign files
        raise TrainingError(
            f"{path}: not a readable Nudge checkpoint ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or "generator" not in state:
        raise TrainingError(f"{path}: not a Nudge checkpoint (format {CHECKPOINT_FORMAT} with a generator)")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise TrainingError(
            f"{path}: the checkpoint lacks {', '.join(missing)} (truncated or not from nudge-train?)"
        )
    return state


def generator_from_checkpoint(state: dict[str, Any]) -> tuple[Generator, ConditionSpace]:
    """The generator (eval mode) and condition space of a checkpoint; ``ValueError`` when they do not fit."""
    try:
        config = TrainConfig.from_dict(state["config"])
        space = ConditionSpace.from_dict(state["conditions"])
        grid = Grid(**state["grid"])
        G = Generator(config, len(space.names), len(space.styles), int(state["n_voices"]), grid)
        G.load_state_dict(state["generator"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:  # RuntimeError: weights of another shape
        reason = str(error).strip().splitlines()[0][:300]
        raise TrainingError(
            f"the checkpoint's generator cannot be rebuilt ({type(error).__name__}: {reason})"
        ) from None
    return G.eval(), space
