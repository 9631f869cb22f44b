"""What the Max for Live device stores with a Live set, and what three quick clicks cost (issue 23).

    python bench/bench_device.py [--before REV]

Runs the device (max_for_live/src/nudge.js in node, with the tests' fake Max and Live) twice in the same run:
as it is now, and as it was at ``--before`` (default 2c32ba7, before issue 23), the same scenarios for both:

- the bytes the set stores for the device after 16 takes of 8 bars from the shipped model, and after 16
  takes of a 1,024-note clip (a Nudge at amount 0 returns the clip), and how often the device called
  ``notifyclients`` (Live re-reads a Blob parameter each time) for one click of 16 takes;
- three quick Generate clicks with Takes 16 against ``nudge serve`` over real UDP: the "busy" errors the
  daemon answered, and how many takes of the last click landed within 10 s.

Figures are printed for both revisions and as ratios (now / before).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.osc.dispatch import Daemon  # noqa: E402
from companion.runtime.model import load_model  # noqa: E402
from tests.max_for_live.test_device_files import _replies_socket, nudge_serve  # noqa: E402
from tests.support.max_contract import HARNESS, BytesLink, max_datagram, udpreceive_atoms  # noqa: E402

TAKES = 16
MODEL = ROOT / "models" / "default.onnx"


class Device:
    """contract_harness.js with the device's scripts taken from ``src`` (NUDGE_M4L_SRC)."""

    def __init__(self, src: Path):
        env = {**os.environ, "NUDGE_M4L_SRC": str(src)}
        node = shutil.which("node") or "node"
        self.proc = subprocess.Popen([node, str(HARNESS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=ROOT, env=env)  # fmt: skip

    def __call__(self, op: str, **fields) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def stored_bytes(stored: dict) -> int:
    """What the set holds for the device: the [js] Blob and the parameter-enabled dicts, as JSON text."""
    dicts = stored["dicts"].values()
    return len(stored["blob"]) + sum(len(json.dumps(d, separators=(",", ":"))) for d in dicts)


def run_takes(device: Device, link: BytesLink, action: str) -> None:
    """One click of Takes 16, every take answered (the device may send them all, or two at a time)."""
    waiting = device("call", name=action)["sent"]
    while waiting:
        batch, waiting = waiting, []
        waiting += device("osc", messages=link.exchange(batch))["sent"]


def storage_figures(src: Path) -> dict:
    link = BytesLink(Daemon(load_model(MODEL), seed=0))
    device = Device(src)
    try:
        sent = device("init", port=50123)["sent"]
        device("osc", messages=link.exchange(device("osc", messages=link.exchange(sent))["sent"]))
        device("ui", values={"nudge_takes": TAKES, "nudge_bars": 8, "nudge_seedlock": 1, "nudge_seed": 1})
        before = device("stored")["stored"]["notified"]
        run_takes(device, link, "generate")
        eight_bars = device("stored")["stored"]
        notes = [{"pitch": (36, 42, 38, 46)[i % 4], "start_time": i / 32, "duration": 0.03, "velocity": 90}
                 for i in range(1024)]  # fmt: skip
        device("select_clip", slot=19, length=32, notes=notes)
        device("ui", values={"nudge_amount": 0})
        run_takes(device, link, "nudge")
        dense = device("stored")["stored"]
        return {
            "stored bytes, 16 takes of 8 bars": stored_bytes(eight_bars),
            "stored bytes, 16 takes of 1,024 notes": stored_bytes(dense),
            "notifyclients per click of 16 takes": eight_bars["notified"] - before,
        }
    finally:
        device.close()


def clicks_figures(src: Path, seconds: float = 10.0) -> dict:
    replies = _replies_socket()
    device = Device(src)
    try:
        with nudge_serve(MODEL) as (port, _daemon):
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

            def send(messages: list[list]) -> None:
                for atoms in messages:
                    out.sendto(max_datagram(atoms), ("127.0.0.1", port))

            busy, deadline = 0, time.monotonic() + 20
            send(device("init", port=replies.getsockname()[1])["sent"])
            replies.settimeout(0.2)
            while time.monotonic() < deadline:  # the daemon starts, answers the ping and the model info
                try:
                    answer = device("osc", messages=udpreceive_atoms(replies.recvfrom(65536)[0]))
                except TimeoutError:
                    send(device("advance", ms=1000)["sent"])
                    continue
                send(answer["sent"])
                if answer["ui"]["nudge_style"]["attrs"]["parameter_enum"] != ["any"]:
                    break
            values = {"nudge_takes": TAKES, "nudge_seedlock": 1, "nudge_seed": 500, "nudge_dest": 0}
            device("ui", values=values)
            for click in range(3):
                if click == 2:
                    device("ui", values={"nudge_seed": 900})
                send(device("call", name="generate")["sent"])
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    messages = udpreceive_atoms(replies.recvfrom(65536)[0])
                except TimeoutError:
                    continue
                busy += sum(m[0] == "/nudge/error" and "busy" in str(m[2]) for m in messages)
                send(device("osc", messages=messages)["sent"])
            names = [c["name"] for c in device("clips")["clips"]]
            seeds = {int(m.group(1)) for n in names if (m := re.search(r" s(\d+)", n))}
            landed = len({seed for seed in seeds if seed >= 900})
            return {
                "busy errors, 3 quick clicks of 16 takes": busy,
                "takes of the last click that landed": landed,
            }
    finally:
        device.close()
        replies.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="2c32ba7", help="the git revision to compare with")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "src"
        old.mkdir()
        tree = ["git", "ls-tree", "--name-only", f"{args.before}:max_for_live/src"]
        listing = subprocess.run(tree, cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
        for name in listing:
            data = subprocess.run(["git", "show", f"{args.before}:max_for_live/src/{name}"], cwd=ROOT,
                                  check=True, capture_output=True).stdout  # fmt: skip
            (old / name).write_bytes(data)
        rows = {}
        for label, src in ((f"before ({args.before})", old), ("now", ROOT / "max_for_live" / "src")):
            rows[label] = storage_figures(src) | clicks_figures(src)
    labels = list(rows)
    print(f"{'figure':45s} " + " ".join(f"{label:>18s}" for label in labels) + "   now/before")
    for key in rows[labels[0]]:
        a, b = rows[labels[0]][key], rows[labels[1]][key]
        ratio = f"{b / a:.3f}" if a else "-"
        print(f"{key:45s} {a:>18} {b:>18}   {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
