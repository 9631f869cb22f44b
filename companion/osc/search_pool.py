"""The daemon's search processes (issue 26): generate and vary run in processes of their own
(``companion.osc.search_child``), so that a search never holds the GIL of the process whose request
thread answers pings, and so that several device instances asking at once use several cores.

The scheduler (``companion.osc.scheduler``) is the one queue they are fed from: it has one thread per
search process (a slot), and each takes the next job in turn between senders and hands it to its own
process through ``search(slot, request, model)``, which waits on the pipe (without the GIL). A process that
dies or takes longer than ``SEARCH_TIMEOUT_S`` is killed and started again by its slot's thread, and the
request answers an internal error (never retried: a request that kills a search process would kill the
next one too).

The hot-swapped model (``companion.runtime.serving``) reaches the processes as it reaches the daemon: a
model is known by a key, and a process loads a key's file before its first search with it, refusing a file
whose signature is no longer the one the daemon loaded. ``preload(model)`` loads a new model in every
running process before the daemon swaps to it, so the old model serves until the new one is checked here
and there; a request keeps the model it began with (the processes keep ``search_child.MAX_MODELS``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import IO, Any

from companion.core.errors import ModelError, NudgeError
from companion.core.pipes import PipeReader, child_pipes, write_message
from companion.osc.request import Request
from companion.osc.searches import SearchResult
from companion.runtime.model import Model
from companion.runtime.models_dir import signature

log = logging.getLogger(__name__)
START_TIMEOUT_S = 60.0  # a process imports numpy and onnxruntime (seconds on a loaded machine)
LOAD_TIMEOUT_S = 2 * START_TIMEOUT_S  # a model of up to 256 MB, loaded and checked
SEARCH_TIMEOUT_S = 60.0  # one search costs at most one maximal search: well under a second here
STOP_TIMEOUT_S = 2.0


class SearchFailed(Exception):
    """A search failed for a reason that is not the user's: a bug, a dead or stuck process."""


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.lock = threading.Lock()  # the slot's thread searches, a model load preloads: one at a time
        self.process: subprocess.Popen | None = None
        self.reader: PipeReader | None = None
        self.loaded: set[int] = set()
        self.searches = 0
        self.cpu_s = 0.0

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pipes(self) -> tuple[subprocess.Popen, IO[bytes], PipeReader]:
        """The started process, its stdin and the reader of its stdout."""
        if self.process is None or self.reader is None:
            raise SearchFailed(f"search process {self.index} was never started")
        return self.process, child_pipes(self.process)[0], self.reader


