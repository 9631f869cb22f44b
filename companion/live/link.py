"""The pipe to the live player's child process, as the serving process's link thread uses it
(``companion.live.process``): start a child, one command and its answer within a deadline, kill a stuck
child, restart a dead one (with back-off), end it. Only the link thread calls these."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.core.errors import LiveMidiError, UsageError
from companion.core.pipes import PipeReader, child_pipes, write_message
from companion.live.child import END_GRACE_S
from companion.live.jack_ports import JackPorts
from companion.live.output import MidiPortError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # the child starts Python, imports numpy and opens its ports
CALL_TIMEOUT_S = 2.0  # a command's answer; later, the child is stuck (killed and restarted)
CLOSE_TIMEOUT_S = 2.0  # to leave after "close", then SIGTERM (the child then has END_GRACE_S), then SIGKILL
RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # waits before successive restart attempts


class LivePlayerError(LiveMidiError):
    """The player process failed or is gone."""


class ChildLink:
    """One live player child at a time: ``spawn``, ``exchange``, ``kill``, ``revive``, ``end``."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._process: subprocess.Popen | None = None
        self._reader: PipeReader | None = None
        self.jack: JackPorts | None = None
        self.pid = 0
        self.restarts = 0
        self.down: str | None = None  # why the child is gone and not yet back (None: it runs)
        self.down_detail = ""
        self.next_attempt_s = 0.0
        self._attempts = 0  # failed restarts since the last death
        self._killed_why: str | None = None  # why kill() killed it (else: how it died)

    @property
    def process(self) -> subprocess.Popen | None:
        return self._process

    def _child(self) -> subprocess.Popen:
        """The child process (the link thread calls the rest only after ``spawn``)."""
        if self._process is None:
            raise LivePlayerError("the live MIDI process was never started")
        return self._process

    def _pipe_reader(self) -> PipeReader:
        if self._reader is None:
            raise LivePlayerError("the live MIDI process was never started")
        return self._reader

    def running(self) -> bool:
        return self.down is None and self._process is not None and self._process.poll() is None

    def spawn(self) -> None:
        """Start a child and wait until its ports are open; raises what kept it from starting."""
        # a fresh interpreter, not fork (the daemon has onnxruntime threads) nor multiprocessing's spawn
        # (which re-imports the caller's __main__); the pipe carries length-prefixed pickles both ways
        root = str(Path(__file__).resolve().parents[2])  # so the child finds this very companion package
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
        }
        process = self._process = subprocess.Popen(
            [sys.executable, "-m", "companion.live.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.pid = process.pid
        stdin, stdout = child_pipes(process)
        reader = self._reader = PipeReader(stdout.fileno())
        try:
            write_message(stdin, self.config)
            kind, payload = reader.read(START_TIMEOUT_S)
        except TimeoutError as error:
            process.kill()
            process.wait()
            raise LivePlayerError(
                f"the live MIDI process did not start within {START_TIMEOUT_S:g} s"
            ) from error
        except (EOFError, OSError) as error:
            process.kill()
            process.wait()
            raise LivePlayerError(
                f"the live MIDI process failed at start (exit {process.returncode})"
            ) from error
        if kind == "error":
            try:
                process.wait(CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise _rebuild(payload)
        self.port_name: str = payload["port"]
        self.clock_kind: str = payload["clock"]
        self.priority: str = payload["priority"]
        if payload.get("jack") and self.jack is None:
            self.jack = JackPorts(payload["jack"])

    def revive(self, restore: Callable[[], None]) -> bool:
        """Start a new child for a dead one and hand it what the dead one had; False while it cannot."""
        process = self._child()
        code = process.poll()
        if code is None:  # (a stuck one was killed by _kill first; this one lives)
            return True
        if self.down is None:
            why = self._killed_why or f"died ({_exit_text(code)})"
            self._killed_why = None
            self.down = self.down_detail = f"the live MIDI process {why}"
            log.error("live MIDI: %s; restarting it", self.down)
            self._attempts = 0
            self.next_attempt_s = 0.0
        if time.monotonic() < self.next_attempt_s:
            return False
        started = time.monotonic()
        for stream in child_pipes(process):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        try:
            self.spawn()
            restore()
        except (LivePlayerError, MidiPortError, ValueError, TypeError, EOFError, OSError, TimeoutError) as e:
            self._attempts += 1
            backoff = RESTART_BACKOFF_S[min(self._attempts, len(RESTART_BACKOFF_S) - 1)]
            self.next_attempt_s = time.monotonic() + backoff
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self.down_detail = f"{self.down}; it could not be restarted ({e})"
            log.error("live MIDI: %s; trying again in %.0f s", self.down_detail, backoff)
            return False
        self.restarts += 1
        log.warning(
            "live MIDI: %s; restarted it in %.2f s (pid %d, restart %d)",
            self.down,
            time.monotonic() - started,
            self.pid,
            self.restarts,
        )
        self.down = None
        self.down_detail = ""
        return True

    def end(self) -> None:
        """Close: the child ends its notes and leaves; if it does not, SIGTERM, then SIGKILL."""
        process = self._process
        if process is not None and process.poll() is None:
            stdin, _ = child_pipes(process)
            with contextlib.suppress(OSError, ValueError):
                write_message(stdin, ("close", ()))
            with contextlib.suppress(OSError):
                stdin.close()
            for stop, wait_s in ((None, CLOSE_TIMEOUT_S), (process.terminate, END_GRACE_S + 0.5)):
                if stop is not None:
                    with contextlib.suppress(OSError):
                        stop()
                try:
                    process.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                process.kill()
                process.wait()
        if process is not None:
            with contextlib.suppress(OSError, ValueError):
                child_pipes(process)[1].close()
        if self.jack is not None:
            self.jack.close()

    def exchange(self, name: str, args: tuple, quiet: bool = False) -> Any:
        """One command and its answer within CALL_TIMEOUT_S; a silent or dead child is killed (and the
        error raised, or with ``quiet`` logged: the next turn restarts it)."""
        process, reader = self._child(), self._pipe_reader()
        try:
            write_message(child_pipes(process)[0], (name, args))
            kind, payload = reader.read(CALL_TIMEOUT_S)
        except TimeoutError:
            self.kill(f"the live MIDI process did not answer {name} within {CALL_TIMEOUT_S:g} s (stuck)")
            if quiet:
                return None
            raise
        except (EOFError, OSError):
            try:
                process.wait(CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:  # its pipe is closed but it lingers: it must go
                process.kill()
                process.wait()
            if quiet:
                return None
            raise
        if kind == "error":
            error = _rebuild(payload)
            if quiet:
                log.warning("live MIDI: %s failed: %s", name, error)
                return None
            raise error
        return payload

    def kill(self, why: str) -> None:
        """A stuck child is treated like a dead one: killed here, then restarted by ``_revive``."""
        process = self._child()
        log.error("live MIDI: %s; killing it (pid %d)", why, process.pid)
        self._killed_why = why
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()


def _exit_text(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def _rebuild(payload: tuple[str, str]) -> Exception:
    kind, message = payload
    types = {
        "UsageError": UsageError,
        "MidiPortError": MidiPortError,
        "ValueError": ValueError,
        "TypeError": TypeError,
    }
    return types.get(kind, LivePlayerError)(message)
