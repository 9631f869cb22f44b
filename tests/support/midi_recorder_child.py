"""The JACK MIDI input of ``MidiRecorder``, in a process of its own (``tests.support.jack`` starts it).

``python -m tests.support.midi_recorder_child CLIENT [--connect-to PORT] [--buffered] [--parent-pid PID]``

Opens an rtmidi JACK input ``CLIENT:in`` (a virtual port, or connected to the output ``PORT``), then
writes one JSON line per event to stdout, each flushed:

- ``["ready"]`` once the port is registered (and connected), or ``["error", KIND, REASON]`` and exit
  (``KIND`` is ``"lookup"`` where ``PORT`` does not exist, ``"other"`` otherwise);
- ``["m", MESSAGE, DELTA_S, TIME_S]`` per message: its bytes, rtmidi's delta (seconds since the previous
  message, on JACK's clock) and ``time.monotonic()`` when taken from rtmidi's queue;
- ``["drained"]`` after the messages a ``drain`` command asked for.

Streaming (the default), it looks into rtmidi's queue every ``POLL_S`` and writes each message at once.
``--buffered``, it does nothing at all until told to: rtmidi's C++ queue (65536 messages) holds what
arrives, and the command ``drain QUIET_S`` on stdin makes it write everything that arrives until nothing
has for ``QUIET_S``, then ``["drained"]`` (the parent reads while it writes: no pipe fills up).

The command ``quit``, or the end of stdin (the parent closed it, or died), ends it with ``os._exit``
WITHOUT closing the port or the client: RtMidi's ``closePort`` unregisters the port while JACK's process
callback may still be using it, and that race crashes the process now and then. Here the JACK server
notices the client's socket close and removes its ports and connections itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import sys
import time
from typing import Any, NoReturn

POLL_S = 0.001  # the look into rtmidi's queue (it has no blocking read): ~1 ms latency


def emit(out: Any, *items: object) -> None:
    out.write(json.dumps(items).encode() + b"\n")


def leave(out: Any) -> NoReturn:
    """Flush what was written and end at once: no destructor runs, so no port is ever closed here."""
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: nothing left to tell it
        out.flush()
    os._exit(0)


class Commands:
    """Lines from stdin, read without blocking longer than asked (``select`` on the raw descriptor)."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
        self.pending = b""
        self.ended = False

    def wait(self, timeout: float | None) -> list[str]:
        """Complete lines that arrived within ``timeout`` (``None``: until one does); ``ended`` at EOF."""
        lines: list[str] = []
        while not lines and not self.ended:
            readable, _, _ = select.select([self.fd], [], [], timeout)
            if not readable:
                return lines
            data = os.read(self.fd, 4096)
            if not data:
                self.ended = True
            *complete, self.pending = (self.pending + data).split(b"\n")
            lines += [line.decode().strip() for line in complete if line.strip()]
        return lines


def open_input(client_name: str, connect_to: str | None) -> Any:
    import rtmidi

    midi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client_name, queue_size_limit=65536)
    if connect_to is None:
        midi.open_virtual_port("in")
    else:
        ports = midi.get_ports()
        if connect_to not in ports:
            raise LookupError(f"JACK MIDI port {connect_to!r} not found; ports: {ports}")
        midi.open_port(ports.index(connect_to), "in")
    midi.ignore_types(sysex=True, timing=False, active_sense=True)
    return midi


def take(midi: Any, out: Any) -> int:
    """Write what rtmidi has queued; how many messages that was."""
    count = 0
    while (event := midi.get_message()) is not None:
        message, delta = event
        emit(out, "m", message, delta, time.monotonic())
        count += 1
    if count:
        out.flush()
    return count


def drain(midi: Any, out: Any, commands: Commands, quiet_s: float) -> bool:
    """Write everything that arrives until nothing has for ``quiet_s``; False if told to quit meanwhile."""
    deadline = time.monotonic() + quiet_s
    while (remaining := deadline - time.monotonic()) > 0:
        if take(midi, out):
            deadline = time.monotonic() + quiet_s
            continue
        if "quit" in commands.wait(min(POLL_S, remaining)) or commands.ended:
            return False
    emit(out, "drained")
    out.flush()
    return True


def serve(midi: Any, out: Any, buffered: bool) -> None:
    commands = Commands()
    while not commands.ended:
        if not buffered:
            take(midi, out)
        for command in commands.wait(None if buffered else POLL_S):
            name, *args = command.split()
            if name == "quit":
                return
            if name == "drain" and not drain(midi, out, commands, float(args[0])):
                return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client_name")
    parser.add_argument("--connect-to")
    parser.add_argument("--buffered", action="store_true")
    parser.add_argument("--parent-pid", type=int, help="die with this parent (Linux): SIGTERM when it goes")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    if args.parent_pid is not None:
        from tests.support.jack import _die_with_parent

        _die_with_parent()
        if os.getppid() != args.parent_pid:  # it died before the signal was asked for
            leave(out)
    try:
        midi = open_input(args.client_name, args.connect_to)
    except LookupError as error:
        emit(out, "error", "lookup", str(error))
        leave(out)
    except Exception as error:  # anything rtmidi or JACK refuses: the parent raises it with this reason
        emit(out, "error", "other", f"{type(error).__name__}: {error}")
        leave(out)
    emit(out, "ready")
    out.flush()
    with contextlib.suppress(BrokenPipeError):  # the parent stopped reading (it is gone): leave anyway
        serve(midi, out, args.buffered)
    leave(out)


if __name__ == "__main__":
    main()
