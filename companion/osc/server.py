"""A thin UDP server around ``Daemon.handle_routed``: datagram in, reply datagrams out to the sender.

Listens on loopback (127.0.0.1 or ::1) unless told otherwise; on any other address only the allow-listed
client addresses are served (others are dropped and logged; the set of refused senders it remembers for
its log is bounded, ``MAX_REFUSED_REMEMBERED``). Replies go to the sender's port, or to the port the
sender asked for with ``/nudge/ping id reply_port`` (remembered per sender, ``companion.osc.reply_routes``),
or to ``reply_port`` (``--reply-port``), which wins. Replies only ever go to the sender's own host.

One request thread reads datagrams and answers at once whatever is quick (ping, model info and list, live
MIDI transport, every error); generate and vary go to the ``Scheduler``, which takes turns between senders
and feeds them to the search processes (``search_processes``; 0: a thread of this process), the live MIDI
calls that wait for the player to a thread of their own, and /nudge/model/load to a loader thread, so a
flood of generates from one client never holds up another client's ping. Before any of that, a sender
over its rate limit is dropped, and nothing is ever answered to the daemon's own port (``guard``). A
background thread polls the models folder (and reloads a changed serving model there).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from companion.core.errors import NudgeError, UsageError
from companion.osc.dispatch import Daemon
from companion.osc.guard import LocalAddresses, RateLimit
from companion.osc.replies import error_reply
from companion.osc.reply_routes import ReplyRoutes
from companion.osc.scheduler import Scheduler
from companion.osc.search_pool import SearchFailed, SearchPool

log = logging.getLogger(__name__)
RECV_BYTES = 65536  # larger than any UDP datagram, so an oversized request is seen whole and refused
MAX_REFUSED_REMEMBERED = 256  # refused sender hosts remembered (each logged once while remembered)
SWITCH_INTERVAL_S = 0.00025  # GIL hand-over while the worker searches: a ping waits about this per turn


REQUEST_NICENESS = -11  # the request thread, where allowed (PulseAudio's default for its daemon)


def raise_request_priority() -> str:
    """The calling thread (the request thread) above the searches and the machine's other work, as sound
    servers do (PulseAudio's ``nice-level = -11``), where the OS allows it; else it stays as it was."""
    if not hasattr(os, "setpriority"):
        return "unchanged"
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), REQUEST_NICENESS)
    except OSError:  # no CAP_SYS_NICE (or RLIMIT_NICE): the search processes are still below it
        log.debug("the request thread keeps its priority (nice %d not allowed)", REQUEST_NICENESS)
        return "unchanged"
    log.info("the request thread runs at nice %d", REQUEST_NICENESS)
    return f"nice {REQUEST_NICENESS}"


