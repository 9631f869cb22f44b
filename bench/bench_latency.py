#!/usr/bin/env python3
"""Round-trip latency of `nudge serve` over loopback, next to two bare python-osc servers.

All servers run as their own processes; this process is the client. For each request kind the same
request bytes go to the daemon (which answers with its full reply: for notes, every part up to
/nudge/notes/end) and to two baselines built on python-osc's BlockingOSCUDPServer, which do no work
beyond OSC itself. The three take turns request by request (in a rotating order), so a change in the
machine's speed during the run (a shared host's neighbours) reaches all three alike:

- ``echo``: parses the request and sends its arguments back (python-osc's message builder);
- ``replay``: parses the request and answers with the daemon's own reply to it (the same datagrams, rebuilt
  with python-osc's message builder each time): the same bytes in and out as the daemon, without the model.

Targets (issue 4): daemon p99 <= 2 ms and <= 3x the echo's p99; the bench prints a verdict for the shipped
model, with the daemon's p99 against the replay baseline too (the same bytes without the model).

The tools (issue 22): for a model with a tools graph (``NAME.tools.onnx``) the same 4-bar clip goes through
``/nudge/groove``, ``drumify``, ``continue`` (2 new bars), ``interpolate`` (the middle of 5 steps to another
clip) and ``fill``; target p99 <= 10 ms each. Generate must not get slower because a tools graph sits beside
the generator: the same generator file is benched again without its tools graph, in the same run, and the
verdict gives generate's p99 with / without as a ratio.

    python bench/bench_latency.py [--n 1000] [--gap-ms 0] [--model models/default.onnx]
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _serve_util import ROOT, Client, bench_models, read_line, start_daemon

from companion.core.osc_codec import Message, decode_message, encode_message

ECHO_SERVER = """
import pickle, sys
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import BlockingOSCUDPServer

# replay mode: {(address, args): [(address, tags, args), ...]}, the daemon's replies to known requests
replies = pickle.load(open(sys.argv[1], "rb")) if len(sys.argv) > 1 else None

def build(address, args, tags=None):
    builder = OscMessageBuilder(address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, tags[i] if tags else None)
    return builder.build().dgram

def echo(client, address, *args):
    if replies is None:
        server.socket.sendto(build(address, args), client)
        return
    for reply_address, tags, reply_args in replies[(address, args)]:
        server.socket.sendto(build(reply_address, reply_args, tags), client)

