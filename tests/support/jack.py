"""A private JACK server (dummy backend) for tests and benchmarks, plus a recording MIDI input.

``jack_server(period=64)`` starts ``jackd --no-realtime --sync -n NAME -d dummy -r 48000 -p PERIOD``
(with ``--realtime`` where this process may use SCHED_FIFO: ``jack_or_skip`` probes for it) under a unique
server name, points ``JACK_DEFAULT_SERVER`` at it (so parallel runs never share a server), waits for it with
``jack_wait -w`` (JACK's own bounded readiness check) and stops it afterwards. Where jackd is missing or
cannot start, it raises ``JackUnavailable`` with the reason (tests turn that into a skip), unless
``NUDGE_REQUIRE_JACK=1`` (CI), where it is an error.

``--sync``: each cycle waits until every client has finished it. In jackd2's default asynchronous mode a
cycle starts without waiting, and an input that shares its output's buffer (a single connection) can lose
a message when its client runs late; on this 2-core machine with a CPU hog beside the suite, two tests of
the player lost a note-off that way (its trace shows it sent) in every run, and none with ``--sync``.
The tests check what the player sends, not how JACK copes with late clients.

``MidiRecorder`` is a real rtmidi JACK input that records what arrives, with JACK's own arrival times, and
lets a test wait for messages with a timeout instead of sleeping. Its port lives in a child process
(``tests.support.midi_recorder_child``), which passes each message up a pipe as one line, and which leaves
with ``os._exit`` without ever closing the port: RtMidi's ``MidiInJack::closePort`` unregisters the port
while JACK's process callback (``jackProcessIn``, on a JACK thread) may still be using it, and rtmidi gives
no way to deactivate the client first; now and then that race crashed the whole test process (a segfault
inside ``close_port``). When the child's process ends, the JACK server drops its client, ports and
connections itself; ``close`` waits for that end, so the next recorder may take the same client name.
Nothing runs Python in JACK's process callback either: rtmidi's C++ queue takes the messages there, and
the child empties it. (A Python callback there needs the GIL; while another thread holds it for longer
than a cycle, the sender's next cycles clear and rewrite the port buffer the callback is still reading,
because JACK gives a singly connected input the output's own buffer, and rtmidi then repeats or loses
messages.)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

RATE = 48000
READY_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0  # for the recorder's process to leave once told to (then it is killed)
ROOT = Path(__file__).resolve().parents[2]  # the recorder's process runs ``-m tests.support...`` from here


class JackUnavailable(RuntimeError):
    """jackd is not installed or could not start here."""


@dataclass(frozen=True)
class JackServer:
    name: str
    period: int
    rate: int
    process: subprocess.Popen

    @property
    def cycle_s(self) -> float:
        return self.period / self.rate


@contextlib.contextmanager
def jack_server(period: int = 64, rate: int = RATE, realtime: bool = False) -> Iterator[JackServer]:
    jackd, jack_wait = shutil.which("jackd"), shutil.which("jack_wait")
    if not jackd or not jack_wait:
        raise JackUnavailable("jackd/jack_wait not found: install the Debian package jackd2")
    name = f"nudge-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
    mode = "--realtime" if realtime else "--no-realtime"  # real-time needs rtprio rights; tests do without
    command = [jackd, mode, "--sync", "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
    old = os.environ.get("JACK_DEFAULT_SERVER")
    # jackd's log goes to a file, never a pipe: a full pipe (XRun lines pile up) would block the server
    with tempfile.TemporaryFile(mode="w+") as log_file:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=env,
            text=True,
            preexec_fn=_die_with_parent,
        )
        try:
            ready = subprocess.run(
                [jack_wait, "-w", "-t", str(int(READY_TIMEOUT_S))],
                env=env,
                capture_output=True,
                text=True,
                timeout=READY_TIMEOUT_S + 5,
            )
            if ready.returncode != 0 or process.poll() is not None:
                _stop(process)
                log_file.seek(0)
                err = log_file.read() or ready.stderr
                raise JackUnavailable(f"jackd did not start ({' '.join(command)}): {err[-500:]}")
            os.environ["JACK_DEFAULT_SERVER"] = name  # rtmidi's JACK clients, here and in child processes
            yield JackServer(name, period, rate, process)
        finally:
            _stop(process)
            if old is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = old


def _die_with_parent() -> None:
    """Linux, in the child before exec: SIGTERM when the test process dies (no jackd outlives it)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def realtime_allowed() -> bool:
    """Whether this process may use SCHED_FIFO (then jackd runs real-time: steadier cycles under load)."""
    if not hasattr(os, "sched_setscheduler"):
        return False
    result: list[bool] = []

    def probe() -> None:
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(1))
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