class SearchPool:
    """``size`` search processes; ``start(slot)`` and ``search(slot, ...)`` from that slot's own thread."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a search pool needs at least one process, got {size}")
        self.slots = [_Slot(i) for i in range(size)]
        self._keys: weakref.WeakKeyDictionary[Model, int] = weakref.WeakKeyDictionary()
        self._signatures: dict[int, Any] = {}
        self._keys_lock = threading.Lock()
        self._next_key = 1
        self.restarts = 0
        self._closed = False

    @property
    def size(self) -> int:
        return len(self.slots)

    def key_of(self, model: Model) -> int:
        with self._keys_lock:
            key = self._keys.get(model)
            if key is None:
                key = self._keys[model] = self._next_key
                self._next_key += 1
                self._signatures[key] = getattr(model, "signature", None) or signature(model.path)
            return key

    def start(self, slot: int, model: Model | None = None) -> None:
        """Start slot ``slot``'s process (from the thread that will use it: the process ends with that
        thread, PR_SET_PDEATHSIG) and load ``model`` there."""
        with self.slots[slot].lock:
            self._ensure(self.slots[slot])
            if model is not None:
                self._load(self.slots[slot], model)

    def search(self, slot: int, request: Request, model: Model) -> SearchResult:
        """Run ``request`` in slot ``slot``'s process: its result, ``NudgeError`` (the user's mistake, e.g.
        a model file that changed), or ``SearchFailed``."""
        state = self.slots[slot]
        with state.lock:
            self._ensure(state)
            self._load(state, model)
            kind, *rest = self._exchange(state, ("search", self.key_of(model), request), SEARCH_TIMEOUT_S)
        if kind == "done":
            result, cpu_s = rest
            state.searches += 1
            state.cpu_s += cpu_s
            return result
        if kind == "refused":
            raise NudgeError(rest[0])
        raise SearchFailed(rest[0])

    def preload(self, model: Model) -> None:
        """Load ``model`` in every running process (``ModelError`` when one cannot: no swap then)."""
        for state in self.slots:
            with state.lock:
                if self._closed:
                    raise ModelError(f"{model.path}: not loaded: the daemon is stopping")
                if state.running():  # (a process not started yet loads it before its first search)
                    try:
                        self._load(state, model)
                    except SearchFailed as error:
                        raise ModelError(
                            f"{model.path}: a search process could not load it ({error})"
                        ) from None

    def close(self) -> None:
        self._closed = True
        for state in self.slots:
            process = state.process
            if process is None or process.poll() is not None:
                continue
            with contextlib.suppress(OSError):
                child_pipes(process)[0].close()  # its end: the process leaves
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- one slot, under its lock -------------------------------------------------------------------------

    def _ensure(self, state: _Slot) -> None:
        if state.running():
            return
        if self._closed:
            raise SearchFailed("the daemon is stopping")
        if state.process is not None:
            self.restarts += 1
            code = state.process.poll()
            log.error("search process %d ended (exit %s); starting another", state.index, code)
        root = str(Path(__file__).resolve().parents[2])  # so the child finds this very companion package
        paths = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": paths}
        state.process = subprocess.Popen(
            [sys.executable, "-m", "companion.osc.search_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        state.reader = PipeReader(child_pipes(state.process)[1].fileno())
        state.loaded = set()
        try:
            kind, _ = state.reader.read(START_TIMEOUT_S)
        except (TimeoutError, EOFError) as error:
            self._kill(state)
            raise SearchFailed(f"search process {state.index} did not start ({error})") from None
        if kind != "ready":
            self._kill(state)
            raise SearchFailed(f"search process {state.index} said {kind!r} at start")

    def _load(self, state: _Slot, model: Model) -> None:
        key = self.key_of(model)
        if key in state.loaded:
            return
        message = ("load", key, str(model.path), self._signatures[key])
        kind, *rest = self._exchange(state, message, LOAD_TIMEOUT_S)
        if kind != "loaded":
            raise ModelError(rest[0] if rest else f"search process {state.index} could not load it")
        state.loaded.add(key)

    def _exchange(self, state: _Slot, message: tuple, timeout: float) -> tuple:
        process, stdin, reader = state.pipes()
        try:
            write_message(stdin, message)
            return reader.read(timeout)
        except TimeoutError:
            self._kill(state)
            raise SearchFailed(
                f"no answer within {timeout:g} s; search process {state.index} was restarted"
            ) from None
        except (EOFError, OSError, ValueError):  # (ValueError: its pipe closed here, the daemon stopping)
            if self._closed:
                raise SearchFailed("the daemon is stopping") from None
            code = process.wait()
            raise SearchFailed(f"search process {state.index} died (exit {code}); it is restarted") from None

    def _kill(self, state: _Slot) -> None:
        if state.process is not None and state.process.poll() is None:
            state.process.kill()
            state.process.wait()

    def summary(self) -> str:
        counts = ", ".join(f"{s.searches} ({s.cpu_s:.1f} s CPU)" for s in self.slots)
        return f"search processes: {counts}; {self.restarts} restarted"


def default_size() -> int:
    """One search process per core, at most 4 (each holds the model: memory grows with them)."""
    return max(1, min(os.cpu_count() or 1, 4))


__all__ = ["NudgeError", "SearchFailed", "SearchPool", "default_size"]
