"""Where the daemon's slow requests run: a worker that takes turns between senders, and model loads.

The request thread answers pings, model info and list, live MIDI calls and errors at once, and hands
generate and vary (``Job`` kind ``work``) to ``Scheduler.submit``: each sender has a queue, and the worker
takes one job from each sender in turn, so one client's flood delays another's generate by at most one
job per flooding sender, and never a ping. A sender may have ``MAX_PENDING_PER_SENDER`` jobs waiting and
all senders together ``MAX_PENDING``; past that ``submit`` refuses (the caller answers ``/nudge/error``:
nothing was done). ``/nudge/model/load`` (kind ``load``) runs on a thread of its own; the daemon allows
one at a time. ``/nudge/cancel`` (kind ``cancel``) drops the sender's waiting work at once
(``cancel(sender)``: a newer request supersedes the queued ones) and answers ``/nudge/cancelled`` with
their ids; the job the worker runs finishes. The live MIDI calls that wait for the player (kind ``live``:
play start, stop, panic) run in order on a thread of their own, at most ``MAX_PENDING_LIVE`` waiting.
Replies go out through ``send(datagrams, target)`` from the thread that made them.
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
MAX_PENDING_LIVE = 64  # live MIDI calls (play start, stop, panic) waiting for the player


Send = Callable[[list[bytes], tuple], None]
Runner = Callable[[int, Job], list[bytes]]
MIN_TURN_COST = 1 / 256  # what a turn counts at least (a vary of amount 0 costs no search)


class Scheduler:
    """``submit(sender, job, target)`` -> None (queued) or the reason it was refused; ``close()``."""

    def __init__(
        self,
        send: Send,
        per_sender: int = MAX_PENDING_PER_SENDER,
        total: int = MAX_PENDING,
        *,
        workers: int = 1,
        runner: Runner | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> None:
        """``workers`` threads take jobs (one per search process); ``runner(slot, job)`` runs a job (default
        ``job.run()`` on the thread); ``on_start(slot)`` runs first on each (it starts its process)."""
        self._send = send
        self.per_sender = per_sender
        self.total = total
        self._runner = runner or (lambda _slot, job: job.run())
        self._on_start = on_start
        self._queues: OrderedDict[Hashable, deque[tuple[Job, tuple]]] = OrderedDict()  # arrival order
        self._served: dict[Hashable, float] = {}  # work served to each sender that has jobs waiting
        self._virtual = 0.0  # the served work of the sender picked last: where a newcomer starts
        self._pending = 0
        self._cond = threading.Condition()
        self._closed = False
        self.refused = 0
        self._workers = [
            threading.Thread(target=self._work, args=(slot,), name=f"nudge-search-{slot}", daemon=True)
            for slot in range(workers)
        ]
        for worker in self._workers:
            worker.start()
        self._live: deque[tuple[Job, tuple]] = deque()
        self._live_thread = threading.Thread(target=self._live_calls, name="nudge-live-calls", daemon=True)
        self._live_thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, sender: Hashable, job: Job, target: tuple) -> str | None:
        if job.kind == "load":
            threading.Thread(
                target=self._run, args=(job, target), name="nudge-model-load", daemon=True
            ).start()
            return None
        if job.kind == "live":
            with self._cond:
                if self._closed:
                    return "the daemon is stopping"
                if len(self._live) >= MAX_PENDING_LIVE:
                    return f"busy: {len(self._live)} live MIDI calls are waiting; try again soon"
                self._live.append((job, target))
                self._cond.notify_all()
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
                self._served[sender] = self._virtual  # no credit for the time it sent nothing
            queue.append((job, target))
            self._pending += 1
            self._cond.notify_all()  # (the live thread waits on it too)
        return None

    def cancel(self, sender: Hashable) -> list[int]:
        """Drop ``sender``'s waiting jobs (not the one running) -> their request ids, in the order sent."""
        with self._cond:
            queue = self._queues.pop(sender, None) or deque()
            self._served.pop(sender, None)
            self._pending -= len(queue)
        for job, _ in queue:
            job.drop()
        return [job.request_id for job, _ in queue]

    def close(self, timeout_s: float = 5.0) -> None:
        """Drop what waits, let the running job finish (up to ``timeout_s``), stop the worker."""
        with self._cond:
            self._closed = True
            self._queues.clear()
            self._served.clear()
            self._live.clear()
            self._pending = 0
            self._cond.notify_all()
        for worker in self._workers:
            if threading.current_thread() is not worker:
                worker.join(timeout_s)

    def _next(self) -> tuple[Job, tuple] | None:
        """The next job: the oldest of the sender served the least work so far (fair queuing by cost:
        a sender of cheap requests is not held up behind one of maximal ones, nor the other way round)."""
        with self._cond:
            while not self._queues and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            sender = min(self._queues, key=self._served.__getitem__)  # ties: the earliest to arrive
            queue = self._queues[sender]
            item = queue.popleft()
            self._pending -= 1
            self._virtual = self._served[sender]
            self._served[sender] += max(item[0].cost, MIN_TURN_COST)
            if not queue:
                del self._queues[sender], self._served[sender]
            return item

    def _work(self, slot: int) -> None:
        if self._on_start is not None:
            try:
                self._on_start(slot)
            except Exception:  # its first search tries again, and answers why
                log.exception("search process %d could not start", slot)
        while (item := self._next()) is not None:
            job, target = item
            try:
                self._send(self._runner(slot, job), target)
            except Exception:  # a bug must not stop the worker: log it, take the next job
                log.exception("internal error running %s id=%d", job.address, job.request_id)

    def _live_calls(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._live or self._closed)
                if self._closed:
                    return
                item = self._live.popleft()
            self._run(*item)

    def _run(self, job: Job, target: tuple) -> None:
        try:
            replies = job.run()  # (answers errors itself)
            self._send(replies, target)
        except Exception:  # a bug must not stop the worker: log it, take the next job
            log.exception("internal error running %s id=%d", job.address, job.request_id)