def jack_required() -> bool:
    return os.environ.get("NUDGE_REQUIRE_JACK", "") not in ("", "0")


@contextlib.contextmanager
def jack_or_skip(period: int = 64) -> Iterator[JackServer]:
    """``jack_server`` for a pytest fixture: skips with the reason where JACK cannot run (fails on CI)."""
    import pytest

    try:
        context = jack_server(period, realtime=realtime_allowed())
        server = context.__enter__()
    except JackUnavailable as error:
        if jack_required():
            pytest.fail(f"NUDGE_REQUIRE_JACK is set but {error}")
        pytest.skip(str(error))
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@dataclass(frozen=True)
class Received:
    message: tuple[int, ...]
    jack_time_s: float  # JACK's clock at the cycle it arrived in, relative to the first message
    time_s: float  # time.monotonic() when the recorder's process took it (within ~1 ms of its arrival)


class MidiRecorder:
    """An rtmidi JACK input port that records everything it receives (timing messages included).

    The port lives in a child process (``tests.support.midi_recorder_child``), never in this one: see the
    module's docstring.
    """

    def __init__(
        self, client_name: str = "NudgeTest", connect_to: str | None = None, buffered: bool = False
    ) -> None:
        """``buffered``: no reader thread; rtmidi queues messages (with JACK times) until ``drain``.

        Either way rtmidi's JACK process callback only queues the message (no Python, no GIL there), in the
        child. Tests use the reader thread, to wait on messages as they come. The benchmark uses
        ``buffered``, so that nothing of the recorder's competes for the GIL (or, in the child, for a CPU)
        with the process it measures: the child sleeps on its stdin until ``drain`` asks.
        Returns once the port is registered (and connected to ``connect_to``) in JACK.
        """
        command = [sys.executable, "-m", "tests.support.midi_recorder_child", client_name]
        if connect_to is not None:
            command += ["--connect-to", connect_to]
        if buffered:
            command.append("--buffered")
        if threading.current_thread() is threading.main_thread():
            # (PR_SET_PDEATHSIG fires when the parent *thread* ends: only the main thread lives as long as
            # this process; from another thread, the end of the child's stdin still ends it with us)
            command += ["--parent-pid", str(os.getpid())]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True, encoding="utf-8"
        )
        self.buffered = buffered
        self.port_name = f"{client_name}:in"
        self._queue: queue.Queue[Received] = queue.Queue()
        self.received: list[Received] = []
        self._jack_time = 0.0
        self._first = True
        self._closed = False
        self._reader: threading.Thread | None = None
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        if not buffered:
            self._reader = threading.Thread(target=self._read_child, name="midi-recorder", daemon=True)
            self._reader.start()

    def _wait_ready(self) -> None:
        """The child's first line: ready, or why not (``LookupError`` for a missing ``connect_to``)."""
        assert self._process.stdout is not None
        readable, _, _ = select.select([self._process.stdout], [], [], READY_TIMEOUT_S)
        if not readable:
            raise RuntimeError(f"the MIDI recorder's process was not ready within {READY_TIMEOUT_S} s")
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait(timeout=READY_TIMEOUT_S)
            raise RuntimeError(f"the MIDI recorder's process ended (exit status {code}) before it was ready")
        kind, *details = json.loads(line)
        if kind == "error":
            error_kind, reason = details
            raise (LookupError if error_kind == "lookup" else RuntimeError)(reason)
        if kind != "ready":
            raise RuntimeError(f"the MIDI recorder's process said {line!r} instead of ready")

    def _read_child(self) -> None:
        """The reader thread: move the child's messages into our queue as they come, until it ends."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._on_line(line)

    def _on_line(self, line: str) -> bool:
        """Queue a message line of the child's; False for its ``drained`` line."""
        kind, *details = json.loads(line)
        if kind == "drained":
            return False
        if kind != "m":
            raise RuntimeError(f"unexpected line from the MIDI recorder's process: {line!r}")
        message, delta, taken_s = details
        if not self._first:
            self._jack_time += delta  # rtmidi: seconds since the previous message, on JACK's clock
        self._first = False
        self._queue.put(Received(tuple(message), self._jack_time, taken_s))
        return True

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 5.0) -> list[Received]:
        """Take messages until one satisfies ``predicate``; returns those taken (it included)."""
        taken = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise TimeoutError(
                    f"no matching MIDI message within {timeout} s; got {[r.message for r in taken]}"
                ) from None
            self.received.append(item)
            taken.append(item)
            if predicate(item):
                return taken

    def take(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The next ``count`` messages."""
        taken: list[Received] = []
        for _ in range(count):
            taken += self.wait_for(lambda _r: True, timeout)
        return taken

    def drain(self, quiet_s: float) -> list[Received]:
        """Everything that arrives until nothing has arrived for ``quiet_s``."""
        if self.buffered:
            self._read_buffer(quiet_s)
        taken = []
        while True:
            try:
                # buffered, the child has already waited out the quiet time: take what is here
                item = self._queue.get_nowait() if self.buffered else self._queue.get(timeout=quiet_s)
            except queue.Empty:
                return taken
            self.received.append(item)
            taken.append(item)

    def _read_buffer(self, quiet_s: float) -> None:
        """Buffered: the child sends what rtmidi has queued, and what comes until ``quiet_s`` of silence."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(f"drain {quiet_s!r}\n")
        self._process.stdin.flush()
        for line in self._process.stdout:
            if not self._on_line(line):
                return
        raise RuntimeError(f"the MIDI recorder's process ended (exit status {self._process.wait()})")

    def close(self) -> None:
        """End the child (it leaves without closing its port: JACK drops it) and the reader thread.

        Once the child has ended, its client name is free for the next JACK client: jackd's request thread
        handles a dead client's hang-up before it accepts a new connection in the same round of ``poll``.
        """
        if self._closed:
            return
        self._closed = True
        if self._process.stdin is not None:
            # "quit" first: a process forked from this one meanwhile may hold the pipe open, so that the
            # child would not see the end of its stdin
            with contextlib.suppress(BrokenPipeError):  # the child has already gone
                self._process.stdin.write("quit\n")
                self._process.stdin.flush()
            with contextlib.suppress(BrokenPipeError):  # (closes the pipe all the same)
                self._process.stdin.close()
        try:
            self._process.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._reader is not None:
            self._reader.join()
        if self._process.stdout is not None:
            self._process.stdout.close()


def is_on(r: Received) -> bool:
    return r.message[0] & 0xF0 == 0x90 and r.message[2] > 0


def is_off(r: Received) -> bool:
    return r.message[0] & 0xF0 == 0x80 or (r.message[0] & 0xF0 == 0x90 and r.message[2] == 0)


def assert_paired(messages: list[Received]) -> None:
    """Every note-on is ended by a note-off of its pitch before that pitch sounds again; none left over."""
    sounding: set[int] = set()
    for i, r in enumerate(messages):
        pitch = r.message[1]
        if is_on(r):
            context = " ".join(
                f"{m.message}@{m.jack_time_s * 1e3:.2f}ms" for m in messages[max(0, i - 12) : i + 1]
            )
            assert pitch not in sounding, f"note {pitch} started twice without a note-off; last: {context}"
            sounding.add(pitch)
        elif is_off(r):
            sounding.discard(pitch)
    assert not sounding, f"stuck notes: {sorted(sounding)}"
