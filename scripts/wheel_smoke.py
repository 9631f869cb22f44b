"""Run by scripts/wheel_check.sh with the fresh venv's Python, in an empty folder: the installed ``nudge``
finds the model inside its own package, and its three main commands work there (issue 24).

Checks: ``companion`` is imported from the venv, not a source tree; the default model is the wheel's
``companion/models/default.onnx``; ``nudge info`` names it; ``nudge generate -o groove.mid`` writes a drum
file; ``nudge serve --port 0`` says it is listening, answers a ping and a generate over UDP (127.0.0.1), and
ends cleanly on SIGTERM. Prints one line per check; exits non-zero at the first failure.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 60.0


def check(ok: bool, what: str) -> None:
    print(f"   {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        raise SystemExit(1)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nudge", *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def serve_and_ask() -> None:
    from companion.core.osc_codec import decode_message, encode_message

    server = subprocess.Popen(
        ["nudge", "serve", "--port", "0", "--idle-exit-seconds", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        ready = re.search(r"listening on (\S+):(\d+)", line)
        check(ready is not None, f"nudge serve is ready: {line.strip()}")
        assert ready is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT_S)
            address = ("127.0.0.1", int(ready.group(2)))
            sock.sendto(encode_message("/nudge/ping", "i", (1,)), address)
            pong = decode_message(sock.recvfrom(65536)[0])
            check(pong.address == "/nudge/pong" and pong.args[2] == "default", f"ping -> {pong.address}")
            sock.sendto(encode_message("/nudge/generate", "isi", (2, "seed", 7)), address)
            replies = []
            while not replies or replies[-1].address not in ("/nudge/notes/end", "/nudge/error"):
                replies.append(decode_message(sock.recvfrom(65536)[0]))
        begin = replies[0]
        notes = sum((len(m.args) - 2) // 4 for m in replies if m.address == "/nudge/notes")
        check(
            begin.address == "/nudge/notes/begin" and notes == begin.args[2] > 0,
            f"generate -> {len(replies)} datagrams, {notes} notes over {begin.args[3]:g} beats",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
    check(code == 0, f"nudge serve ends on SIGTERM (exit {code})")


def main() -> int:
    import companion
    from companion.runtime.models_dir import DEFAULT_MODELS_DIR, default_model_path

    package = Path(companion.__file__).resolve().parent
    check(Path(sys.prefix).resolve() in package.parents, f"companion is the installed one: {package}")
    check(not any(Path.cwd().iterdir()), f"running in an empty folder: {Path.cwd()}")
    check(
        package / "models" == DEFAULT_MODELS_DIR and default_model_path().is_file(),
        f"the default model is the wheel's: {default_model_path()}",
    )
    info = run("info")
    check(info.returncode == 0 and str(default_model_path()) in info.stdout, "nudge info names it")
    generated = run("generate", "-o", "groove.mid", "--seed", "3")
    size = os.path.getsize("groove.mid") if os.path.exists("groove.mid") else 0
    check(generated.returncode == 0 and size > 100, f"nudge generate wrote groove.mid ({size} bytes)")
    serve_and_ask()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
