#!/usr/bin/env python3
"""What one datagram can buy (issue 26): for each kind of search, the most expensive datagram the daemon's
pricing lets through (`companion.osc.searches.price`: as many requests of the kind as fit in one maximal
search, each at the most candidates allowed), timed through `Daemon.handle` against the baseline of the same
run: one maximal search (a plain generate, 1,024 candidates, 8 bars). The kinds take turns round by round,
so a change in the machine's load reaches them alike. Target: every ratio about 1 (at most ~1.5).

    python bench/bench_pricing.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _serve_util import ROOT

from companion.core.osc_codec import encode_bundle, encode_message
from companion.osc.api import MAX_SEARCHES_PER_DATAGRAM
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model


def clip(beats: int) -> list:
    notes: list = []
    for b in range(beats):
        notes += [36, float(b), 0.25, 100, 42, b + 0.5, 0.1, 70]
    return notes


def message(address: str, request_id: int, *args) -> bytes:
    tags = "".join("s" if isinstance(x, str) else "f" if isinstance(x, float) else "i" for x in args)
    return encode_message(address, "i" + tags, (request_id, *args))


KINDS = {  # name -> (address, arguments after the id, without candidates), with the clip
    "generate 8 bars (maximal)": ("/nudge/generate", ("bars", 8)),
    "generate 1 bar": ("/nudge/generate", ("bars", 1)),
    "generate keep, 1-bar clip": ("/nudge/generate", ("keep", "kick", "notes", 4.0, *clip(4))),
    "generate keep, 8-bar clip": ("/nudge/generate", ("keep", "kick", "notes", 32.0, *clip(32))),
    "vary 0.5, 8-bar clip": ("/nudge/vary", ("notes", 32.0, *clip(32))),
    "vary 0.5 keep, 1-bar clip": ("/nudge/vary", ("keep", "kick", "notes", 4.0, *clip(4))),
    "vary 1.0 keep, 8-bar clip": ("/nudge/vary", ("keep", "kick", "notes", 32.0, *clip(32))),
}


def datagram(daemon: Daemon, address: str, args: tuple) -> tuple[bytes, int, int]:
    """The costliest datagram of this kind the pricing lets through -> (bytes, requests, candidates)."""
    amount = (1.0 if "1.0" in str(args) else 0.5,) if address == "/nudge/vary" else ()
    best = None
    for candidates in (1024, 768, 512, 341, 256, 227, 170, 128, 113, 85, 64):
        for count in range(16, 0, -1):
            requests = [
                message(address, i, *amount, "candidates", candidates, "seed", i, *args) for i in range(count)
            ]
            packet = encode_bundle(requests) if count > 1 else requests[0]
            replies = daemon.handle(packet)
            if not any(r.startswith(b"/nudge/error") for r in replies):
                work = count * candidates
                if best is None or work > best[1] * best[2]:
                    best = (packet, count, candidates)
                break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    daemon = Daemon(load_model(ROOT / "models" / "default.onnx"), seed=0)
    print(f"model: shipped default ({daemon.model.meta.bars} bars); one datagram buys "
          f"{MAX_SEARCHES_PER_DATAGRAM:g} maximal search")  # fmt: skip
    chosen = {name: datagram(daemon, *spec) for name, spec in KINDS.items()}
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(args.rounds):
        for name, (packet, _, _) in chosen.items():
            started = time.process_time()  # (CPU time: the machine's other load does not count)
            daemon.handle(packet)
            times[name].append(time.process_time() - started)
    baseline = float(np.median(times["generate 8 bars (maximal)"]))
    print(f"{'kind':<28} {'requests x candidates':>22} {'median ms (CPU)':>16} {'/ maximal':>10}")
    worst = 0.0
    for name, (_, count, candidates) in chosen.items():
        median = float(np.median(times[name]))
        worst = max(worst, median / baseline)
        print(f"{name:<28} {f'{count} x {candidates}':>22} {median * 1e3:>16.1f} {median / baseline:>9.2f}x")
    print(f"worst datagram: {worst:.2f}x one maximal search; target about 1 (<= 1.5): "
          f"{'met' if worst <= 1.5 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
