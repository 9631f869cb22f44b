"""The live player's child process (``python -m companion.live.child``), started by
``companion.live.process.LivePlayer``: it opens the MIDI ports and serves the parent's commands, framed as
length-prefixed pickles over its stdin/stdout, until close, SIGTERM or the parent's end."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

from companion.live.output import MidiPortError
from companion.live.player import raise_thread_priority

log = logging.getLogger(__name__)
SIGTERM_EXIT = 128 + signal.SIGTERM  # the child's exit status after SIGTERM (it ends its notes first)


def write_message(stream: BinaryIO, obj: object) -> None:
    """One message to the other side of the pipe: a little-endian uint32 length, then the pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<I", len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """One message from the other side of the pipe (EOFError when it closed)."""
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError("pipe closed")
    (size,) = struct.unpack("<I", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("pipe closed mid-message")
    return pickle.loads(data)  # our own child's messages only


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _child_main(requests: BinaryIO, replies: BinaryIO) -> int:
    """The child: open the ports, then serve commands until close, SIGTERM or the parent's end.

    Returns the exit status: 0, or ``SIGTERM_EXIT`` after SIGTERM (the parent may then restart it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    config = read_message(requests)  # a companion.live.process.LiveConfig
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from companion.live.clock import Clock, InternalClock, MidiClock, OscClock
    from companion.live.output import open_output
    from companion.live.player import Player

    player = None
    try:
        try:
            clock: Clock
            if config.clock == "midi":
                clock = MidiClock.open(config.api, config.clock_in, config.bpm)
            else:
                clock = (OscClock if config.clock == "osc" else InternalClock)(config.bpm)
            try:
                output = open_output(config.api, config.port)
            except Exception:
                clock.close()
                raise
            player = Player(
                output,
                clock,
                config.channel,
                config.output_pitches,
                config.switch,
                trace=[] if config.trace else None,
                realtime=config.realtime,
                pitch_overrides=dict(config.pitch_overrides),
            )
        except Exception as error:
            write_message(replies, ("error", (type(error).__name__, str(error))))
            return 1
        if (
            config.realtime
        ):  # this loop shares the GIL with the player thread: it must not be preempted holding it
            raise_thread_priority()
        write_message(
            replies, ("ready", {"port": output.name, "clock": clock.kind, "priority": player.priority})
        )
        while True:
            try:
                name, args = read_message(requests)
            except EOFError:
                log.warning("live MIDI: the serving process is gone; ending every note")
                return 0
            if name == "close":
                return 0
            write_message(replies, _dispatch(player, name, args))
    except _Terminated:
        log.info("live MIDI: SIGTERM; ending every note")
        return SIGTERM_EXIT
    finally:
        if player is not None:
            player.close()


def _dispatch(player: Any, name: str, args: tuple) -> tuple[str, Any]:
    try:
        if name == "stats":
            return "ok", player.stats
        if name == "trace":
            return "ok", list(player.trace or [])
        if name == "clock_state":
            return "ok", player.clock.state()
        if name not in ("start", "stop", "panic", "queue", "set_transport", "set_bpm", "resume"):
            raise ValueError(f"unknown live MIDI command {name!r}")
        return "ok", getattr(player, name)(*args)
    except (ValueError, TypeError, MidiPortError, RuntimeError, OSError) as error:  # OSError: rtmidi's
        return "error", (type(error).__name__, str(error))  # driver errors; the child keeps serving


def main() -> None:
    """Entry of the child process: the protocol runs on stdin/stdout; stray prints go to stderr."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.exit(_child_main(requests, replies))


if __name__ == "__main__":
    main()
