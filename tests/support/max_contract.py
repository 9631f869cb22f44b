"""The Max for Live device's side of the contract tests (tests/max_for_live/test_device_files.py): nudge.js
driven in node, atoms encoded and decoded as Max's [udpsend] and [udpreceive] do, and two links to the
daemon (its dispatcher on bytes, and ``nudge serve`` over loopback UDP)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "max_for_live" / "tests" / "contract_harness.js"
JS_SOURCE = (ROOT / "max_for_live" / "src" / "nudge.js").read_text(encoding="utf-8")


def max_datagram(atoms: list) -> bytes:
    """Encode a message the way Max's [udpsend] does: a whole number as int32, another number as float32."""
    builder = OscMessageBuilder(address=atoms[0])
    for atom in atoms[1:]:
        if isinstance(atom, str):
            builder.add_arg(atom, "s")
        elif isinstance(atom, int) and not isinstance(atom, bool):
            builder.add_arg(atom, "i")
        else:
            builder.add_arg(float(atom), "f")
    return builder.build().dgram


def udpreceive_atoms(datagram: bytes) -> list[list]:
    """Decode a datagram the way Max's [udpreceive] delivers it: the address, then the atoms."""
    return [[m.message.address, *m.message.params] for m in OscPacket(datagram).messages]


class NodeHarness:
    """A node script driven one JSON command per line (stdin), one JSON answer per line (stdout)."""

    def __init__(self, harness: Path):
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed (CI installs Node 20)")
        self.proc = subprocess.Popen(
            [node, str(harness)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )

    def __call__(self, op: str, **fields) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Device(NodeHarness):
    """nudge.js in node (fake Max and Live). ``init`` loads it as Live opens a set; its ``port`` is the reply
    port its launcher found (the device pings with it)."""

    def __init__(self):
        super().__init__(HARNESS)


SILENT = {"/nudge/vary/part", "/nudge/transport"}  # requests without a reply
TERMINAL = {"/nudge/pong", "/nudge/model/info", "/nudge/notes/end", "/nudge/ok", "/nudge/error"}


class BytesLink:
    """The daemon's registry and dispatcher on plain bytes (no server): Daemon.handle(datagram)."""

    def __init__(self, daemon):
        self.daemon = daemon

    def exchange(self, requests: list[list]) -> list[list]:
        replies = [d for r in requests for d in self.daemon.handle(max_datagram(r))]
        return [atoms for d in replies for atoms in udpreceive_atoms(d)]


class UdpLink:
    """``nudge serve`` over loopback UDP as in Max, for one device instance: requests from one socket
    (``udpsend``, which cannot receive), replies to another (its ``udpreceive``, on the free port its launcher
    found), which the daemon learns from the device's own ``/nudge/ping id reply_port``. Several links talk
    to one daemon at once, as several instances in one Live set do."""

    def __init__(self, port: int, replies: socket.socket):
        self.port, self.replies = port, replies
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.reply_port = replies.getsockname()[1]

    def send(self, requests: list[list]) -> None:
        for request in requests:
            if request[0] == "/nudge/ping":
                assert request[2:] == [self.reply_port], request  # the device's own port, unchanged
            self.out.sendto(max_datagram(request), ("127.0.0.1", self.port))

    def collect(self, requests: list[list]) -> list[list]:
        """Every reply to these requests (by id), read from this instance's socket; another id is a test
        failure unless it answers an earlier ping (the device pings once a second)."""
        got: list[list] = []
        for request in (r for r in requests if r[0] not in SILENT):
            parts_wanted = None
            while True:
                data, _ = self.replies.recvfrom(65536)  # the socket's timeout fails a silent daemon
                for atoms in udpreceive_atoms(data):
                    if atoms[1] != request[1]:
                        assert atoms[0] == "/nudge/pong", f"a reply meant for another request: {atoms}"
                        continue
                    got.append(atoms)
                    if atoms[0] == "/nudge/notes/begin":
                        parts_wanted = atoms[2]
                done = [a for a in got if a[0] in TERMINAL and a[1] == request[1]]
                parts = [a for a in got if a[0] == "/nudge/notes" and a[1] == request[1]]
                if done and (parts_wanted is None or len(parts) >= parts_wanted):
                    break
        return got

    def exchange(self, requests: list[list]) -> list[list]:
        self.send(requests)
        return self.collect(requests)


def wait_for_pong(port: int, replies: socket.socket, daemon: subprocess.Popen) -> None:
    """Ping until the daemon answers (it needs a moment to load the model)."""
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies.settimeout(0.2)
    for _ in range(100):
        if daemon.poll() is not None:
            pytest.fail(f"nudge serve exited: {daemon.stdout.read()}")
        out.sendto(max_datagram(["/nudge/ping", 0, replies.getsockname()[1]]), ("127.0.0.1", port))
        try:
            data, _ = replies.recvfrom(65536)
        except TimeoutError:
            continue
        if udpreceive_atoms(data)[0][0] == "/nudge/pong":
            replies.settimeout(10)
            return
    pytest.fail("nudge serve did not answer /nudge/ping within 20 s")
