"""Messages between Nudge's own processes (the daemon and its live MIDI and search processes): a pipe
carries length-prefixed pickles, a little-endian uint32 length and then the pickle.

Only our own processes are on either end (a pipe made by ``subprocess``), so unpickling is safe.
``PipeReader`` reads with a deadline: a process that stops answering is seen as stuck, never waited for
without end.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from typing import IO, Any, BinaryIO

_HEADER = struct.Struct("<I")
PR_SET_PDEATHSIG = 1


def encode(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def write_message(stream: IO[bytes], obj: object) -> None:
    """One message to the other side of the pipe."""
    stream.write(encode(obj))
    stream.flush()


def child_pipes(process: subprocess.Popen) -> tuple[IO[bytes], IO[bytes]]:
    """The stdin and stdout of a child started with both as pipes (``stdin=PIPE, stdout=PIPE``)."""
    if process.stdin is None or process.stdout is None:
        raise ValueError("the child process was started without its stdin and stdout pipes")
    return process.stdin, process.stdout


def read_message(stream: BinaryIO) -> Any:
    """One message from the other side of the pipe, blocking (EOFError when it closed)."""
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError("pipe closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("pipe closed mid-message")
    return pickle.loads(data)  # our own processes' messages only


class PipeReader:
    """Messages from a pipe's file descriptor, each within a deadline (``TimeoutError`` past it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()

    def fileno(self) -> int:
        return self.fd

    def ready(self) -> Any | None:
        """A message already whole in the buffer, or None (never blocks)."""
        if len(self._buffer) < 4:
            return None
        (size,) = _HEADER.unpack_from(self._buffer)
        if len(self._buffer) < 4 + size:
            return None
        data = bytes(self._buffer[4 : 4 + size])
        del self._buffer[: 4 + size]
        return pickle.loads(data)

    def read(self, timeout: float | None) -> Any:
        """The next message; ``TimeoutError`` after ``timeout`` seconds (None: no deadline), ``EOFError``
        when the other side closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (message := self.ready()) is None:
            self.fill(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return message

    def fill(self, timeout: float | None) -> None:
        """Read what the pipe has (waiting up to ``timeout``); ``TimeoutError``/``EOFError`` as ``read``."""
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            raise TimeoutError("no answer from the other process in time")
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            raise EOFError("pipe closed")
        self._buffer += chunk


def die_with_parent() -> None:
    """In a child process: Linux's kernel sends it SIGTERM when the parent ends (precisely: the parent's
    thread that started it, so start children from a thread that lives as long as they should). Elsewhere
    the end of its stdin tells it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl: stdin's end still tells us
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the parent died before the line above: nobody to serve
            os.kill(os.getpid(), signal.SIGTERM)
