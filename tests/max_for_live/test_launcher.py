"""The device's launcher (max_for_live/src/nudge_launcher.js, run by Node for Max) with the real command: it
finds `nudge` (here a `nudge` on PATH that runs this checkout's CLI), starts `nudge serve` when no daemon
answers, lets a second device instance share it, leaves a daemon started by hand alone, says when `nudge`
is missing or fails, and the daemon it started ends by itself once no device pings it."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from companion.core.osc_codec import decode_message, encode_message
from tests.support.tiny_onnx import write_tiny_model

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "max_for_live" / "tests" / "launcher_harness.js"
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def setup(tmp_path: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI installs Node 20)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nudge = bin_dir / "nudge"  # the console script pip would install, running this checkout
    nudge.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m companion.cli "$@"\n')
    nudge.chmod(nudge.stat().st_mode | stat.S_IXUSR)
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(node).parent), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path / "home"),  # no pip/pipx/conda `nudge` of this machine is found instead
        "NUDGE_RUN_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    model = write_tiny_model(tmp_path / "tiny.onnx")
    return {"node": node, "env": env, "model": model, "tmp": tmp_path, "port": free_port()}


class Instance:
    """One device's launcher in node."""

    def __init__(self, setup: dict, **options):
        options = {"port": setup["port"], "extraArgs": ["--model", str(setup["model"])], **options}
        self.proc = subprocess.Popen(
            [setup["node"], str(HARNESS), json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=setup["env"],
        )

    def ask(self, op: str, **fields) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()

    def report(self, timeout: float = TIMEOUT) -> dict:
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                pytest.fail("the launcher said nothing")
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT)


def ping(port: int, timeout: float = 0.2) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(timeout)
        client.sendto(encode_message("/nudge/ping", "i", (1,)), ("127.0.0.1", port))
        try:
            return decode_message(client.recvfrom(65536)[0]).address == "/nudge/pong"
        except TimeoutError:
            return False


