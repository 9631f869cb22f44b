"""A search process (``python -m companion.osc.search_child``), started by ``companion.osc.search_pool``:
it runs ``searches.run_search`` for the daemon, one request at a time, so that no search ever holds the
daemon's GIL while a ping waits (issue 26). Messages are length-prefixed pickles over its stdin/stdout
(``companion.core.pipes``):

- ``("load", key, path, signature)`` -> ``("loaded", key)`` or ``("error", reason)``: load and check the
  model the daemon checked, refused when the file is no longer the one the daemon read (its signature);
- ``("search", key, request)`` -> ``("done", SearchResult)``, ``("refused", reason)`` (the user's
  mistake: a ``NudgeError``), or ``("failed", type name)`` (a bug, its traceback in this process's log);
- ``("drop", key)``: forget a model no request needs any more.

It runs as a batch process (``SCHED_BATCH`` where there is one: it never preempts on waking), dies with
the daemon (``die_with_parent``), and keeps at most ``MAX_MODELS``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

from companion.core.errors import ModelError, NudgeError
from companion.core.pipes import die_with_parent, read_message, write_message

log = logging.getLogger(__name__)
# as the daemon's other threads: at nice 10 (tried first) the machine's other work starved the searches
# (bench_takes under a load of 13 on 2 cores: p99 1.2-2.2 s against 0.9-1.2 s on one thread of nice 0);
# SCHED_BATCH keeps them from preempting the request thread when they wake, which runs at nice -11 where
# allowed (companion.osc.server)
NICENESS = 0
MAX_MODELS = 3  # the serving model, the one before it (its requests still wait), one being loaded


def lower_priority() -> None:
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError:  # not allowed here: niceness alone
            log.debug("SCHED_BATCH refused")
    if NICENESS and hasattr(os, "nice"):
        try:
            os.nice(NICENESS)
        except OSError:
            log.debug("nice refused")


def _load(path: str, signature: Any) -> Any:
    from companion.runtime.model import load_model
    from companion.runtime.model_info import check_fits
    from companion.runtime.models_dir import signature as signature_of

    before = signature_of(Path(path))
    model = check_fits(load_model(path))
    if signature is not None and (before != signature or signature_of(Path(path)) != signature):
        raise ModelError(f"{path}: the file changed on disk since the daemon loaded it; it reloads it")
    return model


def serve(requests: BinaryIO, replies: BinaryIO) -> int:
    from companion.osc.searches import run_search

    models: OrderedDict[int, Any] = OrderedDict()
    write_message(replies, ("ready", os.getpid()))
    while True:
        try:
            message = read_message(requests)
        except EOFError:
            return 0
        kind = message[0]
        if kind == "load":
            _, key, path, signature = message
            try:
                models[key] = _load(path, signature)
                models.move_to_end(key)
                while len(models) > MAX_MODELS:
                    models.popitem(last=False)
                write_message(replies, ("loaded", key))
            except NudgeError as error:
                write_message(replies, ("error", str(error)))
        elif kind == "drop":
            models.pop(message[1], None)
        elif kind == "search":
            _, key, request = message
            model = models.get(key)
            if model is None:
                write_message(replies, ("failed", "the search process does not hold that model"))
                continue
            models.move_to_end(key)
            started = time.process_time()
            try:
                result = run_search(request, model)
                write_message(replies, ("done", result, time.process_time() - started))
            except NudgeError as error:
                write_message(replies, ("refused", str(error)))
            except Exception as error:  # a bug: its traceback here, an "internal error" reply there
                log.exception("internal error in a search")
                write_message(replies, ("failed", type(error).__name__))
        else:
            write_message(replies, ("failed", f"unknown message {kind!r}"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the daemon ends us
    die_with_parent()
    lower_priority()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s search: %(message)s")
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the pipe
    sys.stdout = sys.stderr
    sys.exit(serve(requests, replies))


if __name__ == "__main__":
    main()
