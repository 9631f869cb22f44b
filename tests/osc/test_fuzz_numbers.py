"""The standing fuzz's systematic half (issue 26; ``tests/osc/test_fuzz.py`` is the random half): every
numeric argument of every request gets each finite-but-absurd number, over IPv4 and IPv6, with the searches
in search processes; pings route replies to the daemon's own port; and with live MIDI on (JACK, the OSC
clock), every transport field gets them too while a pattern plays.

Targets: each datagram is answered (a reply or an error; a transport nothing or an error) and a ping
after it is answered, no internal error, no reply loop (the daemon reads only what was sent), and the live
MIDI process stays healthy (its restarts stay 0)."""

from __future__ import annotations

import socket

import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.osc.guard import RateLimit
from companion.osc.server import UdpServer
from companion.runtime.model import load_model
from companion.runtime.models_dir import ModelsDir
from tests.osc.test_fuzz import VALID, no_internal_error
from tests.osc.test_server import TIMEOUT, Running
from tests.support.jack import jack_or_skip
from tests.support.tiny_onnx import write_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# finite, and absurd for every field: float32's ends, int32's ends, past a song, past MIDI, denormal
ABSURD = [3e38, -3e38, 1e30, -1e30, 1.0e-38, 16777217.0, 1048577.0, 2.0**31 - 1, -(2.0**31), 65536.0, 1e9]
ABSURD_INTS = [2**31 - 1, -(2**31), 65536, 1_000_000_000, -1]


def cases():
    """(address, tags, args) with one numeric argument replaced, for every numeric argument."""
    for address, tags, args in VALID:
        for i, tag in enumerate(tags):
            if tag not in "if":
                continue
            for value in ABSURD + ABSURD_INTS:
                swapped = list(args)
                swapped[i] = value
                new_tags = tags[:i] + ("i" if isinstance(value, int) else "f") + tags[i + 1 :]
                yield address, new_tags, tuple(swapped)


class Client6:
    """A client of either family; ``sync`` sends a ping and returns what came before its pong."""

    def __init__(self, address: tuple):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.server = address[:2]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((address[0], 0))
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]

    def send(self, address: str, tags: str, args: tuple) -> None:
        self.sock.sendto(encode_message(address, tags, args), self.server)

    def sync(self, sync_id: int) -> list:
        self.send("/nudge/ping", "ii", (sync_id, self.port))  # (our port: whatever came before)
        got = []
        while True:
            message = decode_message(self.sock.recv(65536))
            if message.address == "/nudge/pong" and message.args[0] == sync_id:
                return got
            got.append(message)


def sweep(running: Running, client: Client6) -> tuple[int, list]:
    sent, replies = 0, []
    own = running.server.address[1]
    for sync_id, (address, tags, args) in enumerate(cases(), start=1_000_000):
        client.send(address, tags, args)
        sent += 1
        replies += client.sync(sync_id)
    client.send("/nudge/ping", "ii", (7, own))  # self-addressed: refused, nothing loops
    replies += client.sync(8)
    assert any(m.address == "/nudge/error" and "own port" in m.args[1] for m in replies)
    return sent, replies


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_every_numeric_argument_with_absurd_numbers(tmp_path, host):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_model(tmp_path / "other.onnx", name="other", styles=("rock",))
    daemon = Daemon(load_model(tmp_path / "default.onnx"), ModelsDir(tmp_path), seed=0)
    server = UdpServer(daemon, host, 0, poll_seconds=3600, rate_limit=RateLimit(1e9, 1e9), search_processes=2)
    running = Running(server)
    client = Client6(server.address)
    try:
        sent, replies = sweep(running, client)
    finally:
        client.sock.close()
        running.stop()
    internal = [m for m in replies if not no_internal_error(m)]
    print(f"\n{host}: {sent} datagrams with absurd numbers, {len(replies)} replies, {len(internal)} internal")
    assert sent > 300 and internal == [] and daemon.counts["internal"] == 0
    # read exactly what was sent (each case, its sync ping, the self-addressed ping and its sync)
    assert server.requests == 2 * sent + 2


def test_every_transport_field_with_absurd_numbers_while_live_midi_plays(tmp_path):
    from companion.live.process import LiveConfig, LivePlayer

    with jack_or_skip(64):
        write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
        player = LivePlayer(LiveConfig(api="jack", clock="osc"))
        daemon = Daemon(load_model(tmp_path / "default.onnx"), player=player, seed=0)
        running = Running(
            UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600, rate_limit=RateLimit(1e9, 1e9))
        )
        client = Client6(running.server.address)
        replies = []
        try:
            client.send("/nudge/generate", "isi", (1, "seed", 1))
            client.send("/nudge/play/start", "i", (2,))
            client.send("/nudge/transport", "ffi", (120.0, 0.0, 1))
            replies += client.sync(3)
            for i, (bpm, beat, playing) in enumerate(
                [(120.0, v, 1) for v in ABSURD]
                + [(v, 4.0, 1) for v in ABSURD]
                + [(120.0, 4.0, v) for v in ABSURD_INTS]
            ):
                tags = "ff" + ("i" if isinstance(playing, int) else "f")
                client.send("/nudge/transport", tags, (bpm, beat, playing))
                replies += client.sync(100 + i)
            client.send("/nudge/play/stop", "i", (4,))
            while (reply := decode_message(client.sock.recv(65536))).args[:1] != (4,):
                replies.append(reply)  # (the stop is answered once its note-offs are out)
            replies.append(reply)
            stats = player.stats  # the player process answers: not stuck
        finally:
            client.sock.close()
            running.stop()
            player.close()
    assert not [m for m in replies if not no_internal_error(m)]
    assert player.restarts == 0 and stats.notes_on == stats.notes_off  # answered, nothing left sounding
    assert ("/nudge/ok", (4,)) in [(m.address, m.args) for m in replies]