def wait_until_it_answers(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ping(port):
        if time.monotonic() > deadline:
            pytest.fail(f"no daemon answered on {port}")


def test_starts_nudge_serve_shares_it_and_the_daemon_ends_after_the_last_ping(setup):
    first, second = Instance(setup, idleExitSeconds=2), Instance(setup, idleExitSeconds=2)
    try:
        first.ask("ensure")
        started = first.report()
        assert started["state"] == "starting", started
        assert f"{setup['tmp']}/bin/nudge serve (pid" in started["text"]
        wait_until_it_answers(setup["port"])
        lock = json.loads((setup["tmp"] / f"nudge-serve-{setup['port']}.json").read_text())
        assert lock["args"][:5] == ["serve", "--port", str(setup["port"]), "--idle-exit-seconds", "2"]
        second.ask("ensure")  # another instance, before or after the daemon answers: no second daemon
        assert second.report()["state"] == "running"
        first.ask("ensure")
        assert first.report()["state"] == "running"
        stopped = first.report()  # nobody pings any more: the daemon ends by itself
        text = "nudge serve stopped (no device pinged it for a while)."
        assert stopped == {"state": "stopped", "text": text}
        assert not (setup["tmp"] / f"nudge-serve-{setup['port']}.json").exists()
        assert not ping(setup["port"])
    finally:
        first.close()
        second.close()


def test_a_daemon_started_by_hand_is_left_alone(setup):
    command = [sys.executable, "-m", "companion.cli", "serve", "--model", str(setup["model"])]
    command += ["--port", str(setup["port"])]
    by_hand = subprocess.Popen(command, env=setup["env"], stderr=subprocess.PIPE)
    launcher = Instance(setup)
    try:
        wait_until_it_answers(setup["port"])
        launcher.ask("ensure")
        report = launcher.report()
        assert report["state"] == "external", report
        assert "leaves it alone" in report["text"]
        assert by_hand.poll() is None and ping(setup["port"])
        assert not (setup["tmp"] / f"nudge-serve-{setup['port']}.json").exists()
    finally:
        launcher.close()
        by_hand.terminate()
        by_hand.wait(timeout=TIMEOUT)


def test_missing_or_failing_nudge_is_reported(setup):
    setup["env"]["PATH"] = str(Path(setup["node"]).parent)  # no `nudge` anywhere it looks
    launcher = Instance(setup)
    try:
        launcher.ask("ensure")
        report = launcher.report()
        assert report["state"] == "missing" and "nudge command was not found" in report["text"]
    finally:
        launcher.close()
    setup["env"]["NUDGE_COMMAND"] = str(setup["tmp"] / "bin" / "nudge")
    failing = Instance(setup, extraArgs=["--model", str(setup["tmp"] / "absent.onnx")])
    try:
        failing.ask("ensure")
        assert failing.report()["state"] == "starting"
        report = failing.report()
        assert report["state"] == "failed" and "code 2" in report["text"], report
        assert "cannot load the model" in report["text"]
    finally:
        failing.close()


def test_a_free_reply_port_per_instance(setup):
    launcher = Instance(setup)
    try:
        launcher.ask("freeport")
        port = launcher.report()["port"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", port))  # free, as [udpreceive] needs it
    finally:
        launcher.close()


def test_a_stale_lock_whose_pid_was_reused_does_not_stop_the_start(setup):
    """Issue 23: the lock names a live process that is no `nudge serve` (its pid was reused after a crash or a
    reboot), or an old one that never bound the port: the launcher starts the daemon instead of waiting."""
    lock_file = setup["tmp"] / f"nudge-serve-{setup['port']}.json"
    other = subprocess.Popen(["sleep", "60"])  # a live process of another program, with the lock's pid
    try:
        for age_s in (0, 3600):
            lock = {"pid": other.pid, "command": "nudge", "args": ["serve"], "port": setup["port"]}
            lock_file.write_text(json.dumps({**lock, "startedMs": int((time.time() - age_s) * 1000)}))
            launcher = Instance(setup, idleExitSeconds=2)
            try:
                launcher.ask("ensure")
                report = launcher.report()
                assert report["state"] == "starting", report
                assert f"an old lock, pid {other.pid}" in report["text"]
                wait_until_it_answers(setup["port"])
                assert json.loads(lock_file.read_text())["pid"] != other.pid
                assert launcher.report()["state"] == "stopped"  # idle exit after 2 s
            finally:
                launcher.close()
    finally:
        other.kill()
        other.wait(timeout=TIMEOUT)


def test_a_lock_of_a_nudge_serve_that_never_bound_the_port_goes_stale_after_the_grace(setup):
    """A `serve` process that holds no port (hung while loading?) is waited for, but not forever."""
    lock_file = setup["tmp"] / f"nudge-serve-{setup['port']}.json"
    script = "import time, sys; time.sleep(60)"
    hung = subprocess.Popen([sys.executable, "-c", script, "serve"])  # its command line says serve
    try:
        now = int(time.time() * 1000)
        lock_file.write_text(json.dumps({"pid": hung.pid, "args": ["serve"], "startedMs": now}))
        waiting = Instance(setup)
        try:
            waiting.ask("ensure")
            report = waiting.report()
            assert report["state"] == "running" and "waiting for it to answer" in report["text"], report
        finally:
            waiting.close()
        old = int((time.time() - 120) * 1000)
        lock_file.write_text(json.dumps({"pid": hung.pid, "args": ["serve"], "startedMs": old}))
        launcher = Instance(setup, idleExitSeconds=2)
        try:
            launcher.ask("ensure")
            report = launcher.report()
            assert report["state"] == "starting" and "nothing holds the port" in report["text"], report
            wait_until_it_answers(setup["port"])
            assert launcher.report()["state"] == "stopped"
        finally:
            launcher.close()
    finally:
        hung.kill()
        hung.wait(timeout=TIMEOUT)


def test_locate_nudge_is_tried_first_and_a_remote_target_is_left_alone(setup):
    setup["env"]["PATH"] = str(Path(setup["node"]).parent)  # not on PATH: only the chosen file finds it
    launcher = Instance(setup, idleExitSeconds=2)
    try:
        launcher.ask("command", path=f"Macintosh HD:{setup['tmp']}/bin/nudge")  # as [opendialog] gives it
        launcher.ask("ensure")
        report = launcher.report()
        assert report["state"] == "starting" and f"{setup['tmp']}/bin/nudge serve" in report["text"], report
        wait_until_it_answers(setup["port"])
        assert launcher.report()["state"] == "stopped"
        launcher.ask("target", host="192.0.2.7", port=9000)
        launcher.ask("ensure")
        report = launcher.report()
        assert report["state"] == "external" and "another machine" in report["text"], report
        launcher.ask("target", host="127.0.0.1", port=setup["port"])
        launcher.ask("command", path=str(setup["tmp"] / "gone" / "nudge"))
        launcher.ask("ensure")
        report = launcher.report()
        assert report["state"] == "missing" and "chosen with Locate nudge" in report["text"], report
    finally:
        launcher.close()
