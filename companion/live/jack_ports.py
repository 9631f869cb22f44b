"""The connections of the live player's JACK ports, kept by the serving process so that a restarted player
process gets them back (issue 26): a new process makes a new port, and JACK drops a port's connections
with the process that owned it.

The watchdog takes a snapshot of the connections while the player process is healthy and makes them again
after a restart, through a JACK client of its own that is never activated (it takes no part in JACK's
process cycle: listing and connecting ports needs no activation). Uses JACK-Client (``import jack``),
imported when first needed; without it, or without a JACK server, nothing is restored and the log says why
once.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
CLIENT_NAME = "Nudge watchdog"


class JackPorts:
    """``snapshot()`` remembers who is connected to ``ports``; ``restore()`` connects them again."""

    def __init__(self, ports: list[str]) -> None:
        self.ports = list(ports)
        self.connections: dict[str, list[str]] = {}
        self._client: Any = None
        self._broken = False

    def _jack(self) -> Any:
        if self._client is None and not self._broken:
            try:
                import jack

                jack.set_error_function(lambda text: log.debug("JACK: %s", text))
                jack.set_info_function(lambda text: log.debug("JACK: %s", text))
                self._client = jack.Client(CLIENT_NAME, no_start_server=True)
            except Exception as error:  # no JACK-Client, no libjack, no server: the player still plays
                self._broken = True
                log.warning(
                    "live MIDI: the JACK connections of %s will not be restored after a restart (%s)",
                    ", ".join(self.ports),
                    error,
                )
        return self._client

    def snapshot(self) -> None:
        """Remember the connections of every port that exists now (call while the player is healthy)."""
        client = self._jack()
        if client is None:
            return
        for name in self.ports:
            try:
                peers = [port.name for port in client.get_all_connections(name)]
            except Exception:  # the port is gone (the process is dying): keep what we had
                continue
            self.connections[name] = peers

    def restore(self) -> list[str]:
        """Connect every remembered peer again; returns the connections that could not be made."""
        client = self._jack()
        failed: list[str] = []
        if client is None:
            return failed
        for name, peers in self.connections.items():
            for peer in peers:
                try:
                    ours = client.get_port_by_name(name)
                    source, destination = (name, peer) if ours.is_output else (peer, name)
                    if peer not in [p.name for p in client.get_all_connections(name)]:
                        client.connect(source, destination)
                except Exception as error:  # the peer went meanwhile, or the server refused
                    failed.append(f"{name} -> {peer} ({error})")
        return failed

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # the server is gone: nothing to close
                log.debug("closing the JACK watchdog client failed", exc_info=True)
            self._client = None
