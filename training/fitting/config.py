"""The training configuration: one dataclass, saved as ``config.json`` beside the weights.

Every field is also a ``nudge-train fit`` option (``--batch-size`` for ``batch_size``); the table of
choices and ranges below validates both, and the error names the field and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from companion.core.atomic import atomic_write_text
from companion.core.cli_base import from_args
from companion.core.descriptors import DESCRIPTOR_NAMES
from companion.core.errors import UsageError

CONFIG_FILE = "config.json"
LOSSES = ("hinge", "wgan-gp", "bce")
DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("auto", "off", "bf16", "fp16")
CUDA_GRAPH_MODES = ("auto", "on", "off")
HIT_ESTIMATORS = ("soft", "straight-through")
PACK_CRITICS = ("none", "spread", "joint")
# The default sliders (docs/gan.md says why these five).
DEFAULT_CONDITIONS = ("density", "syncopation", "swing", "microtiming_spread", "consistency")


@dataclass
class TrainConfig:
    data: str = ""  # dataset .npz (training.dataset format)
    out: str = "runs/default"  # run folder: config.json, checkpoints, metrics.jsonl
    conditions: tuple[str, ...] = DEFAULT_CONDITIONS  # slider order = the ONNX ``cond`` input order
    styles: bool = True  # condition on the dataset's style labels (when it has any)
    beat_types: tuple[str, ...] = ()  # keep only windows of these beat types ("beat", "fill"); () = all
    # model
    latent_dim: int = 64
    style_dim: int = 16
    g_hidden: int = 256  # generator trunk width
    bar_dim: int = 96  # generator code per bar
    bar_hidden: int = 128  # generator per-bar decoder width
    d_hidden: int = 256  # critic width
    # optimisation
    loss: str = "hinge"
    gp_weight: float = 10.0  # wgan-gp only
    cond_weight: float = 10.0  # weight of the condition-matching auxiliary loss
    dynamics_weight: float = 10.0  # weight of the velocity/offset distribution loss (losses.dynamics_loss)
    cond_mix: float = 0.5  # share of generator rows whose one random slider is redrawn uniformly 0..1
    n_critic: int = 1  # critic updates per generator update
    # takes at one setting (training.fitting.groups): a batch is batch_size / pack groups of pack rows that
    # share a style and (nearly) a setting: real = a window and neighbours of it, fake = takes of its setting
    pack: int = 4
    pack_neighbours: int = 8  # a real group's rows come from the anchor's this many nearest windows
    # what the critic sees of a group (pack >= 2): "spread" = each row also sees its group's spread per bar;
    # "joint" = one score per group from its rows' features side by side (PacGAN); "none" = rows alone
    pack_critic: str = "spread"
    diversity_weight: float = 10.0  # weight of the diversity floor between takes of one setting (pack >= 2)
    diversity_floor: float = 0.5  # the floor: soft hit change below it between two takes is penalised
    diversity_temperature: float = 4.0  # the change is measured on sigmoid(hit logit / this)
    hit_estimator: str = (
        "soft"  # what the critic sees as hits: "soft" probabilities or "straight-through" 0/1
    )
    lr_g: float = 4e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.9
    batch_size: int = 128  # per process
    steps: int = 2000  # generator updates
    checkpoint_every: int = 500
    time_limit_s: float = 0.0  # stop early (with a checkpoint) after this many seconds; 0 = no limit
    hit_threshold: float = 0.5
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # cuda only: auto = bf16 where supported, else fp16 with a GradScaler
    cuda_graphs: str = "auto"  # cuda only: replay each step as one CUDA graph (training.fitting.step)
    compile: bool = False  # torch.compile the networks and the descriptor loss (training.fitting.step)
    val_rows: int = 512  # validation windows used for model selection each epoch (0 = none)
    progress: bool = True

    def __post_init__(self) -> None:
        self.conditions = tuple(self.conditions)
        self.beat_types = tuple(self.beat_types)
        check_config(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conditions"] = list(self.conditions)
        data["beat_types"] = list(self.beat_types)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, folder: str | os.PathLike) -> Path:
        return atomic_write_text(Path(folder) / CONFIG_FILE, self.to_json() + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        if not isinstance(data, dict):
            raise UsageError("a training config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown training config fields {unknown}; allowed: {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, folder_or_file: str | os.PathLike) -> TrainConfig:
        path = Path(folder_or_file)
        path = path / CONFIG_FILE if path.is_dir() else path
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as error:
            raise UsageError(f"{path}: not a readable training config ({error})") from error


# field: (low, high) for numbers, or the tuple of allowed strings
RULES: dict[str, tuple] = {
    "latent_dim": (1, 4096),
    "style_dim": (1, 512),
    "g_hidden": (8, 8192),
    "bar_dim": (4, 4096),
    "bar_hidden": (8, 8192),
    "d_hidden": (8, 8192),
    "loss": LOSSES,
    "gp_weight": (0.0, 1000.0),
    "cond_weight": (0.0, 1000.0),
    "dynamics_weight": (0.0, 1000.0),
    "cond_mix": (0.0, 1.0),
    "n_critic": (1, 20),
    "pack": (1, 16),
    "pack_neighbours": (1, 64),
    "pack_critic": PACK_CRITICS,
    "diversity_weight": (0.0, 1000.0),
    "diversity_floor": (0.0, 1.0),
    "diversity_temperature": (0.1, 100.0),
    "hit_estimator": HIT_ESTIMATORS,
    "lr_g": (1e-7, 1.0),
    "lr_d": (1e-7, 1.0),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "batch_size": (2, 65536),
    "steps": (0, 10_000_000),
    "checkpoint_every": (1, 10_000_000),
    "time_limit_s": (0.0, 1e9),
    "hit_threshold": (0.01, 0.99),
    "seed": (0, 2**31 - 1),
    "device": DEVICES,
    "amp": AMP_MODES,
    "cuda_graphs": CUDA_GRAPH_MODES,
    "val_rows": (0, 1_000_000),
}


def check_config(config: TrainConfig) -> None:
    """Raise ``ValueError`` naming the field and the allowed values for anything out of range."""
    for name, rule in RULES.items():
        value = getattr(config, name)
        if isinstance(rule[0], str):
            if value not in rule:
                raise UsageError(f"config field '{name}' must be one of {list(rule)}, got {value!r}")
            continue
        low, high = rule
        kind = int if isinstance(low, int) and isinstance(high, int) else float
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not isinstance(value, int))
        ):
            raise UsageError(
                f"config field '{name}' must be a{'n int' if kind is int else ' number'}, got {value!r}"
            )
        if not low <= value <= high:
            raise UsageError(f"config field '{name}' must be in {low}..{high}, got {value!r}")
    if config.batch_size % config.pack:
        raise UsageError(
            f"config field 'batch_size' ({config.batch_size}) must be a multiple of 'pack' ({config.pack})"
        )
    if config.pack > config.pack_neighbours + 1:
        raise UsageError(
            f"config field 'pack' ({config.pack}) must be at most 'pack_neighbours' + 1 "
            f"({config.pack_neighbours + 1}): a real group is a window and pack - 1 of its neighbours"
        )
    if config.diversity_weight > 0 and config.pack < 2:
        raise UsageError(
            "config field 'diversity_weight' needs 'pack' >= 2: it compares takes of one setting "
            "(without groups, set diversity_weight 0 too)"
        )
    if not config.conditions:
        raise UsageError("config field 'conditions' must name at least one condition")
    if len(set(config.conditions)) != len(config.conditions):
        raise UsageError(f"config field 'conditions' has duplicates: {list(config.conditions)}")
    for name in config.conditions:
        if not isinstance(name, str) or not name:
            raise UsageError(f"config field 'conditions' must hold non-empty names, got {name!r}")


# field -> what it does, for `nudge-train fit --help` (a test checks that every field has one)
HELP: dict[str, str] = {
    "data": "dataset .npz written by 'nudge-train ingest ...'",
    "out": "run folder",
    "conditions": "the sliders the model learns, in the ONNX `cond` input's order",
    "styles": "condition on the dataset's style labels (when it has any)",
    "beat_types": "keep only windows of these beat types (beat, fill); empty = all",
    "latent_dim": "size of the generator's noise vector z",
    "style_dim": "size of the style embedding",
    "g_hidden": "width of the generator's trunk",
    "bar_dim": "generator code per bar",
    "bar_hidden": "width of the generator's per-bar decoder",
    "d_hidden": "width of the critic",
    "loss": "adversarial loss",
    "gp_weight": "gradient penalty weight (wgan-gp only)",
    "cond_weight": "weight of the slider-matching loss (generated patterns measure as requested)",
    "dynamics_weight": "weight of the velocity and micro-timing distribution loss",
    "cond_mix": "share of generator rows whose one random slider is redrawn at random",
    "n_critic": "critic updates per generator update",
    "pack": "rows per same-setting group: a real window with its nearest same-style neighbours, or takes "
    "of one setting (1 = every row its own setting)",
    "pack_neighbours": "a real group's rows come from its anchor's this many nearest train windows",
    "pack_critic": "what the critic sees of a group: spread (each row also sees its group's spread per bar), "
    "joint (one score per group, PacGAN) or none",
    "diversity_weight": "weight of the diversity floor between takes of one setting (needs pack >= 2)",
    "diversity_floor": "hit change between two takes of one setting below which the floor pushes them apart",
    "diversity_temperature": "the floor measures hit change on sigmoid(hit logit / this)",
    "hit_estimator": "what the critic sees as hits: probabilities, or 0/1 with straight-through gradients",
    "lr_g": "generator learning rate (Adam)",
    "lr_d": "critic learning rate (Adam)",
    "beta1": "Adam beta1 of both networks",
    "beta2": "Adam beta2 of both networks",
    "batch_size": "windows per step, per process",
    "steps": "generator updates to train for",
    "checkpoint_every": "write last.pt (and curves.png) every this many steps",
    "time_limit_s": "stop early, with a checkpoint, after this many seconds; 0 = no limit",
    "hit_threshold": "hit probability above which a cell is a hit (validation, export)",
    "seed": "seed of the weights, batch order and noise: same seed + same data = same run",
    "device": "where to train: auto = CUDA when torch sees a GPU, else CPU",
    "amp": "mixed precision on CUDA: auto = bf16 where supported, else fp16",
    "cuda_graphs": "replay each step as one CUDA graph (CUDA only)",
    "compile": "torch.compile the networks and the descriptor loss",
    "val_rows": "validation windows that pick best.pt each epoch; 0 = none",
    "progress": "show a progress bar with the latest validation figures",
}


def add_config_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One ``--option`` per config field, its help from ``HELP`` with the default written once
    (argparse defaults are ``None`` = keep the config's own value, or the resumed run's)."""
    for f in fields(TrainConfig):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default, text = f.default, HELP[f.name]
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{text} (default: {'on' if default else 'off'})",
            )
        elif isinstance(default, tuple):
            hint = f"{text}; comma-separated (default: {','.join(default) or 'none'})"
            if f.name == "conditions":
                hint += f"; descriptors: {','.join(DESCRIPTOR_NAMES)}"
            parser.add_argument(flag, type=_csv, default=None, metavar="A,B", help=hint)
        else:
            rule = RULES.get(f.name)
            choices = list(rule) if rule and isinstance(rule[0], str) else None
            if choices:
                help_text = f"{text} (default: {default})"
            elif rule:
                low, high = (f"{v:,}" if isinstance(v, int) else f"{v:g}" for v in rule)
                help_text = f"{text}, {low}..{high} (default: {default:g})"
            else:
                help_text = f"{text} (default: {default})"
            parser.add_argument(
                flag,
                type=type(default),
                default=None,
                choices=choices,
                metavar=None if choices else ("N" if isinstance(default, int) else "X"),
                help=help_text.replace("%", "%%"),
            )


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (or the defaults) with every option given on the command line applied (``from_args``)."""
    return from_args(TrainConfig, args, base)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