def resolve(host: str, port: int = 0) -> tuple[int, tuple]:
    """(address family, socket address) of ``host``: an IPv4 or IPv6 literal (``::1``, ``[::1]``,
    ``::ffff:127.0.0.1``), or a name."""
    if host.startswith("[") and host.endswith("]"):  # the bracketed form of an IPv6 literal, as in URLs
        host = host[1:-1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as error:
        raise UsageError(f"cannot resolve --host {host!r}: {error}") from error
    family, _, _, _, address = infos[0]
    return family, address


def canonical(host: str) -> str:
    """An address as compared with the allow list (an IPv4-mapped IPv6 address as its IPv4 form)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(canonical(resolve(host)[1][0])).is_loopback
    except ValueError:
        return False


class UdpServer:
    def __init__(
        self,
        daemon: Daemon,
        host: str = "127.0.0.1",
        port: int = 9000,
        reply_port: int | None = None,
        allow: Iterable[str] | None = None,
        *,
        allow_remote: bool = False,
        poll_seconds: float = 1.0,
        rate_limit: RateLimit | None = None,
        search_processes: int = 0,
    ):
        family, address = resolve(host, port)
        loopback = ipaddress.ip_address(canonical(address[0])).is_loopback
        if not loopback and not allow_remote:
            raise UsageError(
                f"listening on {host} (beyond loopback) needs --allow-remote and --allow CLIENT_ADDR"
            )
        self.allow = {canonical(resolve(a)[1][0]) for a in allow or ()}
        if not loopback and not self.allow:
            raise UsageError("listening beyond loopback needs at least one --allow CLIENT_ADDR")
        self.daemon = daemon
        self.reply_port = reply_port
        self.routes = ReplyRoutes()
        self.poll_seconds = poll_seconds
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(address)
        self.address: tuple = self.sock.getsockname()
        self._family = family
        self._loopback = loopback
        self._stop = threading.Event()
        self._refused: OrderedDict[str, int] = OrderedDict()  # host -> datagrams dropped (bounded, LRU)
        self.refused_datagrams = 0
        self.requests = 0
        self.busy_seconds = 0.0
        self.last_datagram_s = time.monotonic()  # when an allowed datagram last came (for stop_when_idle)
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit()
        self._local = LocalAddresses()
        self._port = self.address[1]
        if reply_port is not None and reply_port == self._port:
            self.sock.close()
            raise ValueError(
                f"--reply-port {reply_port} is the port the daemon listens on: replies would loop"
            )
        daemon.is_own_address = self.is_own_address
        self.ignored_own = 0  # datagrams from the daemon's own port (its replies, come back): dropped
        self.pool = SearchPool(search_processes) if search_processes else None
        if self.pool is None:  # the searches on a thread of this process (tests, --search-processes 0)
            self.scheduler = Scheduler(self._send)
        else:
            pool = self.pool
            daemon.serving.check_elsewhere = pool.preload  # a new model is checked there before it serves
            self.scheduler = Scheduler(
                self._send,
                workers=pool.size,
                runner=lambda slot, job: daemon.run_in_pool(pool, slot, job) if job.remote else job.run(),
                on_start=lambda slot: self._start_search_process(slot),
            )

    def _start_search_process(self, slot: int) -> None:
        """Slot ``slot``'s search process, started and given the serving model (on the slot's thread)."""
        if self.pool is None:
            raise RuntimeError("search processes started without a search pool")
        try:
            self.pool.start(slot, self.daemon.model)
        except (SearchFailed, NudgeError) as error:  # its first search tries again, and answers why
            if not self._stop.is_set():
                log.warning("search process %d could not start: %s", slot, error)

    def is_own_address(self, host: str, port: int) -> bool:
        """Whether (host, port) is this daemon's socket: its port, on an address of this machine."""
        return port == self._port and self._local.is_local(host)

    def _allowed(self, host: str) -> bool:
        if self.allow:
            host = canonical(host)
            return host in self.allow or (self._loopback and ipaddress.ip_address(host).is_loopback)
        return True  # bound to loopback: only this machine can reach us

    def serve_forever(self) -> None:
        poller = threading.Thread(target=self._poll_loop, name="nudge-models-poll", daemon=True)
        poller.start()
        raise_request_priority()
        self.last_datagram_s = time.monotonic()  # idle from now on, not from the construction
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
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
                if sender[1] == self._port and self.is_own_address(host, sender[1]):
                    self.ignored_own += 1  # our own reply, come back (never answered: it would loop)
                    continue
                admitted = self.rate_limit.admit(sender[:2])
                if admitted != "ok":
                    self._over_limit(sender, admitted)
                    continue
                started = time.perf_counter()
                self.last_datagram_s = time.monotonic()
                self.requests += 1
                try:
                    handled = handle(data, defer=True, sender=sender)
                    target = self._target(sender, handled.reply_port)
                    for job in handled.jobs:
                        reason = self.scheduler.submit(sender[:2], job, target)
                        if reason is not None:
                            handled.replies.append(error_reply(job.request_id, f"{job.address}: {reason}"))
                except Exception:  # a bug must not stop the daemon: Daemon answers errors itself; last guard
                    log.exception(
                        "internal error on a datagram from %s:%d; no reply, still serving", *sender[:2]
                    )
                    continue
                self._send(handled.replies, target)
                self.busy_seconds += time.perf_counter() - started
        finally:
            self._stop.set()

    def _over_limit(self, sender: tuple, admitted: str) -> None:
        if admitted == "slip":  # one error a second tells the sender why the rest goes unanswered
            log.warning("sender %s:%d is over the rate limit; dropping its excess datagrams", *sender[:2])
            self._send([error_reply(-1, self.rate_limit.reason())], self._target(sender, None))

    def _send(self, datagrams: list[bytes], target: tuple) -> None:
        for datagram in datagrams:
            try:
                self.sock.sendto(datagram, target)
            except (OSError, OverflowError) as error:  # e.g. the client is gone: log, keep serving
                log.warning("cannot reply to %s:%d: %s", target[0], target[1], error)
                break

    def _target(self, sender: tuple, asked_port: int | None) -> tuple:
        """Where the replies to ``sender`` go: always its own host; the port: ``--reply-port``, else the one
        its last valid ping asked for (``asked_port`` remembers a new one), else its source port."""
        if self.reply_port:
            return (sender[0], self.reply_port, *sender[2:])
        key = sender[:2]
        if asked_port is not None and self.routes.remember(key, asked_port):
            log.info("replies to %s:%d go to port %d (asked by /nudge/ping)", *key, asked_port)
        host, port = self.routes.target(key)
        return (host, port, *sender[2:])

    def _refuse(self, host: str) -> None:
        self.refused_datagrams += 1
        if host in self._refused:
            self._refused[host] += 1
            self._refused.move_to_end(host)
            log.debug("dropped a request from %s", host)
            return
        self._refused[host] = 1
        while len(self._refused) > MAX_REFUSED_REMEMBERED:
            self._refused.popitem(last=False)
        log.warning("dropping requests from %s: not in the --allow list", host)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.daemon.poll_models()
            except Exception:  # the poller must outlive any one bad file or folder hiccup
                log.exception("polling the models folder failed; trying again in %.1f s", self.poll_seconds)

    def stop_when_idle(self, seconds: float) -> None:
        """Shut down once no allowed datagram has come for ``seconds`` (run it in a thread of its own): a
        daemon started by the Max for Live device ends after Live, whose devices ping once a second."""
        while True:
            idle_s = time.monotonic() - self.last_datagram_s
            if idle_s >= seconds:
                log.info("no request for %.0f s: stopping (--idle-exit-seconds)", idle_s)
                self.shutdown()
                return
            if self._stop.wait(seconds - idle_s):
                return

    def shutdown(self) -> None:
        """Stop ``serve_forever`` from another thread (wakes the socket with an empty datagram)."""
        self._stop.set()
        host, port = self.address[:2]
        if host in ("0.0.0.0", "", "::"):
            host = "::1" if self._family == socket.AF_INET6 else "127.0.0.1"
        with socket.socket(self._family, socket.SOCK_DGRAM) as poke:
            poke.sendto(b"", (host, port))

    def close(self) -> None:
        self._stop.set()
        self.scheduler.close()
        if self.pool is not None:
            self.pool.close()
        self.sock.close()

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.daemon.counts.items())) or "none"
        mean = self.busy_seconds / self.requests * 1e3 if self.requests else 0.0
        searched = f"; {self.pool.summary()}" if self.pool is not None else ""
        return f"served {self.requests} datagrams (mean {mean:.2f} ms busy): {counts}{searched}"
