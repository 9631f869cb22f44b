#!/usr/bin/env python3
"""Many device instances clicking at once (issue 26): 8 clients each send Takes 16 (16 `/nudge/generate`,
one datagram each, consecutive seeds: the device's request, every slider of the model) at the same moment,
wait for all 16 replies, and do it again, 10 rounds. Prints the p50/p99/max of each request's round trip
(send to its `/nudge/notes/end`) and the busy errors, for `nudge serve` with its search processes (the
default) and, as the baseline in the same run, with `--search-processes 0` (the searches on a thread of the
daemon, as before issue 26), taking turns run by run. Target: p99 <= 100 ms, 0 busy.

One client process times every request of the 8 clients (one socket each, read with select), so that no
client's GIL holds up another's reply.

    python bench/bench_takes.py [--clients 8] [--takes 16] [--rounds 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import selectors
import socket
import time

import numpy as np
from _serve_util import ROOT, start_daemon

from companion.core.osc_codec import decode_message, encode_message

TARGET_P99_MS = 100.0
TIMEOUT_S = 30.0


def requests(conditions: list[str], takes: int, first_id: int) -> list[bytes]:
    sliders = [x for name in conditions for x in (name, 0.6)]
    tags = "i" + "sf" * len(conditions) + "si"
    return [
        encode_message("/nudge/generate", tags, (first_id + t, *sliders, "seed", 100 + t))
        for t in range(takes)
    ]


def conditions_of(port: int) -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.sendto(encode_message("/nudge/model/info", "i", (0,)), ("127.0.0.1", port))
        info = decode_message(sock.recv(65536))
    return [info.args[5 + 3 * i] for i in range(info.args[4])][:8]


def run_rounds(port: int, clients: int, takes: int, rounds: int) -> tuple[list[float], int, int]:
    """-> (round trip seconds of every request, busy errors, other errors)."""
    conditions = conditions_of(port)
    socks = []
    for _ in range(clients):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    times: list[float] = []
    busy = errors = 0
    with selectors.DefaultSelector() as selector:
        for i, sock in enumerate(socks):
            selector.register(sock, selectors.EVENT_READ, i)
        for r in range(rounds):
            sent: dict[tuple[int, int], float] = {}
            batches = [requests(conditions, takes, 1000 * r) for _ in socks]
            for i, sock in enumerate(socks):  # every client clicks at once
                for t, datagram in enumerate(batches[i]):
                    sent[(i, 1000 * r + t)] = time.perf_counter()
                    sock.sendto(datagram, ("127.0.0.1", port))
            deadline = time.monotonic() + TIMEOUT_S
            while sent and time.monotonic() < deadline:
                for key, _ in selector.select(1.0):
                    i = key.data
                    while True:
                        try:
                            data = socks[i].recv(65536)
                        except BlockingIOError:
                            break
                        if data.startswith(b"/nudge/notes/end"):
                            request_id = decode_message(data).args[0]
                            times.append(time.perf_counter() - sent.pop((i, request_id)))
                        elif data.startswith(b"/nudge/error"):
                            message = decode_message(data)
                            sent.pop((i, message.args[0]), None)
                            busy += "busy" in message.args[1]
                            errors += "busy" not in message.args[1]
            errors += len(sent)  # lost
    for sock in socks:
        sock.close()
    return times, busy, errors


def measure(label: str, extra: tuple[str, ...], args: argparse.Namespace) -> tuple[float, int]:
    process, port, _ = start_daemon(ROOT / "models" / "default.onnx", *extra)
    try:
        run_rounds(port, 1, 2, 1)  # the search processes up and the model loaded in them
        times, busy, errors = run_rounds(port, args.clients, args.takes, args.rounds)
    finally:
        process.terminate()
        process.wait(10)
    ms = np.array(times) * 1e3
    p50, p99, top = (float(np.percentile(ms, q)) for q in (50, 99, 100))
    print(f"  {label:<28} {len(ms):>5} {p50:>8.1f} {p99:>8.1f} {top:>8.1f} {busy:>5} {errors:>6}")
    return p99, busy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--takes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1, help="runs of each daemon, taking turns (default 1)")
    args = parser.parse_args()
    print(f"{args.clients} clients x {args.takes} takes x {args.rounds} rounds, shipped model; round trip ms")
    print(f"  {'daemon':<28} {'n':>5} {'p50':>8} {'p99':>8} {'max':>8} {'busy':>5} {'errors':>6}")
    verdicts = []
    for _ in range(args.runs):
        measure("one thread (--search-processes 0)", ("--search-processes", "0"), args)
        verdicts.append(measure("search processes (default)", (), args))
    for p99, busy in verdicts:
        met = p99 <= TARGET_P99_MS and busy == 0
        print(f"search processes: p99 {p99:.1f} ms, {busy} busy; target p99 <= {TARGET_P99_MS:g} ms, 0 busy: "
              f"{'met' if met else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
