"""A thin UDP server around ``Daemon.handle``: datagram in, reply datagrams out to the sender.

Listens on loopback unless told otherwise; on any other address only the allow-listed client addresses are
served (others are dropped and logged). Replies go to the sender's port, or to the port the sender asked
for with ``/nudge/ping id reply_port`` (remembered per sender, ``companion.osc.reply_routes``), or to
``reply_port`` (``--reply-port``), which wins. Replies only ever go to the sender's own host, and only
allowed senders are served at all. A background thread polls the models folder. The request loop itself
is one thread: one request at a time, which is what the single-threaded generator session wants.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable

from companion.osc.dispatch import Daemon
from companion.osc.reply_routes import ReplyRoutes

log = logging.getLogger(__name__)
RECV_BYTES = 65536  # larger than any UDP datagram, so an oversized request is seen whole and refused


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


class UdpServer:
    def __init__(
        self,
        daemon: Daemon,
        host: str = "127.0.0.1",
        port: int = 9000,
        reply_port: int | None = None,
        allow: Iterable[str] | None = None,
        allow_remote: bool = False,
        poll_seconds: float = 1.0,
    ):
        loopback = is_loopback(host)
        if not loopback and not allow_remote:
            raise ValueError(
                f"listening on {host} (beyond loopback) needs --allow-remote and --allow CLIENT_ADDR"
            )
        self.allow = {socket.gethostbyname(a) for a in allow or ()}
        if not loopback and not self.allow:
            raise ValueError("listening beyond loopback needs at least one --allow CLIENT_ADDR")
        self.daemon = daemon
        self.reply_port = reply_port
        self.routes = ReplyRoutes()
        self.poll_seconds = poll_seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.address: tuple[str, int] = self.sock.getsockname()
        self._loopback = loopback
        self._stop = threading.Event()
        self._refused: set[str] = set()
        self.requests = 0
        self.busy_seconds = 0.0

    def _allowed(self, host: str) -> bool:
        if self.allow:
            return host in self.allow or (self._loopback and ipaddress.ip_address(host).is_loopback)
        return True  # bound to loopback: only this machine can reach us

    def serve_forever(self) -> None:
        poller = threading.Thread(target=self._poll_loop, name="nudge-models-poll", daemon=True)
        poller.start()
        sock, handle = self.sock, self.daemon.handle_routed
        try:
            while not self._stop.is_set():
                try:
                    data, sender = sock.recvfrom(RECV_BYTES)
                except ConnectionResetError:  # Windows: an earlier reply met a closed port; not ours to stop
                    continue
                if self._stop.is_set():
                    break
                host = sender[0]
                if not self._allowed(host):  # before any route: a remembered port lets nothing through
                    self._refuse(host)
                    continue
                started = time.perf_counter()
                self.requests += 1
                try:
                    handled = handle(data)
                    target = self._target(sender, handled.reply_port)
                except (
                    Exception
                ):  # a bug must not stop the daemon: Daemon answers errors itself; this is a last guard
                    log.exception("internal error on a datagram from %s:%d; no reply, still serving", *sender)
                    continue
                for datagram in handled.replies:
                    try:
                        sock.sendto(datagram, target)
                    except (OSError, OverflowError) as error:  # e.g. the client is gone: log, keep serving
                        log.warning("cannot reply to %s:%d: %s", *target, error)
                        break
                self.busy_seconds += time.perf_counter() - started
        finally:
            self._stop.set()

    def _target(self, sender: tuple[str, int], asked_port: int | None) -> tuple[str, int]:
        """Where the replies to ``sender`` go: always its own host; the port: ``--reply-port``, else the one
        its last valid ping asked for (``asked_port`` remembers a new one), else its source port."""
        if self.reply_port:
            return sender[0], self.reply_port
        if asked_port is not None and self.routes.remember(sender, asked_port):
            log.info("replies to %s:%d go to port %d (asked by /nudge/ping)", *sender, asked_port)
        return self.routes.target(sender)

    def _refuse(self, host: str) -> None:
        if host not in self._refused:
            self._refused.add(host)
            log.warning("dropping requests from %s: not in the --allow list", host)
        else:
            log.debug("dropped a request from %s", host)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.daemon.poll_models()
            except Exception:  # the poller must outlive any one bad file or folder hiccup
                log.exception("polling the models folder failed; trying again in %.1f s", self.poll_seconds)

    def shutdown(self) -> None:
        """Stop ``serve_forever`` from another thread (wakes the socket with an empty datagram)."""
        self._stop.set()
        host, port = self.address
        wake = "127.0.0.1" if host in ("0.0.0.0", "") else host
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke:
            poke.sendto(b"", (wake, port))

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.daemon.counts.items())) or "none"
        mean = self.busy_seconds / self.requests * 1e3 if self.requests else 0.0
        return f"served {self.requests} datagrams (mean {mean:.2f} ms busy): {counts}"
