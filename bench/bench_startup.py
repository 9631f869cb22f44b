#!/usr/bin/env python3
"""Startup time and resident memory of `nudge serve`, next to a bare `import numpy, onnxruntime` process.

Ready = the first /nudge/pong received, timed from process spawn. Memory = VmRSS from /proc after start and
after 200 generate requests. Targets: ready <= 1 s and RSS <= 150 MB with the default model.

    python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
from _serve_util import ROOT, Client, bench_models, read_line, start_daemon

from companion.core.osc_codec import encode_message

BASELINE = "import numpy, onnxruntime, sys; print('ready', flush=True); sys.stdin.read()"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def baseline() -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", BASELINE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    read_line(process, 60)
    elapsed = time.perf_counter() - started
    memory = rss_mb(process.pid)
    process.communicate("")
    return elapsed, memory


def daemon(path) -> tuple[float, float, float]:
    started = time.perf_counter()
    process, port, _ = start_daemon(path)
    client = Client(port)
    try:
        client.ask("/nudge/ping", "i", 1)
        elapsed = time.perf_counter() - started
        memory = rss_mb(process.pid)
        request = encode_message("/nudge/generate", "isi", (2, "seed", 1))
        for _ in range(200):
            client.send(request)
            while not client.receive().startswith(b"/nudge/notes/end"):
                pass
        return elapsed, memory, rss_mb(process.pid)
    finally:
        client.close()
        process.terminate()
        process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = np.array([baseline() for _ in range(args.runs)])
    base_time, base_rss = np.median(base[:, 0]), np.median(base[:, 1])
    print(f"nudge startup bench: median of {args.runs} runs")
    print(
        f"baseline `import numpy, onnxruntime` process: ready {base_time * 1e3:.0f} ms, RSS {base_rss:.0f} MB"
    )
    for label, path in bench_models():
        runs = np.array([daemon(path) for _ in range(args.runs)])
        ready, rss, rss_after = (float(np.median(runs[:, i])) for i in range(3))
        print(f"\nmodel: {label}")
        ratio = ready / base_time
        print(
            f"  ready (spawn -> first pong) {ready * 1e3:6.0f} ms   {ratio:4.2f}x baseline  target <= 1000 ms"
        )
        print(
            f"  RSS after start            {rss:6.0f} MB   {rss / base_rss:4.2f}x baseline   target <= 150 MB"
        )
        print(f"  RSS after 200 generates    {rss_after:6.0f} MB   {rss_after / base_rss:4.2f}x baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
