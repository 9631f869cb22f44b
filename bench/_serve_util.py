"""Shared helpers of the daemon benchmarks: bench models, starting `nudge serve`, a UDP client."""

from __future__ import annotations

import re
import selectors
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.core.osc_codec import Message, decode_message, encode_message  # noqa: E402
from companion.core.pattern import Grid  # noqa: E402
from tests.support.tiny_onnx import write_tiny_model  # noqa: E402

GMD_STYLES = (
    "afrobeat",
    "afrocuban",
    "blues",
    "country",
    "dance",
    "funk",
    "gospel",
    "highlife",
    "hiphop",
    "jazz",
    "latin",
    "middleeastern",
    "neworleans",
    "pop",
    "punk",
    "reggae",
    "rock",
    "soul",
)
REALISTIC_CONDITIONS = ("density", "syncopation", "swing", "energy", "microtiming_spread", "consistency")


def bench_models() -> list[tuple[str, Path]]:
    """The shipped default model when present; always the tiny test model and a realistic-size stand-in."""
    folder = Path(tempfile.mkdtemp(prefix="nudge-bench-"))
    models = []
    default = ROOT / "models" / "default.onnx"
    if default.is_file():
        models.append(("default.onnx (shipped)", default))
    models.append(("tiny (2 bars, latent 8, 2 conditions)", write_tiny_model(folder / "tiny.onnx")))
    realistic = write_tiny_model(
        folder / "realistic.onnx",
        grid=Grid(4, 4, 4),
        latent_dim=128,
        conditions=REALISTIC_CONDITIONS,
        styles=GMD_STYLES,
    )
    models.append(("realistic stand-in (4 bars, latent 128, 6 conditions, 18 styles)", realistic))
    return models


def start_daemon(model: Path, *extra: str) -> tuple[subprocess.Popen, int, str]:
    """Start `nudge serve` on an ephemeral port; returns (process, port, ready line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", "--model", str(model), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    line = read_line(process, 60)
    match = re.search(r"listening on [\d.]+:(\d+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"nudge serve did not start: {line!r} {process.stderr.read()}")
    return process, int(match.group(1)), line


def read_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise RuntimeError(f"no output within {timeout} s")
    return process.stdout.readline()


class Client:
    def __init__(self, port: int):
        self.target = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def receive(self) -> bytes:
        return self.sock.recvfrom(65536)[0]

    def ask(self, address: str, tags: str, *args) -> Message:
        self.send(encode_message(address, tags, args))
        return decode_message(self.receive())

    def close(self) -> None:
        self.sock.close()
