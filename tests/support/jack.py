"""A private JACK server (dummy backend) for tests and benchmarks, plus a recording MIDI input.

``jack_server(period=64)`` starts ``jackd --no-realtime -n NAME -d dummy -r 48000 -p PERIOD`` (with
``--realtime`` where this process may use SCHED_FIFO: ``jack_or_skip`` probes for it) under a unique server
name, points ``JACK_DEFAULT_SERVER`` at it (so parallel runs never share a server), waits for it with
``jack_wait -w`` (JACK's own bounded readiness check) and stops it afterwards. Where jackd is missing or
cannot start, it raises ``JackUnavailable`` with the reason (tests turn that into a skip), unless
``NUDGE_REQUIRE_JACK=1`` (CI), where it is an error.

``MidiRecorder`` is a real rtmidi JACK input that records what arrives, with JACK's own arrival times, and
lets a test wait for messages with a timeout instead of sleeping. It never runs Python in JACK's process
callback: rtmidi's C++ queue takes the messages there, and a reader thread of ours empties it. (A Python
callback there needs the GIL; while another thread of the test process holds it for longer than a cycle,
the sender's next cycles clear and rewrite the port buffer the callback is still reading, because JACK
gives a singly connected input the output's own buffer, and rtmidi then repeats or loses messages.)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
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

RATE = 48000
READY_TIMEOUT_S = 10.0
POLL_S = 0.001  # the reader thread's look into rtmidi's queue (it has no blocking read): ~1 ms latency


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
    command = [jackd, mode, "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
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
    time_s: float  # time.monotonic() when the reader thread took it (within about POLL_S of its arrival)


class MidiRecorder:
    """An rtmidi JACK input port that records everything it receives (timing messages included)."""

    def __init__(
        self, client_name: str = "NudgeTest", connect_to: str | None = None, buffered: bool = False
    ) -> None:
        """``buffered``: no reader thread; rtmidi queues messages (with JACK times) until ``drain``.

        Either way rtmidi's JACK process callback only queues the message (no Python, no GIL there). Tests
        use the reader thread, to wait on messages as they come. The benchmark uses ``buffered``, so that
        nothing of the recorder's competes for the GIL with the process it measures.
        """
        import rtmidi

        self._midi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client_name, queue_size_limit=65536)
        self.buffered = buffered
        if connect_to is None:
            self._midi.open_virtual_port("in")
            self.port_name = f"{client_name}:in"
        else:
            ports = self._midi.get_ports()
            if connect_to not in ports:
                self._midi.delete()
                raise LookupError(f"JACK MIDI port {connect_to!r} not found; ports: {ports}")
            self._midi.open_port(ports.index(connect_to), "in")
            self.port_name = f"{client_name}:in"
        self._midi.ignore_types(sysex=True, timing=False, active_sense=True)
        self._queue: queue.Queue[Received] = queue.Queue()
        self.received: list[Received] = []
        self._jack_time = 0.0
        self._first = True
        self._closing = threading.Event()
        self._reader: threading.Thread | None = None
        if not buffered:
            self._reader = threading.Thread(target=self._read_queue, name="midi-recorder", daemon=True)
            self._reader.start()

    def _read_queue(self) -> None:
        """The reader thread: move what rtmidi has queued into our queue as it comes, until ``close``."""
        while not self._closing.is_set():
            event = self._midi.get_message()
            if event is None:
                self._closing.wait(POLL_S)  # nothing queued yet: look again shortly
                continue
            self._on_message(event, None)

    def _on_message(self, event: tuple[list[int], float], _data: object) -> None:
        message, delta = event
        if not self._first:
            self._jack_time += delta  # rtmidi: seconds since the previous message, on JACK's clock
        self._first = False
        self._queue.put(Received(tuple(message), self._jack_time, time.monotonic()))

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
                item = self._queue.get(timeout=quiet_s)
            except queue.Empty:
                return taken
            self.received.append(item)
            taken.append(item)

    def _read_buffer(self, quiet_s: float) -> None:
        """Move what rtmidi has queued into our queue, until it has been empty for ``quiet_s``."""
        deadline = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            event = self._midi.get_message()
            if event is None:
                time.sleep(0.01)  # a bounded wait for the last messages in flight, not synchronisation
                continue
            self._on_message(event, None)
            deadline = time.monotonic() + quiet_s

    def close(self) -> None:
        self._closing.set()
        if self._reader is not None:
            self._reader.join()
        self._midi.close_port()
        self._midi.delete()


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
