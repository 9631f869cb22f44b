"""Time ``describe_batch`` on a daemon-sized batch, as a ratio to the plain version measured in the same run.

    python bench/bench_descriptors.py [--n 64] [--bars 4] [--repeat 30]

The reference is ``describe_batch_generic`` (plain numpy reductions over [N, V, T], the code the fast path
replaced); the results of both are checked equal before timing. Target: about 0.3 ms for 64 x 4 bars.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from companion.core.descriptors import describe_batch, describe_batch_generic
from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid


def best_ms(function, batch, grid, repeat: int, number: int) -> tuple[float, float]:
    """(best, median) time per call in ms over ``repeat`` rounds of ``number`` calls."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            function(batch, grid)
        rounds.append((time.perf_counter() - started) / number * 1e3)
    return min(rounds), float(np.median(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=64, help="patterns per batch (default 64)")
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--beats", type=int, default=4, help="beats per bar (default 4)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--number", type=int, default=20)
    args = parser.parse_args()
    grid = Grid(4, args.beats, args.bars)
    rng = np.random.default_rng(0)
    batch = rng.random((args.n, 3, N_VOICES, grid.n_steps)).astype(np.float32)  # [N, 3, V, T]
    batch[:, 0] = rng.random((args.n, N_VOICES, grid.n_steps)) < rng.uniform(0.05, 0.4, (args.n, 1, 1))
    batch[:, 2] -= 0.5
    fast, plain = describe_batch(batch, grid), describe_batch_generic(batch, grid)
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-5)
    fast_best, fast_median = best_ms(describe_batch, batch, grid, args.repeat, args.number)
    plain_best, plain_median = best_ms(describe_batch_generic, batch, grid, args.repeat, args.number)
    print(f"batch [{args.n}, 3, {N_VOICES}, {grid.n_steps}] ({args.bars} bars of {args.beats}/4, 16ths)")
    print(f"describe_batch          best {fast_best:.3f} ms  median {fast_median:.3f} ms")
    print(
        f"describe_batch_generic  best {plain_best:.3f} ms  median {plain_median:.3f} ms"
        "  (reference, same run)"
    )
    print(
        f"ratio fast / reference: {fast_best / plain_best:.3f} (best),"
        f" {fast_median / plain_median:.3f} (median);"
        f" speed-up x{plain_best / fast_best:.1f}"
    )


if __name__ == "__main__":
    main()
