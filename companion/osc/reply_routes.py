"""Where replies go: per sender (host, source port), the reply port it asked for with ``/nudge/ping id
reply_port``. For clients that send from a port they cannot receive on, such as Max's ``udpsend`` beside a
``udpreceive`` on another port.

A route only ever changes the port: replies always go to the sender's own host. The table holds at most
``capacity`` senders; the least recently used is forgotten first (a forgotten client gets its replies on its
source port until its next ping, which the device sends every second anyway).
"""

from __future__ import annotations

from collections import OrderedDict

from companion.osc.api import MAX_REPLY_ROUTES

Address = tuple[str, int]


class ReplyRoutes:
    """A bounded LRU table: sender (host, source port) -> reply port on that host."""

    def __init__(self, capacity: int = MAX_REPLY_ROUTES):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._ports: OrderedDict[Address, int] = OrderedDict()

    def remember(self, sender: Address, reply_port: int) -> bool:
        """Send later replies to ``sender`` to ``(sender host, reply_port)``; True when that is news."""
        if not 1 <= reply_port <= 65535:
            raise ValueError(f"reply_port must be in 1..65535, got {reply_port}")
        changed = self._ports.get(sender) != reply_port
        self._ports[sender] = reply_port
        self._ports.move_to_end(sender)
        while len(self._ports) > self.capacity:
            self._ports.popitem(last=False)
        return changed

    def target(self, sender: Address) -> Address:
        """Where replies to ``sender`` go: its own host, at its remembered reply port or its source port."""
        reply_port = self._ports.get(sender)
        if reply_port is None:
            return sender
        self._ports.move_to_end(sender)
        return sender[0], reply_port

    def __len__(self) -> int:
        return len(self._ports)

    def __contains__(self, sender: object) -> bool:
        return sender in self._ports
