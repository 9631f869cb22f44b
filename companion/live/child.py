"""The live player's child process (``python -m companion.live.child``), started by
``companion.live.process.LivePlayer``: it opens the MIDI ports and serves the parent's commands, framed as
length-prefixed pickles over its stdin/stdout (``companion.core.pipes``), until close, SIGTERM or the
parent's end.

It never outlives its parent, even stuck: on Linux the kernel sends it SIGTERM when the parent dies
(``PR_SET_PDEATHSIG``), elsewhere the end of its stdin tells it; and once told to end (close, SIGTERM) it
has ``END_GRACE_S`` to end its notes, after which ``faulthandler``'s watchdog thread, which needs no GIL,
ends the process (as a service manager's stop timeout would). ``health`` answers how long ago the
scheduling thread last took a turn: the parent's watchdog treats a stuck thread like a dead process.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import time
from typing import Any, BinaryIO

from companion.core.pipes import die_with_parent, read_message, write_message
from companion.live.output import MidiPortError
from companion.live.player import raise_thread_priority

log = logging.getLogger(__name__)
SIGTERM_EXIT = 128 + signal.SIGTERM  # the child's exit status after SIGTERM (it ends its notes first)
END_GRACE_S = 2.0  # from close or SIGTERM to the end of the process, whatever holds it up


def _ending() -> None:
    """From here the process ends within END_GRACE_S, even if ending the notes hangs; a later SIGTERM
    (the parent's death signal after its pipe closed, or a group's) no longer interrupts the ending."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    faulthandler.dump_traceback_later(END_GRACE_S, exit=True)


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    _ending()
    raise _Terminated


def _child_main(requests: BinaryIO, replies: BinaryIO) -> int:
    """The child: open the ports, then serve commands until close, SIGTERM or the parent's end.

    Returns the exit status: 0, or ``SIGTERM_EXIT`` after SIGTERM (the parent may then restart it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    die_with_parent()
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
        jack_ports = [p for p in (getattr(output, "jack_port", None), getattr(clock, "jack_port", None)) if p]
        ready = {"port": output.name, "clock": clock.kind, "priority": player.priority, "jack": jack_ports}
        write_message(replies, ("ready", ready))
        while True:
            try:
                name, args = read_message(requests)
            except EOFError:
                log.warning("live MIDI: the serving process is gone; ending every note")
                _ending()
                return 0
            if name == "close":
                _ending()
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
            return "ok", player.stats_snapshot()
        if name == "trace":
            return "ok", list(player.trace or [])
        if name == "clock_state":
            return "ok", player.clock.state()
        if name == "health":  # (no lock: a stuck scheduling thread may hold the player's)
            return "ok", (time.monotonic() - player.heartbeat_s, player.clock.state())
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
