#!/usr/bin/env python3
"""Round-trip latency of `nudge serve` over loopback, next to a bare python-osc echo server.

Both servers run as their own processes; this process is the client. For each request kind the same
request bytes go to the daemon (which answers with its full reply: for notes, every part up to
/nudge/notes/end) and to the echo server (python-osc's BlockingOSCUDPServer, which parses the request and
sends its arguments back with python-osc's message builder). Targets: daemon p99 <= 2 ms and <= 3x echo.

    python bench/bench_latency.py [--n 400]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
from _serve_util import ROOT, Client, bench_models, read_line, start_daemon

from companion.osc_codec import decode_message, encode_message

ECHO_SERVER = """
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import BlockingOSCUDPServer

def echo(client, address, *args):
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    server.socket.sendto(builder.build().dgram, client)

dispatcher = Dispatcher()
dispatcher.set_default_handler(echo, needs_reply_address=True)
server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def round_trips(
    client: Client, request: bytes, n: int, until: bytes | None, gap_s: float = 0.0
) -> np.ndarray:
    """Seconds from send to the last reply datagram (the one starting with ``until``; None: the first)."""
    times = np.empty(n)
    for i in range(n + n // 10):  # the first tenth warms up and is dropped
        if gap_s:
            time.sleep(gap_s)
        started = time.perf_counter()
        client.send(request)
        data = client.receive()
        while until is not None and not data.startswith(until):
            if data.startswith(b"/nudge/error"):
                raise RuntimeError(f"the daemon refused the request: {data!r}")
            data = client.receive()
        if i >= n // 10:
            times[i - n // 10] = time.perf_counter() - started
    return times


def requests(client: Client, conditions: list[str]) -> tuple[dict[str, bytes], int]:
    """The requests the Max for Live device sends: every slider of the model (up to its 8 dials) and a seed;
    plus ``vary bare``, a vary with no sliders (the daemon then measures the clip to keep its character)."""
    sliders = [x for name in conditions[:8] for x in (name, 0.6)]
    tags = "i" + "sf" * (len(sliders) // 2) + "si"
    generate = encode_message("/nudge/generate", tags, (1, *sliders, "seed", 7))
    # the current clip for vary: a generated pattern of the model, sent back as notes
    client.send(generate)
    flat: list = []
    length = 0.0
    while True:
        message = decode_message(client.receive())
        if message.address == "/nudge/notes/begin":
            length = message.args[3]
        elif message.address == "/nudge/notes":
            flat += message.args[2:]
        elif message.address == "/nudge/notes/end":
            break
        else:
            raise RuntimeError(f"unexpected reply {message}")
    n = len(flat) // 4
    notes = ("notes", length, *flat)
    vary_tags = "if" + "sf" * (len(sliders) // 2) + "sisf" + "iffi" * n
    vary = encode_message("/nudge/vary", vary_tags, (2, 0.2, *sliders, "seed", 3, *notes))
    bare = encode_message("/nudge/vary", "ifsisf" + "iffi" * n, (2, 0.2, "seed", 3, *notes))
    kinds = {"ping": encode_message("/nudge/ping", "i", (3,)), "generate": generate, "vary": vary}
    return {**kinds, "vary bare": bare}, n


def fmt(times: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="round trips per request kind (default 400)")
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=0.0,
        help="idle time before each request (default 0: back to back). A producer's clicks are seconds "
        "apart; with a gap the caches go cold between requests and every figure rises",
    )
    args = parser.parse_args()
    gap_s = args.gap_ms / 1e3
    echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    echo_client = Client(int(read_line(echo, 30)))
    print(
        f"nudge latency bench: {args.n} round trips per kind over loopback, client and servers in separate "
        f"processes, {f'{args.gap_ms:g} ms apart' if gap_s else 'back to back'}; p50 / p99 in ms"
    )
    try:
        for label, path in bench_models():
            daemon, port, _ = start_daemon(path)
            client = Client(port)
            try:
                info = client.ask("/nudge/model/info", "i", 0)
                n_cond = info.args[4]
                conditions = [info.args[5 + 3 * i] for i in range(n_cond)]
                kinds, clip_notes = requests(client, conditions)
                print(f"\nmodel: {label}; vary clip of {clip_notes} notes")
                head = (
                    f"{'request':<10} {'bytes':>6} {'daemon p50':>11} {'p99':>7} {'echo p50':>9} {'p99':>7}"
                )
                print(f"  {head} {'p99 ratio':>10}")
                for kind, request in kinds.items():
                    until = b"/nudge/notes/end" if kind != "ping" else None
                    ours = fmt(round_trips(client, request, args.n, until, gap_s))
                    theirs = fmt(round_trips(echo_client, request, args.n, None, gap_s))
                    print(
                        f"  {kind:<10} {len(request):>6} {ours[0]:>11.3f} {ours[1]:>7.3f} {theirs[0]:>9.3f} "
                        f"{theirs[1]:>7.3f} {ours[1] / theirs[1]:>9.2f}x"
                    )
            finally:
                client.close()
                daemon.terminate()
                daemon.wait(10)
    finally:
        echo_client.close()
        echo.terminate()
        echo.wait(10)
    print("\ntargets: daemon p99 <= 2 ms for generate and vary, and <= 3x the echo server's p99")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
