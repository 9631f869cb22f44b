"""``nudge serve``: load a model, listen for OSC requests, answer with patterns (and play them live)."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from companion.core.errors import NudgeError
from companion.osc.dispatch import Daemon
from companion.osc.search_pool import default_size
from companion.runtime.model import Model, ModelError, load_model
from companion.runtime.model_info import check_fits
from companion.runtime.models_dir import DEFAULT_MODELS_DIR, ModelsDir, default_model_path

log = logging.getLogger(__name__)
STOP_HINT = "press Ctrl+C to stop"


def port_number(low: int) -> Callable[[str], int]:
    """An argparse type: a UDP port in low..65535 (an out-of-range port would fail at the first send)."""

    def parse(text: str) -> int:
        try:
            port = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int in {low}..65535, got {text!r}") from None
        if not low <= port <= 65535:
            raise argparse.ArgumentTypeError(f"must be an int in {low}..65535, got {port}")
        return port

    return parse


def seconds_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of seconds in low..high (NaN and inf refused)."""

    def parse(text: str) -> float:
        try:
            seconds = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds in {low:g}..{high:g}, got {text!r}"
            ) from None
        if not low <= seconds <= high:  # also refuses NaN and inf
            raise argparse.ArgumentTypeError(f"must be a number of seconds in {low:g}..{high:g}, got {text}")
        return seconds

    return parse


def search_processes(text: str) -> int:
    """An argparse type: a count of search processes, 0..16."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int in 0..16, got {text!r}") from None
    if not 0 <= count <= 16:
        raise argparse.ArgumentTypeError(f"must be an int in 0..16, got {count}")
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model file (default: MODELS_DIR/default.onnx)")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=DEFAULT_MODELS_DIR,
        help=f"folder of .onnx models, polled for new and changed files (default: {DEFAULT_MODELS_DIR})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number(0),
        default=9000,
        help="UDP port to listen on, 0..65535 (default 9000; 0 = any)",
    )
    parser.add_argument(
        "--reply-port",
        type=port_number(1),
        help="send replies to this port, 1..65535 (default: the sender's port)",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow --host beyond loopback (needs --allow as well)"
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CLIENT_ADDR",
        help="client address allowed to send requests (repeat for several); others are dropped and logged",
    )
    parser.add_argument(
        "--poll-seconds",
        type=seconds_in(0.05, 3600),
        default=1.0,
        help="models folder poll interval (default 1)",
    )
    parser.add_argument(
        "--idle-exit-seconds",
        type=seconds_in(1, 86400),
        help="stop after this many seconds without a request, 1..86400 (the Max for Live device starts "
        "the daemon with 60: it pings once a second, so the daemon ends after Live)",
    )
    parser.add_argument(
        "--search-processes",
        type=search_processes,
        default=default_size(),
        metavar="N",
        help="processes that run the searches, 0..16 (default: one per core, at most 4: "
        f"{default_size()} here); 0 runs them on a thread of the daemon, where they slow its pings down",
    )
    from companion.live import options as live  # imported when the command is built: it pulls in rtmidi

    live.add_live_arguments(parser)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    models = ModelsDir(args.models_dir) if args.models_dir.is_dir() else None
    path = args.model or default_model_path(args.models_dir)
    try:
        model = check_fits(load_model(path))  # (Daemon checks again; here before any MIDI port opens)
    except ModelError as error:
        print(f"nudge serve: cannot load the model: {error}", file=sys.stderr)
        if args.model is None:
            print("  (train and export one with nudge-train, or pass --model PATH)", file=sys.stderr)
        return 2
    from companion.live import options as live

    try:
        player = live.player_from_args(args, model.meta)
    except NudgeError as error:  # bad --drum-map, unknown --midi-out port, no MIDI API
        print(f"nudge serve: {error}", file=sys.stderr)
        return 2
    from companion.osc.server import UdpServer

    daemon = Daemon(model, models, player)
    daemon.serving.listeners.append(_print_model_change)
    try:
        server = UdpServer(
            daemon,
            args.host,
            args.port,
            args.reply_port,
            args.allow,
            allow_remote=args.allow_remote,
            poll_seconds=args.poll_seconds,
            search_processes=args.search_processes,
        )
    except (NudgeError, OSError) as error:  # --host, --allow; the port is taken
        print(f"nudge serve: {_listen_error(error, args.host, args.port)}", file=sys.stderr)
        if player is not None:
            player.close()
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if player is not None:
        live.install_signal_handlers(player)  # every note ends on SIGINT/SIGTERM, then the above runs
    host, port = server.address[:2]  # (an IPv6 address has four parts)
    host = f"[{host}]" if ":" in host else host
    ready_ms = (time.perf_counter() - started) * 1e3
    print(
        f"nudge serve: listening on {host}:{port}, model {model.name} ({model.path}), "
        f"live MIDI {'on' if player else 'off'}, ready in {ready_ms:.0f} ms; {STOP_HINT}",
        flush=True,
    )
    log.info("conditions %s, styles %s", list(model.meta.condition_names), list(model.meta.styles))
    if args.idle_exit_seconds:
        watch = threading.Thread(target=server.stop_when_idle, args=(args.idle_exit_seconds,), daemon=True)
        watch.start()
        print(f"nudge serve: stops after {args.idle_exit_seconds:g} s without a request", flush=True)
    else:
        print("nudge serve: to start it at login instead of by hand: nudge service install", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if player is not None:
            player.close()
        server.close()
        log.info(server.summary())
    return 0


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _listen_error(error: Exception, host: str, port: int) -> str:
    """The user's words for a socket that cannot listen: a taken port says who may hold it and --port."""
    if isinstance(error, OSError) and error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return (
            f"{where} is taken: another nudge serve or another program holds it. Stop that one, or "
            f"listen on another port with --port N (and send your OSC requests there)"
        )
    return str(error)


def _print_model_change(new: Model, old: Model, why: str) -> None:
    print(f"nudge serve: now serving model {new.name} ({new.path}; was {old.name}; {why})", flush=True)
