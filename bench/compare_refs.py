"""Run benchmarks in two checkouts of Nudge, taking turns, and print the ratio of each figure (B / A).

``python bench/compare_refs.py --a /path/to/old --b /path/to/new bench_engine.py bench_startup.py``

Each benchmark prints its own lines of figures; a line is matched across the two checkouts by its text with
the numbers taken out, and each of its numbers is compared as the median over the rounds. A ratio above 1
on a time is a slowdown (on a rate it is a speed-up: read the line). Rounds alternate A, B, A, B so that a
machine whose speed drifts shares the drift between the two.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def run_bench(root: Path, script: str, args: list[str]) -> list[str]:
    """One run of ``bench/SCRIPT`` inside ``root`` (its own package on the path), its output lines."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(root / "bench" / script), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{root}: bench/{script} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout.splitlines()


def figures(lines: list[str]) -> dict[str, list[float]]:
    """``{line with numbers as #: its numbers}`` for every line that holds a number."""
    out: dict[str, list[float]] = {}
    for line in lines:
        numbers = [float(n) for n in NUMBER.findall(line)]
        if numbers:
            out.setdefault(NUMBER.sub("#", line.strip()), numbers)
    return out


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--a", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--b", type=Path, required=True, help="the checkout to compare with it")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each benchmark in each checkout")
    parser.add_argument("--args", default="", help="arguments for every benchmark (one string)")
    parser.add_argument("benches", nargs="+", help="file names in bench/, e.g. bench_engine.py")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error(f"--rounds must be 1..20, got {args.rounds}")
    for script in args.benches:
        runs: dict[str, list[dict[str, list[float]]]] = {"a": [], "b": []}
        for _ in range(args.rounds):
            for side in ("a", "b"):
                root = getattr(args, side)
                runs[side].append(figures(run_bench(root, script, args.args.split())))
        print(f"== {script}: B / A, medians of {args.rounds} rounds each (A {args.a}, B {args.b})")
        for key in runs["a"][0]:
            sides = [[r[key] for r in runs[s] if key in r] for s in ("a", "b")]
            if not all(sides) or len({len(v) for v in sides[0] + sides[1]}) != 1:
                continue
            a = [statistics.median(col) for col in zip(*sides[0], strict=True)]
            b = [statistics.median(col) for col in zip(*sides[1], strict=True)]
            ratios = " ".join(f"{y / x:.2f}x" if x else "-" for x, y in zip(a, b, strict=True))
            print(f"  {key[:90]:90s}  A {a}  B {b}  B/A {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
