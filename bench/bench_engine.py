#!/usr/bin/env python3
"""Where a `/nudge/generate` request's time goes inside the daemon, stage by stage, in one process.

    python bench/bench_engine.py [--model models/default.onnx] [--n 3000]

Each stage runs on its own the way ``Daemon.handle`` runs it (same model, same 64 candidates, same seed),
and is reported as p50 / p99 in ms and as its share of the whole in-process request (``Daemon.handle`` on
the request's bytes, measured in the same run: the baseline). The over-the-wire round trip adds the
socket and the client on top: ``bench_latency.py``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _serve_util import ROOT

from companion.core.descriptors import describe_batch
from companion.core.notes import pattern_to_notes
from companion.core.osc_codec import decode_packet, encode_message
from companion.core.pattern import Pattern
from companion.osc.dispatch import Daemon
from companion.osc.replies import notes_reply
from companion.osc.request import parse_request
from companion.runtime import candidates
from companion.runtime.model import load_model
from companion.runtime.search import DEFAULT_CANDIDATES


def timed(function: Callable[[], object], n: int) -> np.ndarray:
    """Milliseconds per call over ``n`` calls, after n / 10 warm-up calls."""
    for _ in range(n // 10):
        function()
    times = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        function()
        times[i] = time.perf_counter() - started
    return times * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(ROOT / "models" / "default.onnx"))
    parser.add_argument("--n", type=int, default=3000, help="calls per stage (default 3000)")
    args = parser.parse_args()
    model = load_model(args.model)
    meta = model.meta
    daemon = Daemon(model, seed=0)
    names = list(meta.condition_names)[:2]
    sliders = {name: 0.6 for name in names}
    tags = "i" + "sf" * len(names) + "si"
    request = encode_message("/nudge/generate", tags, (1, *[x for n in names for x in (n, 0.6)], "seed", 7))

    cond = candidates.condition_vector(model, sliders)
    raw = candidates.sample(model, cond, None, 7, DEFAULT_CANDIDATES)  # [64, 3, V, T]
    search = candidates.model_search(model)
    described = describe_batch(raw, meta.grid, meta.hit_threshold, search.columns)  # [64, M]
    pattern = Pattern.from_array(raw[0], meta.grid, meta.hit_threshold)
    notes = pattern_to_notes(pattern, meta.output_pitches)
    message = decode_packet(request)[0]
    stages: dict[str, Callable[[], object]] = {
        "decode + check the request": lambda: parse_request(decode_packet(request)[0], meta),
        "generator (onnxruntime, 64)": lambda: candidates.sample(model, cond, None, 7, DEFAULT_CANDIDATES),
        "descriptors of the sliders": lambda: describe_batch(
            raw, meta.grid, meta.hit_threshold, search.columns
        ),
        "normalise to 0..1": lambda: search.normaliser.transform(described),
        "decode the chosen pattern": lambda: Pattern.from_array(raw[0], meta.grid, meta.hit_threshold),
        "pattern -> notes": lambda: pattern_to_notes(pattern, meta.output_pitches),
        "encode the reply": lambda: notes_reply(1, notes, meta.grid.length_beats, "bench"),
    }
    whole = timed(lambda: daemon.handle(request), args.n)
    assert message.address == "/nudge/generate"
    print(
        f"model {Path(args.model).name}: {meta.bars} bars, latent {meta.latent_dim}, "
        f"{len(meta.conditions)} conditions, {len(meta.styles)} styles; {args.n} calls per stage"
    )
    print(f"{'stage':<30} {'p50 ms':>8} {'p99 ms':>8} {'share of p50':>13}")
    total = 0.0
    whole_p50 = float(np.percentile(whole, 50))
    for label, function in stages.items():
        times = timed(function, args.n)
        p50 = float(np.percentile(times, 50))
        total += p50
        print(f"{label:<30} {p50:>8.3f} {float(np.percentile(times, 99)):>8.3f} {p50 / whole_p50:>12.0%}")
    print(f"{'sum of the stages':<30} {total:>8.3f} {'':>8} {total / whole_p50:>12.0%}")
    whole_p99 = float(np.percentile(whole, 99))
    print(f"{'Daemon.handle (baseline)':<30} {whole_p50:>8.3f} {whole_p99:>8.3f} {1:>12.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
