"""``nudge-train fit --data dataset.npz [--out runs/NAME]``: train the conditional GAN.

Every TrainConfig field is an option (``--steps``, ``--batch-size``, ``--loss``, ``--conditions`` ...), each
described in ``--help``. Without ``--out`` the run goes into a new dated folder under ``runs/``; a folder
that holds a run is continued with ``--resume`` (its saved config; options given now override it) or
replaced with ``--overwrite``, never silently (``training.fitting.run_folder``). The run ends with a
summary: the best step and its figures, the wall time, and the command that exports it.
Under ``torchrun --nproc_per_node=K -m training.cli fit ...`` the same command trains with DDP.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from companion.core.errors import UsageError
from training.fitting.config import CONFIG_FILE, TrainConfig, add_config_arguments, config_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="dataset .npz written by 'nudge-train ingest ...' (required)")
    parser.add_argument(
        "--out",
        help="run folder for config.json, last.pt, best.pt, metrics.jsonl, curves.png and TensorBoard's "
        "event files (default: a new folder runs/YYYY-MM-DD_HH-MM-SS)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last.pt, with its config"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the run in --out (its files are removed first)"
    )
    add_config_arguments(parser, skip=("data", "out"))


def run(args: argparse.Namespace) -> int:
    from training.fitting.run_folder import RunFolderError, prepare_run_folder

    main_process = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 touches the folder
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and args.out is None:
        raise UsageError("under torchrun give --out RUN (every process must train into the same folder)")
    if main_process:
        out, notes = prepare_run_folder(args.out, args.resume, args.overwrite)  # RunFolderError: a UsageError
    else:
        out, notes = Path(args.out or "."), []
    base = None
    if args.resume:
        saved = out / CONFIG_FILE
        if not saved.exists():
            raise RunFolderError(f"--resume: {saved} does not exist (nothing to continue in {out})")
        base = TrainConfig.load(saved)
    config = config_from_args(args, base)  # a UsageError names the option
    config.out = str(out)
    if not config.data:
        raise UsageError("training needs --data DATASET.npz")
    from training.fitting.train import train  # torch is imported only once the command runs

    for line in notes:
        print(line, flush=True)
    result = train(config, resume=args.resume)  # NudgeErrors (data, checkpoint, divergence) name the cause
    if main_process:
        print(summary(result, config))
    return 0


def summary(result, config: TrainConfig) -> str:
    """The end of a run in a few lines: steps and time, the best checkpoint's figures, what to run next."""
    minutes, seconds = divmod(round(result.seconds), 60)
    lines = [f"trained {result.steps:,} steps in {minutes} min {seconds} s -> {result.last}"]
    if result.stopped_early:
        lines.append(
            f"stopped by --time-limit-s at step {result.steps:,} of {config.steps:,}; continue with: "
            f"nudge-train fit --out {result.out} --resume --time-limit-s 0"
        )
    row = result.best_row
    if result.best is not None and row is not None:
        lines.append(
            f"best: step {row['step']:,}, score {row['score']:.3f} (Fréchet {row['val_fd']:.2f}, "
            f"slider error {row['val_cond_error']:.3f}, dynamics {row['val_dynamics']:.3f}, velocity overlap "
            f"{row.get('val_velocity_overlap', float('nan')):.3f}) -> {result.best}"
        )
    elif result.best is None:
        lines.append("no best.pt: the run had no validation windows to choose one (export last.pt)")
    checkpoint = result.best or result.last
    name = Path(result.out).name
    lines.append(f"curves: {Path(result.out) / 'curves.png'}; TensorBoard: tensorboard --logdir {result.out}")
    lines.append(f"export it: nudge-train export {checkpoint} -o models/{name}.onnx")
    return "\n".join(lines)