dispatcher = Dispatcher()
dispatcher.set_default_handler(echo, needs_reply_address=True)
server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_baseline(replies: Path | None = None) -> tuple[subprocess.Popen, Client]:
    """The echo server, or with ``replies`` (a pickle of the daemon's replies) the replay server."""
    command = [sys.executable, "-c", ECHO_SERVER, *([str(replies)] if replies else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return process, Client(int(read_line(process, 30)))


def stop(process: subprocess.Popen, client: Client) -> None:
    client.close()
    process.terminate()
    process.wait(10)


def reply_messages(client: Client, request: bytes, notes: bool) -> list[Message]:
    """Send ``request`` and read the daemon's whole reply: one message, or (``notes``) every part up to
    /nudge/notes/end. An error reply raises."""
    client.send(request)
    reply = [decode_message(client.receive())]
    while notes and reply[-1].address != "/nudge/notes/end":
        if reply[-1].address == "/nudge/error":
            raise RuntimeError(f"the daemon refused the request: {reply[-1]}")
        reply.append(decode_message(client.receive()))
    return reply


def daemon_replies(client: Client, requests: dict[str, bytes]) -> dict[tuple, list[tuple]]:
    """What the daemon answers to each request (seeded, so the same every time), keyed as python-osc
    hands a request to its handler: (address, args)."""
    canned = {}
    for kind, request in requests.items():
        asked = decode_message(request)  # python-osc parses it to the same Python values
        reply = reply_messages(client, request, notes=kind != "ping")
        canned[(asked.address, asked.args)] = [(m.address, m.tags, m.args) for m in reply]
    return canned


def one_trip(client: Client, request: bytes, until: bytes | None) -> float:
    """Seconds from sending ``request`` to the last reply datagram (the one starting with ``until``; None:
    the first)."""
    started = time.perf_counter()
    client.send(request)
    data = client.receive()
    while until is not None and not data.startswith(until):
        if data.startswith(b"/nudge/error"):
            raise RuntimeError(f"the server refused the request: {data!r}")
        data = client.receive()
    return time.perf_counter() - started


def round_trips(
    servers: list[tuple[Client, bytes | None]], request: bytes, n: int, gap_s: float = 0.0
) -> list[np.ndarray]:
    """``n`` round trips of ``request`` to each (client, until) of ``servers``, taking turns in a rotating
    order -> seconds per server. The first tenth of the rounds warms up and is dropped."""
    times = np.empty((len(servers), n))
    warm_up = n // 10
    for i in range(n + warm_up):
        for k in range(len(servers)):
            s = (i + k) % len(servers)
            if gap_s:
                time.sleep(gap_s)
            took = one_trip(servers[s][0], request, servers[s][1])
            if i >= warm_up:
                times[s, i - warm_up] = took
    return list(times)


def requests(client: Client, conditions: list[str]) -> tuple[dict[str, bytes], int]:
    """The requests the Max for Live device sends: every slider of the model (up to its 8 dials) and a seed;
    plus ``vary bare``, a vary with no sliders (the daemon then measures the clip to keep its character)."""
    sliders = [x for name in conditions[:8] for x in (name, 0.6)]
    tags = "i" + "sf" * (len(sliders) // 2) + "si"
    generate = encode_message("/nudge/generate", tags, (1, *sliders, "seed", 7))
    # the current clip for vary: a generated pattern of the model, sent back as notes
    reply = reply_messages(client, generate, notes=True)
    length = reply[0].args[3]  # /nudge/notes/begin: id, parts, notes, length_beats, name
    flat = [x for m in reply if m.address == "/nudge/notes" for x in m.args[2:]]
    n = len(flat) // 4
    notes = ("notes", length, *flat)
    vary_tags = "if" + "sf" * (len(sliders) // 2) + "sisf" + "iffi" * n
    vary = encode_message("/nudge/vary", vary_tags, (2, 0.2, *sliders, "seed", 3, *notes))
    bare = encode_message("/nudge/vary", "ifsisf" + "iffi" * n, (2, 0.2, "seed", 3, *notes))
    kinds = {"ping": encode_message("/nudge/ping", "i", (3,)), "generate": generate, "vary": vary}
    return {**kinds, "vary bare": bare}, n


def tool_requests(client: Client, kinds: dict[str, bytes]) -> dict[str, bytes]:
    """The five tools on the vary clip (4 bars of the model): what the device sends for each."""
    asked = decode_message(kinds["vary bare"])
    start = asked.args.index("notes")
    length, flat = asked.args[start + 1], list(asked.args[start + 2 :])
    other = reply_messages(client, encode_message("/nudge/generate", "isi", (4, "seed", 8)), notes=True)
    other_flat = [x for m in other if m.address == "/nudge/notes" for x in m.args[2:]]
    shifted = [x + length if i % 4 == 1 else x for i, x in enumerate(other_flat)]
    clip = ("notes", length, *flat)
    tags = "sf" + "iffi" * (len(flat) // 4)
    both = "sf" + "iffi" * ((len(flat) + len(shifted)) // 4)
    return {
        "groove": encode_message("/nudge/groove", "ifsi" + tags, (5, 1.0, "seed", 3, *clip)),
        "drumify": encode_message("/nudge/drumify", "isi" + tags, (6, "seed", 3, *clip)),
        "continue": encode_message("/nudge/continue", "iisi" + tags, (7, 2, "seed", 3, *clip)),
        "interpolate": encode_message(
            "/nudge/interpolate",
            "iiifsi" + both,
            (8, 5, 3, length, "seed", 3, "notes", 2 * length, *flat, *shifted),
        ),
        "fill": encode_message("/nudge/fill", "isi" + tags, (9, "seed", 3, *clip)),
    }


TOOL_KINDS = ("groove", "drumify", "continue", "interpolate", "fill")


def fmt(times: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n",
        type=int,
        default=1000,
        help="round trips per request kind (default 1000: p99 is then the 10th slowest, steadier than with "
        "a few hundred)",
    )
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=0.0,
        help="idle time before each request (default 0: back to back). A producer's clicks are seconds "
        "apart; with a gap the caches go cold between requests and every figure rises",
    )
    parser.add_argument("--model", type=Path, help="bench this model first (default: the shipped one)")
    args = parser.parse_args()
    gap_s = args.gap_ms / 1e3
    echo, echo_client = start_baseline()
    models = bench_models()
    if args.model is not None:
        models.insert(0, (f"{args.model.name} (--model)", args.model))
    shipped = models[0][0]  # the shipped default model when present
    tool_verdicts: list[tuple[str, float]] = []
    generate_request = b""
    verdicts: list[tuple[str, float, float, float]] = []
    print(
        f"nudge latency bench: {args.n} round trips per kind over loopback, client and servers in separate "
        f"processes, {f'{args.gap_ms:g} ms apart' if gap_s else 'back to back'}; p50 / p99 in ms"
    )
    try:
        for label, path in models:
            daemon, port, _ = start_daemon(path)
            client = Client(port)
            replay = None
            try:
                info = client.ask("/nudge/model/info", "i", 0)
                n_cond = info.args[4]
                conditions = [info.args[5 + 3 * i] for i in range(n_cond)]
                kinds, clip_notes = requests(client, conditions)
                if path.with_name(path.stem + ".tools.onnx").is_file():
                    kinds |= tool_requests(client, kinds)
                with tempfile.TemporaryDirectory(prefix="nudge-replay-") as folder:
                    canned = Path(folder) / "replies.pickle"
                    canned.write_bytes(pickle.dumps(daemon_replies(client, kinds)))
                    replay, replay_client = start_baseline(canned)  # has read the file once ready
                print(f"\nmodel: {label}; vary clip of {clip_notes} notes")
                head = f"{'request':<10} {'bytes':>6} {'daemon p50':>11} {'p99':>6}"
                head += f" {'echo p50':>9} {'p99':>6} {'replay p50':>11} {'p99':>6}"
                print(f"  {head}  p99 / echo  / replay")
                for kind, request in kinds.items():
                    until = b"/nudge/notes/end" if kind != "ping" else None
                    servers = [(client, until), (echo_client, None), (replay_client, until)]
                    ours, bare, same = (fmt(t) for t in round_trips(servers, request, args.n, gap_s))
                    if label == shipped and kind in ("generate", "vary"):
                        verdicts.append((kind, ours[1], ours[1] / bare[1], ours[1] / same[1]))
                    if label == shipped and kind == "generate":
                        generate_request = request
                    if label == shipped and kind in TOOL_KINDS:
                        tool_verdicts.append((kind, ours[1]))
                    print(
                        f"  {kind:<10} {len(request):>6} {ours[0]:>11.3f} {ours[1]:>6.3f} {bare[0]:>9.3f} "
                        f"{bare[1]:>6.3f} {same[0]:>11.3f} {same[1]:>6.3f}  {ours[1] / bare[1]:>10.2f}x "
                        f"{ours[1] / same[1]:>7.2f}x"
                    )
            finally:
                if replay is not None:
                    stop(replay, replay_client)
                client.close()
                daemon.terminate()
                daemon.wait(10)
    finally:
        stop(echo, echo_client)
    print(f"\nverdict, {shipped} (targets: p99 <= 2 ms, <= 3x echo; and the daemon against replay, <= 3x):")
    for kind, p99, to_echo, to_replay in verdicts:
        marks = [
            ("p99 <= 2 ms", p99 <= 2.0, f"{p99:.3f} ms"),
            ("<= 3x echo", to_echo <= 3, f"{to_echo:.2f}x"),
            ("<= 3x replay", to_replay <= 3, f"{to_replay:.2f}x"),
        ]
        said = (f"{name}: {'met' if ok else 'NOT met'} ({figure})" for name, ok, figure in marks)
        print(f"  {kind:<9} " + "  ".join(said))
    for kind, p99 in tool_verdicts:
        print(f"  {kind:<11} p99 <= 10 ms: {'met' if p99 <= 10 else 'NOT met'} ({p99:.3f} ms)")
    if tool_verdicts:
        with_tools, without = generate_with_and_without_tools(models[0][1], generate_request, args.n, gap_s)
        print(
            f"  generate, tools graph beside it: p50 / p99 {with_tools[0]:.3f} / {with_tools[1]:.3f} ms; the "
            f"same generator alone {without[0]:.3f} / {without[1]:.3f} ms (taking turns): p99 ratio "
            f"{with_tools[1] / without[1]:.2f}x (1 = unchanged)"
        )
    return 0


def generate_with_and_without_tools(
    path: Path, request: bytes, n: int, gap_s: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Generate's round trip from the model with its tools graph and from the same generator file alone,
    two daemons taking turns request by request."""
    bare = Path(tempfile.mkdtemp(prefix="nudge-bare-")) / path.name
    bare.write_bytes(path.read_bytes())
    daemons = [start_daemon(p) for p in (path, bare)]
    clients = [Client(port) for _, port, _ in daemons]
    try:
        times = round_trips([(c, b"/nudge/notes/end") for c in clients], request, n, gap_s)
        return fmt(times[0]), fmt(times[1])
    finally:
        for client, (process, _, _) in zip(clients, daemons, strict=True):
            client.close()
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
