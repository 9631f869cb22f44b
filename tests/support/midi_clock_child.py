"""A JACK-backed ``MidiClock`` in a process of its own, driven by a test: ``MidiClockProcess`` starts it.

``python -m tests.support.midi_clock_child --bpm BPM [--parent-pid PID]``

Why a process: RtMidi's ``MidiInJack::closePort`` (reached through ``MidiClock.close``) unregisters the port
while JACK's process callback may still be using it, and now and then that race crashes the process (a
segfault). In a child, such a crash fails the one test that closes the clock on purpose, never the whole
test run; every other scenario leaves with ``os._exit`` without closing the port (the JACK server drops
the dead client's ports itself), as ``tests.support.midi_recorder_child`` does.

The child opens ``MidiClock.open("jack", None, bpm=BPM)`` (its JACK server is the one in
``JACK_DEFAULT_SERVER``), records a snapshot of the clock at every change (from the clock's own listener,
on its reader thread), and writes one JSON line per event to stdout:

- ``["ready", PORT_NAME]`` once the port is registered, or ``["error", REASON]`` and exit;
- one reply per command read from stdin, one command a line:

  - ``wait position BEATS TIMEOUT_S`` / ``wait stopped TIMEOUT_S``: waits for a change (after the one the
    previous ``wait`` matched) at which the clock's position is at least ``BEATS`` / the clock is not
    playing; ``["waited", MATCHED, SNAPSHOT_OR_NULL, SNAPSHOT_NOW]``.
  - ``hold_gil HOLD_S PAUSE_S TIMEOUT_S``: with a switch interval of 0.1 s, holds the GIL in a busy loop for
    ``HOLD_S`` stretches, with ``PAUSE_S`` waits between (the reader thread's chance), until the clock has
    played and stopped or ``TIMEOUT_S`` has passed; then restores the switch interval and waits out the
    rest of ``TIMEOUT_S`` for the stop. ``["held", STOPPED]``.
  - ``report``: ``["report", CHANGES, SNAPSHOT_NOW]``, every change's snapshot so far.
  - ``close``: ``clock.close()`` (timed), a look for a reader thread left, and ``clock.close()`` again;
    ``["closed", SECONDS, THREAD_NAMES_LEFT]``, then exit 0 (a crash in close shows in the exit status).
  - ``quit``, or the end of stdin: exit at once, without closing the port.

A snapshot is ``{"playing", "bpm", "anchor_time_s", "anchor_beats", "epoch", "position_beats"}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

ROOT = Path(__file__).resolve().parents[2]  # the child runs ``-m tests.support.midi_clock_child`` from here
READY_TIMEOUT_S = 10.0
REPLY_MARGIN_S = 5.0  # on top of a command's own timeout, for the reply to come back
EXIT_TIMEOUT_S = 5.0
READER_THREAD = "nudge-clock-in"  # MidiClock.open's reader thread


# -- the parent's side ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The child's clock at one change (or at a reply): its ``ClockState`` and ``position_beats``."""

    playing: bool
    bpm: float
    anchor_time_s: float
    anchor_beats: float
    epoch: int
    position_beats: float

    @classmethod
    def of(cls, data: dict[str, Any]) -> Snapshot:
        return cls(**data)


class MidiClockError(RuntimeError):
    """The clock's process did not answer as it should (ended, timed out, or said something else)."""


