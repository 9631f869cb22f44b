#!/usr/bin/env python3
"""The generator alone: onnxruntime on a daemon batch (64 candidates), for one or more exported graphs.

    python bench/bench_generator.py [MODEL.onnx ...]   (default: models/default.onnx)

Each graph gets the daemon's session options (one thread) and the same inputs; the graphs take turns in
rounds of 100 calls, so a change in the machine's load hits them all alike. The first graph is the baseline:
the others are reported as a ratio to it, with the largest difference of their outputs from it (two
exports of one checkpoint differ only by int8 rounding).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _serve_util import ROOT

from companion.runtime.model import load_model
from companion.runtime.search import DEFAULT_CANDIDATES

ROUNDS, CALLS = 30, 100


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", default=[str(ROOT / "models" / "default.onnx")])
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    args = parser.parse_args()
    models = [load_model(path) for path in args.models]
    meta = models[0].meta
    rng = np.random.default_rng(0)
    n = args.candidates
    z = rng.standard_normal((n, meta.latent_dim), dtype=np.float32)  # [N, latent_dim]
    cond = np.full((n, len(meta.conditions)), 0.6, dtype=np.float32)  # [N, C]
    style = rng.integers(0, len(meta.styles), n, dtype=np.int64) if meta.styles else None  # [N]
    outputs = [model.run(z, cond, style) for model in models]
    times: list[list[float]] = [[] for _ in models]
    for _ in range(ROUNDS):
        for model, record in zip(models, times, strict=True):
            for _ in range(CALLS):
                started = time.perf_counter()
                model.run(z, cond, style)
                record.append(time.perf_counter() - started)
    print(f"generator, batch of {n}, one thread; {ROUNDS} rounds of {CALLS} calls per graph, taking turns")
    print(f"{'graph':<40} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>10} {'max |diff|':>11}")
    base = float(np.percentile(times[0], 50))
    for path, record, out in zip(args.models, times, outputs, strict=True):
        p50, p99 = np.percentile(np.array(record) * 1e3, [50, 99])
        diff = float(np.abs(out - outputs[0]).max())
        print(f"{Path(path).name:<40} {p50:>8.3f} {p99:>8.3f} {p50 / (base * 1e3):>9.2f}x {diff:>11.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
