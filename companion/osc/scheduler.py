"""Where the daemon's slow requests run: a worker that takes turns between senders, and model loads.

The request thread answers pings, model info and list, live MIDI calls and errors at once, and hands
generate and vary (``Job`` kind ``work``) to ``Scheduler.submit``: each sender has a queue, and the worker
takes one job from each sender in turn, so one client's flood delays another's generate by at most one
job per flooding sender, and never a ping. A sender may have ``MAX_PENDING_PER_SENDER`` jobs waiting and
all senders together ``MAX_PENDING``; past that ``submit`` refuses (the caller answers ``/nudge/error``:
nothing was done). ``/nudge/model/load`` (kind ``load``) runs on a thread of its own; the daemon allows
one at a time. ``/nudge/cancel`` (kind ``cancel``) drops the sender's waiting work at once
(``cancel(sender)``: a newer request supersedes the queued ones) and answers ``/nudge/cancelled`` with
their ids; the job the worker runs finishes. Replies go out through ``send(datagrams, target)`` from the
thread that made them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from companion.osc.api import MAX_PENDING, MAX_PENDING_PER_SENDER
from companion.osc.dispatch import Job
from companion.osc.replies import cancelled_reply

log = logging.getLogger(__name__)


Send = Callable[[list[bytes], tuple], None]


class Scheduler:
    """``submit(sender, job, target)`` -> None (queued) or the reason it was refused; ``close()``."""

    def __init__(
        self,
        send: Send,
        per_sender: int = MAX_PENDING_PER_SENDER,
        total: int = MAX_PENDING,
    ) -> None:
        self._send = send
        self.per_sender = per_sender
        self.total = total
        self._queues: OrderedDict[Hashable, deque[tuple[Job, tuple]]] = OrderedDict()  # turn order
        self._pending = 0
        self._cond = threading.Condition()
        self._closed = False
        self.refused = 0
        self._worker = threading.Thread(target=self._work, name="nudge-worker", daemon=True)
        self._worker.start()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, sender: Hashable, job: Job, target: tuple) -> str | None:
        if job.kind == "load":
            threading.Thread(
                target=self._run, args=(job, target), name="nudge-model-load", daemon=True
            ).start()
            return None
        if job.kind == "cancel":
            self._send([cancelled_reply(job.request_id, self.cancel(sender))], target)
            return None
        with self._cond:
            if self._closed:
                return "the daemon is stopping"
            queue = self._queues.get(sender)
            waiting = len(queue) if queue else 0
            if waiting >= self.per_sender or self._pending >= self.total:
                self.refused += 1
                if waiting >= self.per_sender:
                    return (
                        f"busy: {waiting} requests of yours are waiting (at most {self.per_sender}); "
                        "send more when their replies have come"
                    )
                return f"busy: {self._pending} requests are waiting (at most {self.total}); try again soon"
            if queue is None:
                queue = self._queues[sender] = deque()
            queue.append((job, target))
            self._pending += 1
            self._cond.notify()
        return None

    def cancel(self, sender: Hashable) -> list[int]:
        """Drop ``sender``'s waiting jobs (not the one running) -> their request ids, in the order sent."""
        with self._cond:
            queue = self._queues.pop(sender, None) or deque()
            self._pending -= len(queue)
        for job, _ in queue:
            job.drop()
        return [job.request_id for job, _ in queue]

    def close(self, timeout_s: float = 5.0) -> None:
        """Drop what waits, let the running job finish (up to ``timeout_s``), stop the worker."""
        with self._cond:
            self._closed = True
            self._queues.clear()
            self._pending = 0
            self._cond.notify_all()
        if threading.current_thread() is not self._worker:
            self._worker.join(timeout_s)

    def _next(self) -> tuple[Job, tuple] | None:
        """The next job: the first sender in turn order gives one and goes to the back of the line."""
        with self._cond:
            while not self._queues and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            sender, queue = next(iter(self._queues.items()))
            item = queue.popleft()
            self._pending -= 1
            if queue:
                self._queues.move_to_end(sender)
            else:
                del self._queues[sender]
            return item

    def _work(self) -> None:
        while (item := self._next()) is not None:
            self._run(*item)

    def _run(self, job: Job, target: tuple) -> None:
        try:
            replies = job.run()  # (answers errors itself)
            self._send(replies, target)
        except Exception:  # a bug must not stop the worker: log it, take the next job
            log.exception("internal error running %s id=%d", job.address, job.request_id)
