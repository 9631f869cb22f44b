"""The live player in a process of its own: what ``nudge serve --midi`` uses.

Why a process: in one Python process, a generation request (or an OSC thread) that holds the GIL and is
then preempted by the OS makes the player thread wait for it, however high its priority (a priority
inversion through the GIL, several ms on a loaded machine; see bench/bench_jitter.py). In its own process
the scheduling thread shares the GIL only with the child's command loop (``companion/live/child.py``),
which runs at real-time priority too.

``LivePlayer`` has the ``Player`` interface (start, stop, panic, queue, set_transport, close); each call is
a small synchronous message over a pipe, so errors surface in the caller and ``stop`` returns after the
note-offs are out. The child ends every note and sends CC 123 when told to close, when it gets SIGTERM,
and when its parent vanishes (even killed with SIGKILL: the pipe closes). It ignores SIGINT: Ctrl-C in a
terminal reaches the whole process group, and the parent's handler closes the player.

A child that dies on its own (a crash, kill -9) is restarted by a watchdog thread of the parent, at once:
the new one first sends all-notes-off (the dead one could not end its notes), then gets the last queued
pattern, the tempo and the clock's position (extrapolated from the line the watchdog keeps reading), and
plays on in time. A call that meets a dead child waits for that restart and then runs; when the restart
fails, calls answer why and the watchdog tries again later (``RESTART_BACKOFF_S``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from companion.core.drum_map import OUTPUT_PITCHES
from companion.core.errors import LiveMidiError, UsageError
from companion.core.pattern import Pattern
from companion.live.child import SIGTERM_EXIT, read_message, write_message
from companion.live.output import MidiPortError
from companion.live.player import PlayerStats
from companion.live.timeline import SWITCH_MODES

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # the child starts Python, imports numpy and opens its ports
CLOSE_TIMEOUT_S = 5.0
WATCH_INTERVAL_S = 0.25  # the watchdog reads the child's clock line this often (and sees a death at once)
RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # waits before successive restart attempts
SIGTERM_GRACE_S = 0.5  # a child ended by SIGTERM: the parent may be stopping too (a group's SIGTERM)


@dataclass(frozen=True)
class LiveConfig:
    """Everything the child needs to open its ports and clock (picklable)."""

    api: str = "auto"
    port: str | None = None
    channel: int = 10
    output_pitches: tuple[int, ...] = OUTPUT_PITCHES
    pitch_overrides: tuple[tuple[str, int], ...] = ()  # --drum-map {voice: pitch}, as pairs
    switch: str = "bar"
    clock: str = "internal"  # internal, midi, osc
    clock_in: str | None = None
    bpm: float = 120.0
    realtime: bool = True
    trace: bool = False  # keep (due, sent, message) per message, for the benchmark
    log_level: int = field(default=logging.WARNING)


class LivePlayerError(LiveMidiError):
    """The player process failed or is gone."""


class LivePlayer:
    """A ``Player`` running in a child process (``python -m companion.live.child``); same methods."""

    def __init__(self, config: LiveConfig) -> None:
        if config.switch not in SWITCH_MODES:
            raise UsageError(f"switch must be one of {', '.join(SWITCH_MODES)}, got {config.switch!r}")
        self.config = config
        self.switch = config.switch
        # re-entrant: a signal handler may close the player while the main thread waits in a call
        self._lock = threading.RLock()
        self._closed = False
        self.restarts = 0
        self._down: str | None = None  # why the child is gone and not yet back (None: it runs)
        self._attempts = 0  # failed restarts since the last death
        self._next_attempt_s = 0.0
        # what a restarted child needs to carry on: the last queue, start/stop, tempo and the clock line
        self._queued: tuple[Pattern, tuple[int, ...] | None] | None = None
        self._running = False
        self._bpm: float | None = None
        self._clock_state: Any = None  # the child's last ClockState (companion.live.clock)
        self._spawn()
        self._watchdog = threading.Thread(target=self._watch, name="nudge-live-watchdog", daemon=True)
        self._watchdog.start()

    def _spawn(self) -> None:
        """Start a child and wait until its ports are open; raises what kept it from starting."""
        # a fresh interpreter, not fork (the daemon has onnxruntime threads) nor multiprocessing's spawn
        # (which re-imports the caller's __main__); the pipe carries length-prefixed pickles both ways
        root = str(Path(__file__).resolve().parents[2])  # so the child finds this very companion package
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "companion.live.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.pid = self._process.pid
        try:
            write_message(self._process.stdin, self.config)
            kind, payload = self._read_with_timeout(START_TIMEOUT_S)
        except (EOFError, OSError) as error:
            self._process.kill()
            self._process.wait()
            raise LivePlayerError(
                f"the live MIDI process failed at start (exit {self._process.returncode})"
            ) from error
        if kind == "error":
            self._process.wait(CLOSE_TIMEOUT_S)
            raise _rebuild(payload)
        self.port_name: str = payload["port"]
        self.clock_kind: str = payload["clock"]
        self.priority: str = payload["priority"]

    def _read_with_timeout(self, timeout: float) -> Any:
        result: list = []
        reader = threading.Thread(
            target=lambda: result.append(_guarded_read(self._process.stdout)), daemon=True
        )
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self._process.kill()  # the read then ends with EOF
            reader.join()
            raise LivePlayerError(f"the live MIDI process did not start within {timeout:g} s")
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            if self._closed:
                raise LivePlayerError("the live MIDI player is closed")
            for attempt in (1, 2):  # a child that died under this call: restart it, then once more
                if self._down is not None or self._process.poll() is not None:
                    self._revive(by_call=True)
                try:
                    write_message(self._process.stdin, (name, args))
                    kind, payload = read_message(self._process.stdout)
                    break
                except (EOFError, OSError) as error:
                    if attempt == 2:
                        raise LivePlayerError(
                            f"the live MIDI process is gone (exit {self._process.poll()})"
                        ) from error
                    try:  # its pipe broke: it is ending (or must), then it is restarted
                        self._process.wait(CLOSE_TIMEOUT_S)
                    except subprocess.TimeoutExpired:
                        self._process.kill()
                        self._process.wait()
        if kind == "error":
            raise _rebuild(payload)
        return payload

    def start(self) -> None:
        with self._lock:
            self._call("start")
            self._running = True

    def stop(self) -> None:
        with self._lock:
            self._running = False
            self._call("stop")

    def panic(self) -> None:
        self._call("panic")

    # -- the watchdog: a child that dies on its own comes back, in time, with its pattern --------------

    def _watch(self) -> None:
        while True:
            try:
                self._process.wait(WATCH_INTERVAL_S)
            except subprocess.TimeoutExpired:
                self._read_clock()
                continue
            except (OSError, ValueError):  # the handle is being replaced under the lock: look again
                pass
            if self._closed:
                return
            code = self._process.poll()
            if code == SIGTERM_EXIT and not self._down:  # maybe the whole group is stopping: let close win
                time.sleep(SIGTERM_GRACE_S)
            with self._lock:
                if self._closed:
                    return
                if self._process.poll() is None:  # a call restarted it meanwhile
                    continue
                wait_s = self._next_attempt_s - time.monotonic()
            if wait_s > 0:
                time.sleep(min(wait_s, WATCH_INTERVAL_S))
                continue
            with self._lock:
                if not self._closed and self._process.poll() is not None:
                    with contextlib.suppress(LivePlayerError, MidiPortError, ValueError, OSError):
                        self._revive(by_call=False)  # (a failure is logged and answered to calls)

    def _read_clock(self) -> None:
        """Keep the child's clock line, to resume from it after a death (skipped while a call runs)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if not self._closed and self._down is None and self._process.poll() is None:
                with contextlib.suppress(LivePlayerError, EOFError, OSError):
                    self._clock_state = self._call("clock_state")
        finally:
            self._lock.release()

    def _revive(self, by_call: bool) -> None:
        """Under the lock: start a new child for a dead one and hand it what the dead one had."""
        code = self._process.poll()
        if self._down is None:
            self._down = f"the live MIDI process died ({_exit_text(code)})"
            log.error("live MIDI: %s; restarting it", self._down)
            self._attempts = 0
            self._next_attempt_s = 0.0
        if by_call and time.monotonic() < self._next_attempt_s:
            wait_s = self._next_attempt_s - time.monotonic()
            raise LivePlayerError(f"{self._down}; it could not be restarted; next attempt in {wait_s:.0f} s")
        started = time.monotonic()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.close()
            self._process.stdout.close()
        try:
            self._spawn()
            self._restore()
        except (LivePlayerError, MidiPortError, ValueError, TypeError, EOFError, OSError) as error:
            self._attempts += 1
            backoff = RESTART_BACKOFF_S[min(self._attempts, len(RESTART_BACKOFF_S) - 1)]
            self._next_attempt_s = time.monotonic() + backoff
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            log.error(
                "live MIDI: %s; restart failed (%s); trying again in %.0f s", self._down, error, backoff
            )
            raise LivePlayerError(
                f"{self._down}; it could not be restarted ({error}); next attempt in {backoff:.0f} s"
            ) from error
        self.restarts += 1
        log.warning(
            "live MIDI: %s; restarted it in %.2f s (pid %d, restart %d)%s",
            self._down,
            time.monotonic() - started,
            self.pid,
            self.restarts,
            ", playing on" if self._running else "",
        )
        self._down = None

    def _restore(self) -> None:
        """The new child: all notes off (the dead one left them sounding), then the dead one's state."""
        self._call_raw("panic")
        if self._bpm is not None:
            self._call_raw("set_bpm", self._bpm)
        if self._queued is not None:
            pattern, pitches = self._queued
            self._call_raw("queue", pattern, "now", pitches)
        if self._running:
            self._call_raw("resume", self._clock_state)

    def _call_raw(self, name: str, *args: Any) -> Any:
        write_message(self._process.stdin, (name, args))
        kind, payload = read_message(self._process.stdout)
        if kind == "error":
            raise _rebuild(payload)
        return payload

    def queue(self, pattern: Pattern, when: str = "bar", pitches: Sequence[int] | None = None) -> None:
        """As ``Player.queue``: ``pitches`` per voice (default the configured ones), --drum-map winning."""
        if not isinstance(pattern, Pattern):
            raise TypeError(f"pattern must be a Pattern, got {type(pattern).__name__}")
        if when not in SWITCH_MODES:
            raise UsageError(f"when must be one of {', '.join(SWITCH_MODES)}, got {when!r}")
        pitches = None if pitches is None else tuple(int(p) for p in pitches)
        with self._lock:
            self._call("queue", pattern, when, pitches)
            self._queued = (pattern, pitches)

    def set_transport(self, bpm: float, beat: float, playing: bool) -> bool:
        return bool(self._call("set_transport", bpm, beat, playing, time.monotonic()))

    def set_bpm(self, bpm: float) -> None:
        with self._lock:
            self._call("set_bpm", bpm)
            self._bpm = bpm

    @property
    def stats(self) -> PlayerStats:
        return self._call("stats")

    def trace(self) -> list:
        """``(due_time_s, sent_time_s, message)`` per message so far (``LiveConfig.trace``)."""
        return self._call("trace")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """End every note (note-offs, CC 123), close the port and stop the process. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(
                EOFError, OSError
            ):  # already gone: it ended its notes when the pipe closed
                write_message(self._process.stdin, ("close", ()))
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.terminate()  # SIGTERM: the child still ends its notes
            self._process.wait(CLOSE_TIMEOUT_S)
        self._process.stdout.close()
        if threading.current_thread() is not self._watchdog:
            self._watchdog.join(CLOSE_TIMEOUT_S)

    def __enter__(self) -> LivePlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _guarded_read(stream: BinaryIO) -> Any:
    try:
        return read_message(stream)
    except (EOFError, OSError) as error:
        return error


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
