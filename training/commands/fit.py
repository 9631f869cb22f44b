"""``nudge-train fit --data dataset.npz --out runs/NAME``: train the conditional GAN.

Every TrainConfig field is an option (``--steps``, ``--batch-size``, ``--loss``, ``--conditions`` ...).
``--resume`` continues ``OUT/last.pt`` with the run's saved config (options given now override it).
Under ``torchrun --nproc_per_node=K -m training.cli fit ...`` the same command trains with DDP.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from companion.core.errors import UsageError
from training.fitting.config import CONFIG_FILE, TrainConfig, add_config_arguments, config_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument("--data", help="dataset .npz written by 'nudge-train ingest ...'")
    parser.add_argument("--out", help="run folder for config.json, last.pt, best.pt, metrics.jsonl")
    parser.add_argument(
        "--resume", action="store_true", help="continue from OUT/last.pt with OUT/config.json"
    )
    add_config_arguments(parser, skip=("data", "out"))


def run(args: argparse.Namespace) -> int:
    from training.fitting.train import train  # torch is imported only once the command runs

    base = None
    if args.resume:
        if not args.out:
            raise UsageError("--resume needs --out (the run folder to continue)")
        saved = Path(args.out) / CONFIG_FILE
        if not saved.exists():
            raise UsageError(f"--resume: {saved} does not exist")
        base = TrainConfig.load(saved)
    config = config_from_args(args, base)  # a UsageError names the option
    if not config.data:
        raise UsageError("training needs --data DATASET.npz")
    try:
        result = train(config, resume=args.resume)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    print(
        f"trained {result.steps} steps -> {result.last}" + (f" (best: {result.best})" if result.best else "")
    )
    return 0
