"""What keeps one sender from starving the daemon before any request is read: a per-sender datagram rate
limit, and the checks that stop the daemon from talking to itself.

- ``RateLimit``: a token bucket per sender (host, source port), ``DATAGRAMS_PER_SECOND`` a second with a
  burst of as many; the table is bounded (``MAX_SENDERS``, the least recently seen sender goes first). A
  datagram over the limit is dropped unread; at most one ``/nudge/error`` a second tells the sender why
  (as DNS servers "slip" one answer in a rate-limited stream), and the log says so as often.
- ``LocalAddresses``: whether a host is this machine (loopback, or an address a socket can bind to here),
  so that a reply is never sent to the daemon's own port and a datagram from that port is never answered.
  Together with "never answer a reply or an error" (``companion.osc.dispatch``) no reply can loop.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

DATAGRAMS_PER_SECOND = 1000.0  # per sender: a device sends about 12 (pings, transport 10/s, a click's takes)
BURST_DATAGRAMS = 1000.0  # a bucket's size: a client's burst of takes and parts never meets the limit
SLIP_INTERVAL_S = 1.0  # at most one "rate limit" error a second to a sender over its limit
MAX_SENDERS = 1024  # senders whose buckets are kept
MAX_HOSTS_REMEMBERED = 64  # hosts whose "is it this machine" answer is kept


class RateLimit:
    """``admit(sender)`` -> ``"ok"``, ``"slip"`` (dropped; answer with one error) or ``"drop"``."""

    def __init__(
        self,
        rate: float = DATAGRAMS_PER_SECOND,
        burst: float = BURST_DATAGRAMS,
        capacity: int = MAX_SENDERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.capacity = rate, burst, capacity
        self._clock = clock
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()  # sender -> [tokens, time, slip]
        self.dropped = 0

    def admit(self, sender: Hashable) -> str:
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = [self.burst, now, -math.inf]
            while len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(sender)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return "ok"
        self.dropped += 1
        if now - bucket[2] >= SLIP_INTERVAL_S:
            bucket[2] = now
            return "slip"
        return "drop"

    def reason(self) -> str:
        return (
            f"rate limit: more than {self.rate:g} datagrams a second from this sender; the excess is "
            "dropped unread (this error is sent at most once a second)"
        )

    def __len__(self) -> int:
        return len(self._buckets)


class LocalAddresses:
    """``is_local(host)``: loopback, or an address of this machine (a socket can bind to it). Cached."""

    def __init__(self) -> None:
        self._known: OrderedDict[str, bool] = OrderedDict()

    def is_local(self, host: str) -> bool:
        known = self._known.get(host)
        if known is None:
            known = self._known[host] = _is_local(host)
            while len(self._known) > MAX_HOSTS_REMEMBERED:
                self._known.popitem(last=False)
        return known


def _is_local(host: str) -> bool:
    bare = host.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))  # only an address of this machine can be bound
        return True
    except OSError:
        return False
