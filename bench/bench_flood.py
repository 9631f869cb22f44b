#!/usr/bin/env python3
"""Pings and generates of one client while another floods `nudge serve` with maximal bundles (issue 17).

A measuring client sends, in turn, `/nudge/ping` and a plain `/nudge/generate` (the device's request: the
model's bars, 64 candidates) and times each round trip (up to the reply's last datagram). First alone
(the baseline of the same run), then while a flooding client sends `--rate` bundles a second, each the
largest the daemon takes: 16 x `/nudge/generate bars 8 candidates 1024` (1,232 bytes), and reads what
comes back. Prints p50/p99 per kind, alone and flooded, their ratio, what the flooder got (answers, busy
and over-budget errors) and the verdict for the target: ping p99 <= 5 ms while flooded.

`--before REV` runs the same against a git revision of this repository as well (exported to a temp
folder and served from there), e.g. the commit before the change, for a before/after in one run.

    python bench/bench_flood.py [--seconds 10] [--rate 30] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _serve_util import ROOT, read_line

from companion.core.osc_codec import decode_message, encode_bundle, encode_message

TARGET_PING_P99_MS = 5.0
REPLY_TIMEOUT_S = 10.0


def serve(root: Path, model: Path, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int]:
    """`nudge serve` from the checkout at ``root`` on an ephemeral port."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", "--model", str(model), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=root,
        env=env,
    )
    line = read_line(process, 60)
    return process, int(line.split("listening on ")[1].split(",")[0].rsplit(":", 1)[1])


def round_trip(sock: socket.socket, port: int, request: bytes, last: str, request_id: int) -> float | None:
    """Seconds until the reply ``last`` (or an error) with ``request_id``; None after REPLY_TIMEOUT_S (a late
    reply to an earlier request, which has another id, is skipped)."""
    started = time.perf_counter()
    sock.sendto(request, ("127.0.0.1", port))
    try:
        while True:
            reply = decode_message(sock.recv(65536))
            if reply.address in (last, "/nudge/error") and reply.args[0] == request_id:
                return time.perf_counter() - started
            if time.perf_counter() - started > REPLY_TIMEOUT_S:
                return None
    except TimeoutError:
        return None