class MidiClockProcess:
    """The parent's handle on the child: start, send commands, read replies with timeouts, end it.

    A failure at any step kills the child (``kill``); ``quit`` ends it without closing its port.
    """

    def __init__(self, bpm: float = 100.0) -> None:
        command = [sys.executable, "-m", "tests.support.midi_clock_child", "--bpm", repr(bpm)]
        if threading.current_thread() is threading.main_thread():
            # PR_SET_PDEATHSIG fires when the parent *thread* ends: only the main thread lives as long as us
            command += ["--parent-pid", str(os.getpid())]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True, encoding="utf-8"
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="midi-clock-child", daemon=True)
        self._reader.start()
        try:
            kind, *details = self._reply(READY_TIMEOUT_S)
            if kind != "ready":
                raise MidiClockError(f"the MIDI clock's process did not start: {details}")
        except BaseException:
            self.kill()
            raise
        self.port_name: str = details[0]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)  # the end of its stdout: it has ended

    def _reply(self, timeout: float) -> list[Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise MidiClockError(f"no reply from the MIDI clock's process within {timeout:g} s") from None
        if line is None:
            code = self.process.wait(timeout=EXIT_TIMEOUT_S)
            raise MidiClockError(f"the MIDI clock's process ended (exit status {code})")
        return json.loads(line)

    def ask(self, command: str, timeout: float) -> list[Any]:
        """Send one command; its reply (kind first). Kills the child on any failure."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            return self._reply(timeout + REPLY_MARGIN_S)
        except BaseException:
            self.kill()
            raise

    def wait_position(self, beats: float, timeout: float) -> tuple[Snapshot | None, Snapshot]:
        """The first change at ``beats`` or later (None: none within ``timeout``) and the clock now."""
        _, _, matched, now = self.ask(f"wait position {beats!r} {timeout!r}", timeout)
        return (None if matched is None else Snapshot.of(matched)), Snapshot.of(now)

    def wait_stopped(self, timeout: float) -> tuple[Snapshot | None, Snapshot]:
        """The first change to not playing (after the last match; None: none within ``timeout``)."""
        _, _, matched, now = self.ask(f"wait stopped {timeout!r}", timeout)
        return (None if matched is None else Snapshot.of(matched)), Snapshot.of(now)

    def hold_gil(self, hold_s: float, pause_s: float, timeout: float) -> bool:
        """The child holds its GIL in stretches until its clock has played and stopped; whether it did."""
        _, stopped = self.ask(f"hold_gil {hold_s!r} {pause_s!r} {timeout!r}", timeout)
        return bool(stopped)

    def report(self) -> tuple[list[Snapshot], Snapshot]:
        """Every change's snapshot so far, and the clock now."""
        _, changes, now = self.ask("report", 0.0)
        return [Snapshot.of(c) for c in changes], Snapshot.of(now)

    def close_clock(self, timeout: float) -> tuple[float, list[str], int]:
        """The child closes its clock (twice): seconds the first close took, reader threads left, exit status.

        A hang (no reply within ``timeout``) raises ``MidiClockError``; a crash raises it too, with the exit
        status (e.g. -11 for a segfault).
        """
        _, seconds, left = self.ask("close", timeout)
        try:
            code = self.process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise MidiClockError("the MIDI clock's process did not exit after closing its clock") from None
        self._finish()
        return float(seconds), list(left), code

    def quit(self) -> None:
        """End the child without closing its port (JACK drops it); kills it if it does not go."""
        if self.process.poll() is None and self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # it has gone meanwhile
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
        try:
            self.process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._finish()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._finish()

    def _finish(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # (closes the pipe all the same)
                self.process.stdin.close()
        self._reader.join(EXIT_TIMEOUT_S)

    def __enter__(self) -> MidiClockProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()


# -- the child's side -------------------------------------------------------------------------------------


def emit(out: IO[bytes], *items: object) -> None:
    out.write(json.dumps(items).encode() + b"\n")
    out.flush()


def leave(out: IO[bytes]) -> NoReturn:
    """End at once: no destructor runs, so no port is closed here."""
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: nothing left to tell it
        out.flush()
    os._exit(0)


class Recorder:
    """The clock's listener: a snapshot per change, and a condition to wait on them."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.changes: list[dict[str, Any]] = []
        self.cursor = 0  # where the next ``wait`` looks from
        self.cond = threading.Condition()
        clock.subscribe(self.on_change)

    def snapshot(self) -> dict[str, Any]:
        state = self.clock.state()
        return {
            "playing": state.playing,
            "bpm": state.bpm,
            "anchor_time_s": state.anchor_time_s,
            "anchor_beats": state.anchor_beats,
            "epoch": state.epoch,
            "position_beats": self.clock.position_beats,
        }

    def on_change(self) -> None:
        snapshot = self.snapshot()
        with self.cond:
            self.changes.append(snapshot)
            self.cond.notify_all()

    def wait(self, kind: str, beats: float, timeout: float) -> dict[str, Any] | None:
        def match(s: dict[str, Any]) -> bool:
            return s["position_beats"] >= beats if kind == "position" else not s["playing"]

        def found() -> int | None:
            return next((i for i in range(self.cursor, len(self.changes)) if match(self.changes[i])), None)

        with self.cond:
            if not self.cond.wait_for(lambda: found() is not None, timeout):
                return None
            index = found()
            assert index is not None
            self.cursor = index + 1
            return self.changes[index]

    def stopped_after_playing(self) -> bool:
        """Whether a change to not playing came after one that played (read under ``cond``)."""
        played = False
        for s in self.changes:
            if s["playing"]:
                played = True
            elif played:
                return True
        return False


def hold_gil(seconds: float) -> None:
    """Keep the GIL in a pure-Python loop (with a switch interval longer than ``seconds``, nobody gets it)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def hold_gil_until_stopped(recorder: Recorder, hold_s: float, pause_s: float, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    old_interval = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.1)  # the busy loop keeps the GIL for all of its stretch
        while time.monotonic() < deadline:
            with recorder.cond:
                if recorder.stopped_after_playing():
                    break
            hold_gil(hold_s)
            with recorder.cond:  # let the reader have the GIL for a moment
                recorder.cond.wait_for(recorder.stopped_after_playing, pause_s)
    finally:
        sys.setswitchinterval(old_interval)
    with recorder.cond:
        return recorder.cond.wait_for(recorder.stopped_after_playing, max(0.0, deadline - time.monotonic()))


def close_clock(clock: Any) -> tuple[float, list[str]]:
    t0 = time.monotonic()
    clock.close()
    seconds = time.monotonic() - t0
    left = [t.name for t in threading.enumerate() if t.name == READER_THREAD]
    clock.close()  # twice is fine
    return seconds, left


def serve(clock: Any, out: IO[bytes]) -> None:
    recorder = Recorder(clock)
    for raw in sys.stdin.buffer:
        name, *args = raw.decode().split()
        if name == "quit":
            return
        if name == "wait":
            kind, *numbers = args
            beats = float(numbers[0]) if kind == "position" else 0.0
            matched = recorder.wait(kind, beats, float(numbers[-1]))
            emit(out, "waited", matched is not None, matched, recorder.snapshot())
        elif name == "hold_gil":
            hold_s, pause_s, timeout = map(float, args)
            emit(out, "held", hold_gil_until_stopped(recorder, hold_s, pause_s, timeout))
        elif name == "report":
            with recorder.cond:
                changes = list(recorder.changes)
            emit(out, "report", changes, recorder.snapshot())
        elif name == "close":
            seconds, left = close_clock(clock)
            emit(out, "closed", seconds, left)
            return
        else:
            emit(out, "error", f"unknown command {name!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpm", type=float, default=100.0)
    parser.add_argument("--parent-pid", type=int, help="die with this parent (Linux): SIGTERM when it goes")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    if args.parent_pid is not None:
        from tests.support.jack import _die_with_parent

        _die_with_parent()
        if os.getppid() != args.parent_pid:  # it died before the signal was asked for
            leave(out)
    from companion.live.clock import MidiClock

    try:
        clock = MidiClock.open("jack", None, bpm=args.bpm)
    except Exception as error:  # anything rtmidi or JACK refuses: the parent raises it with this reason
        emit(out, "error", f"{type(error).__name__}: {error}")
        leave(out)
    emit(out, "ready", clock.port_name)
    with contextlib.suppress(BrokenPipeError):  # the parent stopped reading (it is gone): leave anyway
        serve(clock, out)
    leave(out)


if __name__ == "__main__":
    main()
