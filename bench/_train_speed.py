"""Training speed of the default model's recipe: steps/s and samples/s per batch size and step variant.

    python bench/bench_train.py --speed --device cpu            # CPU: the step against the legacy step
    python bench/bench_train.py --speed --device cuda           # GPU: legacy, plain, graphs, compile+graphs

Variants (``training.fitting.step``): ``legacy`` is the step as it was before issue 14
(``bench/_legacy_step.py``: CPU-side sampling, five ``.item()`` per step), measured in the same run as
the baseline; ``issue13`` is today's step on the recipe before issue 21 (no same-setting groups, no
diversity floor: ``ISSUE13_OVERRIDES``), the baseline of the recipe's own cost; ``step`` is today's step
without CUDA graphs; ``graphs`` replays it as one CUDA graph;
``compile`` adds ``torch.compile``.
Every figure is the best of ``--rounds`` interleaved rounds of ``--steps`` steps (fair on shared CPUs),
after warm-up steps (capture and compilation happen there; their seconds are printed), with the device
synchronised before and after. The issue's reference figures (one H200, two runs sharing it; this 2-core
CPU) and targets are printed beside them.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
import time

import torch
from _legacy_step import LegacyStep

from training.fitting.config import add_config_arguments, config_from_args
from training.fitting.step import StepStats
from training.fitting.train import Trainer

# issue 14's measurements before the change: (device, batch) -> steps/s
REFERENCE_STEPS_S = {("cuda", 128): 30.0, ("cuda", 1024): 28.0, ("cuda", 2048): 30.0, ("cpu", 128): 20.0}
TARGET_STEPS_S_128, TARGET_SAMPLES_S = 300.0, 500_000.0
RECIPE_STEPS, TARGET_RECIPE_S = 14_000, 60.0
# the recipe as issue 13 shipped it: every row its own setting, no diversity floor (issue 21 added them)
ISSUE13_OVERRIDES = {"pack": 1, "diversity_weight": 0.0}


def recipe_config(recipe: list[str], **overrides):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    config = config_from_args(parser.parse_args(recipe))
    data = {**config.to_dict(), **overrides}
    return type(config).from_dict(data)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(trainer: Trainer, variant: str, steps: int, warmup: int) -> tuple[float, float]:
    """(steps/s, warm-up seconds) of ``variant`` on ``trainer``."""
    device = trainer.ctx.device
    if variant == "legacy":
        legacy = LegacyStep(trainer)

        def one() -> None:
            legacy()
    else:
        stats = StepStats(device)

        def one() -> None:
            step_stats, _ = trainer.train_step()
            stats.add(step_stats, trainer.step)

    started = time.perf_counter()
    for _ in range(warmup):
        one()
    _sync(device)
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        one()
    _sync(device)
    return steps / (time.perf_counter() - started), warm_s


def main(args: argparse.Namespace, recipe: list[str]) -> int:
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        print("speed: --device cuda but torch sees no CUDA GPU: nothing to measure here")
        return 2
    on_gpu = device.type == "cuda"
    if args.threads > 0:  # one thread: figures that a busy shared CPU disturbs far less (no OpenMP barriers)
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in (args.batch_sizes or ("128,1024,4096,16384" if on_gpu else "128")).split(",")]
    variants = (args.variants or ("legacy,step,graphs,compile" if on_gpu else "legacy,issue13,step")).split(
        ","
    )
    steps = args.steps or (300 if on_gpu else 100)
    name = torch.cuda.get_device_name(device) if on_gpu else f"{torch.get_num_threads()} CPU threads"
    print(f"speed: {name}, torch {torch.__version__}; recipe {shlex.join(recipe)}")
    print(f"{'variant':8s} {'batch':>6s} {'steps/s':>9s} {'samples/s':>11s} {'warm-up s':>9s}  ratios")
    best: dict[int, float] = {}
    legacy: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for batch in batches:
            chosen = [
                v
                for v in variants
                if (on_gpu or v not in ("graphs", "compile")) and (v != "legacy" or batch == batches[0])
            ]
            trainers, rates, warm = {}, {v: 0.0 for v in chosen}, {}
            baseline: dict[str, float] = {}
            for variant in chosen:
                config = recipe_config(
                    recipe,
                    data=args.data,
                    out=folder,
                    batch_size=batch,
                    device=device.type,
                    cuda_graphs="on" if variant in ("graphs", "compile") else "off",
                    compile=variant == "compile",
                    progress=False,
                    **(ISSUE13_OVERRIDES if variant in ("issue13", "legacy") else {}),
                )
                torch.manual_seed(0)
                trainers[variant] = Trainer(config)
            for round_no in range(args.rounds):  # interleaved rounds, best of each: fair under shared CPUs
                order = list(trainers) if round_no % 2 == 0 else list(reversed(trainers))  # no order bias
                for variant in order:
                    if variant not in trainers:
                        continue
                    warmup = (3 if variant in ("legacy", "step") else 10) if round_no == 0 else 1
                    try:
                        rate, warm_s = measure(trainers[variant], variant, steps, warmup)
                    except Exception as error:  # a variant that fails is reported, the others still run
                        print(f"{variant:8s} {batch:6d}  FAILED: {type(error).__name__}: {str(error)[:300]}")
                        del trainers[variant]
                        continue
                    rates[variant] = max(rates[variant], rate)
                    warm.setdefault(variant, warm_s)
            for variant in trainers:
                rate, ratios = rates[variant], []
                if variant == "legacy":
                    legacy[batch] = rate
                elif batch in legacy:
                    ratios.append(f"{rate / legacy[batch]:.2f}x legacy")
                if variant == "issue13":
                    baseline[variant] = rate
                elif "issue13" in baseline and variant != "legacy":
                    ratios.append(f"{rate / baseline['issue13']:.2f}x issue13 (the recipe before issue 21)")
                reference = REFERENCE_STEPS_S.get((device.type, batch))
                if reference:
                    ratios.append(f"{rate / reference:.2f}x issue-14 reference {reference:g} steps/s")
                if variant != "legacy":
                    best[batch] = max(best.get(batch, 0.0), rate)
                figures = f"{rate:9.1f} {rate * batch:11.0f} {warm[variant]:9.1f}"
                print(f"{variant:8s} {batch:6d} {figures}  " + "; ".join(ratios), flush=True)
            del trainers
            if on_gpu:
                torch.cuda.empty_cache()
    if on_gpu and best:
        at_128 = best.get(128, 0.0)
        top_batch = max(best, key=lambda b: best[b] * b)
        top = best[top_batch] * top_batch
        met_128 = "met" if at_128 >= TARGET_STEPS_S_128 else "NOT met"
        met_top = "met" if top >= TARGET_SAMPLES_S else "NOT met"
        print(
            f"target >= {TARGET_STEPS_S_128:g} steps/s at batch 128: {at_128:.1f} ({met_128}); "
            f"target >= {TARGET_SAMPLES_S:,.0f} samples/s at the best batch: {top:,.0f} at batch {top_batch} "
            f"({met_top})"
        )
        if at_128:
            print(
                f"the {RECIPE_STEPS}-step recipe's steps alone at that rate: {RECIPE_STEPS / at_128:.0f} s "
                f"(target <= {TARGET_RECIPE_S:g} s for the whole fit: bench_train.py --recipe-fit times it)"
            )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--speed")
    group.add_argument("--speed", action="store_true", help="measure training steps/s")
    group.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    group.add_argument("--batch-sizes", default="", help="comma-separated, e.g. 128,1024")
    group.add_argument("--variants", default="", help="legacy,issue13,step,graphs,compile")
    group.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    group.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best counts")
    group.add_argument("--steps", type=int, default=0, help="timed steps per figure (default 100; CUDA 300)")