def measure(port: int, seconds: float) -> dict[str, list[float | None]]:
    """Pings and generates in turn for ``seconds`` (at least 20 of each, within 3 x ``seconds``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(REPLY_TIMEOUT_S)
    times: dict[str, list[float | None]] = {"ping": [], "generate": []}
    started = time.monotonic()
    request_id = 0
    while time.monotonic() - started < seconds or (
        min(len(v) for v in times.values()) < 20 and time.monotonic() - started < 3 * seconds
    ):
        request_id += 1
        ping = encode_message("/nudge/ping", "i", (request_id,))
        times["ping"].append(round_trip(sock, port, ping, "/nudge/pong", request_id))
        time.sleep(0.01)  # a device's pace, not a tight loop
        request_id += 1
        generate = encode_message("/nudge/generate", "isi", (request_id, "seed", 7))
        times["generate"].append(round_trip(sock, port, generate, "/nudge/notes/end", request_id))
        time.sleep(0.01)
    sock.close()
    return times


class Flooder:
    """Sends ``rate`` maximal bundles a second to ``port`` and counts what comes back."""

    def __init__(self, port: int, rate: float) -> None:
        self.port, self.rate = port, rate
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        request = ("isisi", (0, "bars", 8, "candidates", 1024))
        self.bundle = encode_bundle(
            [encode_message("/nudge/generate", request[0], (i, *request[1][1:])) for i in range(16)]
        )
        self.sent = 0
        self.answers = self.busy = self.over_budget = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._send, daemon=True),
            threading.Thread(target=self._read),
        ]

    def __enter__(self) -> Flooder:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.sock.close()

    def _send(self) -> None:
        started = time.perf_counter()
        while not self._stop.is_set():
            self.sock.sendto(self.bundle, ("127.0.0.1", self.port))
            self.sent += 1
            self._stop.wait(max(0.0, started + self.sent / self.rate - time.perf_counter()))

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if data.startswith(b"/nudge/notes/end"):
                self.answers += 1
            elif data.startswith(b"/nudge/error"):
                reason = decode_message(data).args[1]
                self.busy += "busy" in reason
                self.over_budget += "candidate-bars" in reason or "maximal search" in reason


def stats(values: list[float | None]) -> tuple[float, float, int]:
    done = [v * 1e3 for v in values if v is not None]
    lost = len(values) - len(done)
    if not done:
        return float("nan"), float("nan"), lost
    return float(np.percentile(done, 50)), float(np.percentile(done, 99)), lost


def run(label: str, root: Path, model: Path, seconds: float, rate: float, extra: tuple = ()) -> float:
    process, port = serve(root, model, extra)
    try:
        alone = measure(port, seconds / 2)
        # the flooder is a process of its own, as another client is: in this one, its reader thread would
        # hold the GIL while the measuring client's reply waits to be timed (5 ms switch interval)
        flooder = subprocess.Popen(
            [sys.executable, __file__, "--flood-port", str(port), "--rate", str(rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            flooded = measure(port, seconds)
        finally:
            counts, _ = flooder.communicate("", timeout=30)  # its stdin closes: it stops and reports
        sent, answers, busy, over_budget = (int(x) for x in counts.split())
    finally:
        process.terminate()
        process.wait(10)
    print(f"\n{label} ({sent} bundles sent while measuring; flooder got {answers} answers, "
          f"{busy} busy and {over_budget} over-budget errors)")  # fmt: skip
    print(f"{'request':<9} {'alone p50/p99 ms':>18} {'flooded p50/p99 ms':>20} {'ratio p99':>10} {'lost':>5}")
    ping_p99 = float("nan")
    for kind in alone:
        a50, a99, _ = stats(alone[kind])
        f50, f99, lost = stats(flooded[kind])
        ping_p99 = f99 if kind == "ping" else ping_p99
        print(f"{kind:<9} {a50:>8.2f} / {a99:<8.2f} {f50:>9.2f} / {f99:<9.2f} {f99 / a99:>9.1f}x {lost:>5}")
    return ping_p99


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="flooded measuring time (default 10)")
    parser.add_argument("--rate", type=float, default=30.0, help="maximal bundles a second (default 30)")
    parser.add_argument(
        "--before", help="a git revision to measure as well (e.g. the commit before a change)"
    )
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.onnx")
    parser.add_argument(
        "--threaded", action="store_true", help="measure this checkout with --search-processes 0 as well"
    )
    parser.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)  # (the flooder's own process)
    args = parser.parse_args()
    if args.flood_port:
        with Flooder(args.flood_port, args.rate) as flood:
            sys.stdin.read()  # until the bench closes our stdin
        print(flood.sent, flood.answers, flood.busy, flood.over_budget, flush=True)
        return
    print(f"model {args.model}, flood {args.rate:g} bundles/s of 16 x generate bars 8 candidates 1024")
    results = []
    if args.before:
        with tempfile.TemporaryDirectory(prefix="nudge-before-") as folder:
            archive = subprocess.run(
                ["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
            results.append(
                ("before", run(f"before: {args.before}", Path(folder), args.model, args.seconds, args.rate))
            )
    if args.threaded:  # the searches on a thread of the daemon, as before issue 26: a baseline in this run
        label = "this checkout, --search-processes 0"
        extra = ("--search-processes", "0")
        results.append((label, run(label, ROOT, args.model, args.seconds, args.rate, extra)))
    results.append(("this checkout", run("this checkout", ROOT, args.model, args.seconds, args.rate)))
    for label, p99 in results:
        verdict = "met" if p99 <= TARGET_PING_P99_MS else "NOT met"
        print(f"{label}: ping p99 {p99:.2f} ms while flooded; target <= {TARGET_PING_P99_MS:g} ms: {verdict}")


if __name__ == "__main__":
    main()
