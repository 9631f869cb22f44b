"""The daemon's brain on plain bytes: ``Daemon.handle(datagram) -> [reply datagrams]``.

``Daemon.handle_routed`` also says which reply port a valid ``/nudge/ping id reply_port`` asked for; the
server (``companion.osc.server``) remembers it for the sender.

Every request is checked against the registry (``companion.osc.api``) before anything happens; a
malformed one gets ``/nudge/error id reason`` and changes nothing. The handlers are named in the registry;
they turn requests into calls of the runtime (``engine``, ``lock``, the hot-swapped ``serving`` model) and
the core (notes <-> grid) and their results into replies.
The live MIDI player (``companion.live``, optional) is any object with ``start() stop() panic()
queue(pattern, when) set_transport(bpm, beat, playing) close()``.

The work one datagram can buy is bounded: its generate and vary requests together may cost at most
``MAX_SEARCHES_PER_DATAGRAM`` maximal searches, each priced by what it runs (``companion.osc.searches``:
the generator's runs over its candidates, the voice lock's rounds included); the requests past that get an
error. The searches themselves are ``searches.run_search``, which a search process runs as well. With
``defer=True`` (the server) the replies of generate and vary come later from ``Job``s the server runs in
its search processes (``companion.osc.search_pool``), in turn per sender,
and ``/nudge/model/load`` runs on a loader thread of its own while the old model serves; everything else
is answered at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.core.errors import NudgeError, UsageError
from companion.core.osc_codec import Message, OscError, decode_message, encode_message, split_packet
from companion.osc import searches, tool_searches
from companion.osc.api import (
    ENDPOINT_BY_ADDRESS,
    MAX_CLIP_NOTES,
    MAX_ID,
    MAX_PACKET_MESSAGES,
    MAX_REQUEST_BYTES,
    MAX_SEARCHES_PER_DATAGRAM,
    REPLIES,
    VERSION,
)
from companion.osc.clip_parts import ClipParts
from companion.osc.model_handlers import ModelHandlers
from companion.osc.player_handlers import PlayerHandlers
from companion.osc.replies import (
    cancelled_reply,
    error_reply,
    reply_summary,
)
from companion.osc.request import Clip, Request, RequestError, parse_request, read_id, salvage_id
from companion.osc.search_pool import SearchFailed, SearchPool
from companion.osc.tool_handlers import ToolHandlers
from companion.runtime.model import Model
from companion.runtime.models_dir import ModelsDir
from companion.runtime.search_request import SearchRequest
from companion.runtime.serving import ServingModel

log = logging.getLogger(__name__)


# handler -> where it runs with defer (the server): "work" the searches, "load" a loader thread, "live" the
# live MIDI calls that wait for the player's answer (never on the request thread: issue 26)
DEFERRED = {
    "generate": "work",
    "vary": "work",
    "model_load": "load",
    "play_start": "live",
    "play_stop": "live",
    "play_panic": "live",
    "cancel": "cancel",
    **dict.fromkeys(tool_searches.TOOL_HANDLERS, "work"),  # the tools run where the searches run
}
# what the daemon sends and never takes: a datagram with one of these is another program's reply (or our
# own, come back), never answered, so that two programs (or the daemon and itself) cannot loop
REPLY_ONLY_ADDRESSES = frozenset(r.address for r in REPLIES) - set(ENDPOINT_BY_ADDRESS)


@dataclass
class Job:
    """A request whose replies come later: ``run()`` -> its reply datagrams (never raises)."""

    kind: str  # "work" (searches, in turn per sender), "load" (loader), "live" (live MIDI), "cancel"
    request_id: int
    address: str
    cost: float  # in maximal searches (``searches.price``)
    run: Callable[[], list[bytes]]
    drop: Callable[[], None] = lambda: None  # a /nudge/cancel dropped it before it ran: free what it holds
    remote: tuple[Request, Model] | None = None  # a search's request and model, for a search process


@dataclass
class Handled:
    """The replies to one datagram, and the reply port its last valid ``/nudge/ping`` asked for (if any);
    with ``defer``, the jobs whose replies come later."""

    replies: list[bytes] = field(default_factory=list)
    reply_port: int | None = None
    jobs: list[Job] = field(default_factory=list)


class Daemon(ModelHandlers, PlayerHandlers, ToolHandlers):
    """Holds the serving model (hot-swappable), the models folder and the optional live MIDI player."""

    def __init__(
        self, model: Model, models: ModelsDir | None = None, player: Any = None, seed: int | None = None
    ):
        self.serving = ServingModel(model, models)  # hot-swappable; each request keeps the one it began with
        self.player = player
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()  # counts are kept by the request, worker and loader threads
        self._load_lock = threading.Lock()
        self._loading: str | None = None  # the model a /nudge/model/load is loading now
        self._fresh_seeds = np.random.default_rng(seed)  # for requests that bring no seed
        self.clip_parts = ClipParts()  # parts of long clips, until their /nudge/vary
        self._queued_any = False  # whether live MIDI has been handed a pattern (for /nudge/play/start)
        self.is_own_address: Callable[[str, int], bool] | None = None  # set by the server: (host, port)

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] += 1

    # ---- bytes in, datagrams out

    def handle(self, data: bytes) -> list[bytes]:
        """All replies to ``data``, every request run here and now (tests, benchmarks, one-shot use)."""
        return self.handle_routed(data).replies

    def handle_routed(self, data: bytes, defer: bool = False, sender: tuple | None = None) -> Handled:
        """``sender`` (host, port, ...): who sent ``data``, so that a ping never routes replies to us."""
        if len(data) > MAX_REQUEST_BYTES:
            self._count("error")
            reason = f"request of {len(data)} bytes is larger than {MAX_REQUEST_BYTES} allowed"
            return Handled([error_reply(-1, reason)])
        try:
            elements = split_packet(data)
        except OscError as error:  # a broken bundle frame: its messages cannot be told apart
            self._count("error")
            return Handled([error_reply(salvage_id(data), f"malformed OSC packet: {error}")])
        if len(elements) > MAX_PACKET_MESSAGES:
            self._count("error")
            reason = f"a bundle of {len(elements)} messages; at most {MAX_PACKET_MESSAGES} per datagram"
            return Handled([error_reply(-1, reason)])
        handled = Handled()
        budget = [MAX_SEARCHES_PER_DATAGRAM]  # maximal searches left for this datagram
        for element in elements:
            try:
                message = decode_message(element)
            except OscError as error:  # this message only; its id when that much is readable
                self._count("error")
                handled.replies.append(error_reply(salvage_id(element), f"malformed OSC message: {error}"))
                continue
            if message.address in REPLY_ONLY_ADDRESSES:  # never answer a reply or an error: no loops
                self._count("ignored")
                continue
            replies, reply_port, job = self._answer(message, budget, defer, sender)
            handled.replies += replies
            handled.reply_port = reply_port if reply_port is not None else handled.reply_port
            if job is not None:
                handled.jobs.append(job)
        return handled

    def handle_message(self, message: Message) -> list[bytes]:
        return self._answer(message, [MAX_SEARCHES_PER_DATAGRAM], False)[0]

    def _answer(
        self, message: Message, budget: list[float], defer: bool, sender: tuple | None = None
    ) -> tuple[list[bytes], int | None, Job | None]:
        """(replies now, the reply port a valid ping asked for or None, the job that replies later)."""
        model = self.model  # one model for the whole request, even if a hot swap lands meanwhile
        try:
            request = parse_request(message, model.meta)
            self._check_reply_port(request, sender)
            request.search = self._search_request(request, model)
            cost = 0.0 if request.search is None else searches.price(request.search, model.meta)
            if request.endpoint.handler in tool_searches.TOOL_HANDLERS:
                cost = self._tool_arrival(request, model)
            if cost > budget[0] + 1e-9:
                reason = _over_budget(message.address, request.search, model, cost, budget[0])
                raise RequestError(request.id, reason)
            budget[0] -= cost
            if message.address == "/nudge/model/load":
                self._claim_load(request)
        except RequestError as error:
            self._count("error")
            log.info("%s id %d -> /nudge/error %s", message.address, error.request_id, error.reason)
            return [error_reply(error.request_id, error.reason)], None, None
        except Exception as error:  # a bug must not stop the daemon: report it, log the traceback
            return [self._internal_error(read_id(message), message.address, error)], None, None
        kind = DEFERRED.get(request.endpoint.handler)
        if kind is None or not defer or (kind == "live" and self.player is None):
            replies = self._run(request, model, message.address)
            return replies, (request.values.get("reply_port") if replies else None), None
        if kind == "work":
            try:
                self.prepare(request)  # (its clip parts are taken now: a cancel has nothing left to drop)
            except NudgeError as error:
                self._count("error")
                return [error_reply(request.id, f"{message.address}: {error}")], None, None
        job = Job(kind, request.id, message.address, cost, lambda: self._run(request, model, message.address))
        job.remote = (request, model) if kind == "work" else None
        if "parts" in request.options:  # its clip's parts wait in clip_parts until it runs
            job.drop = lambda: self.clip_parts.discard(request.id)
        return [], None, job

    def _run(self, request: Request, model: Model, address: str) -> list[bytes]:
        """The handler's replies, or ``/nudge/error`` for whatever went wrong (never raises)."""
        started = time.perf_counter()
        handler = request.endpoint.handler
        try:
            replies = getattr(self, "_" + handler)(request, model)
            self._count(handler)
        except NudgeError as error:  # the user's mistake (or a file's, a port's): the reply says which
            replies = [error_reply(request.id, f"{address}: {error}")]
            self._count("error")
        except Exception as error:  # a bug must not stop the daemon: report it, log the traceback
            replies = [self._internal_error(request.id, address, error)]
        finally:
            if handler == "model_load":
                self._loading = None
        if log.isEnabledFor(logging.INFO):  # nudge serve -v: one line per request, with its time
            elapsed = (time.perf_counter() - started) * 1e3
            log.info("%s id %d -> %s in %.1f ms", address, request.id, reply_summary(replies), elapsed)
        return replies

    def _check_reply_port(self, request: Request, sender: tuple | None) -> None:
        """A ping may not route replies to the daemon's own port: they would come back as requests."""
        port = request.values.get("reply_port")
        if port is None or sender is None or self.is_own_address is None:
            return
        if self.is_own_address(sender[0], port):
            raise RequestError(
                request.id,
                f"{request.endpoint.address}: reply_port {port} is this daemon's own port; its replies "
                "would come back to it as requests: give the port your client listens on",
            )

    def _internal_error(self, request_id: int, address: str, error: Exception) -> bytes:
        """A bug met while answering: its traceback in the log, counted (``error`` and ``internal``), and a
        short reply that names no internals beyond the exception's type; the daemon serves on."""
        log.error("internal error on %s (id %d)", address, request_id, exc_info=error)
        self._count("error")
        self._count("internal")
        return error_reply(request_id, f"{address}: internal error ({type(error).__name__})")

    def _claim_load(self, request: Request) -> None:
        """One /nudge/model/load at a time: a second one while the first loads is refused."""
        with self._load_lock:
            if self._loading is not None:
                raise RequestError(
                    request.id,
                    f"/nudge/model/load: model {self._loading!r} is being loaded; "
                    "ask again when its reply has come (the current model serves meanwhile)",
                )
            self._loading = request.values["name"]

    # ---- handlers (named in companion.osc.api.ENDPOINTS)

    def _ping(self, request: Request, model: Model) -> list[bytes]:
        return [encode_message("/nudge/pong", "iss", (request.id, VERSION, model.name))]

    def _cancel(self, request: Request, model: Model) -> list[bytes]:
        """Run here and now (``handle``), nothing waits: nothing to drop. The server's scheduler drops its
        queued work instead (``Scheduler.cancel``)."""
        return [cancelled_reply(request.id, ())]

    def prepare(self, request: Request) -> None:
        """Make a generate or vary depend on nothing but itself: its clip joined with the parts that came
        ahead in /nudge/vary/part (``parts n``; its seed was drawn on arrival, ``_search_request``)."""
        opts = request.options
        if "parts" in opts and request.clip is not None:
            request.clip = self._joined_clip(request)
            del opts["parts"]

    def _search_request(self, request: Request, model: Model) -> SearchRequest | None:
        """The search a generate or vary asks for, its defaults and cost resolved once (None for the other
        addresses). A request without a seed gets a fresh one, drawn on arrival, unless it needs none."""
        handler = request.endpoint.handler
        if handler not in ("generate", "vary"):
            return None
        opts = request.options
        keep = opts.get("keep", ())
        amount = request.values["amount"] if handler == "vary" else None
        uses_clip = handler == "vary" or bool(keep)  # (generate ignores a clip without keep)
        seed = opts.get("seed")
        if seed is None and not (amount == 0 and "bars" not in opts):  # an echo of the clip needs no seed
            seed = int(self._fresh_seeds.integers(0, MAX_ID))
        try:
            return SearchRequest.of(
                model.meta,
                seed=seed or 0,
                sliders=request.sliders,
                style=opts.get("style"),
                candidates=opts.get("candidates"),
                bars=opts.get("bars"),
                amount=amount,
                keep=keep,
                clip_beats=request.clip.length_beats if uses_clip and request.clip else None,
            )
        except UsageError as error:
            raise RequestError(request.id, f"{request.endpoint.address}: {error}") from None

    def _generate(self, request: Request, model: Model) -> list[bytes]:
        self.prepare(request)
        return self.finish(searches.run_search(request, model))

    _vary = _generate

    def run_in_pool(self, pool: SearchPool, slot: int, job: Job) -> list[bytes]:
        """A search job's replies, from search process ``slot`` (never raises); ``-v`` logs a line."""
        started = time.perf_counter()
        replies = self._search_in_pool(pool, slot, job)
        if log.isEnabledFor(logging.INFO):  # nudge serve -v: one line per request, with its time
            elapsed = (time.perf_counter() - started) * 1e3
            log.info(
                "%s id %d -> %s in %.1f ms", job.address, job.request_id, reply_summary(replies), elapsed
            )
        return replies

    def _search_in_pool(self, pool: SearchPool, slot: int, job: Job) -> list[bytes]:
        if job.remote is None:
            raise RuntimeError(f"{job.address}: a search process got a job without its request")
        request, model = job.remote
        try:
            replies = self.finish(pool.search(slot, request, model))
            self._count(request.endpoint.handler)
            return replies
        except NudgeError as error:  # the user's mistake (or a model file that changed)
            self._count("error")
            return [error_reply(request.id, f"{job.address}: {error}")]
        except SearchFailed as error:  # a bug, a dead or stuck search process: logged there and here
            log.error(
                "internal error on %s (id %d) in a search process: %s", job.address, job.request_id, error
            )
            self._count("error")
            self._count("internal")
            return [error_reply(request.id, f"{job.address}: internal error ({error})")]

    def finish(self, result: searches.SearchResult) -> list[bytes]:
        """A search's replies; its pattern goes to live MIDI."""
        if result.pattern is not None:
            self._queue(result.pattern, result.pitches)
        return result.replies

    def _vary_part(self, request: Request, model: Model) -> list[bytes]:
        if request.notes is None:
            raise RuntimeError("/nudge/vary/part parsed without its notes")
        self.clip_parts.add(request.id, request.values["part"], request.values["n_parts"], request.notes)
        return []

    def _joined_clip(self, request: Request) -> Clip | None:
        """The request's clip, with the notes that came ahead in /nudge/vary/part (``parts n``) first."""
        clip, parts = request.clip, request.options.get("parts")
        if parts is None or clip is None:
            return clip
        notes = np.concatenate([self.clip_parts.take(request.id, parts), clip.notes])
        if len(notes) > MAX_CLIP_NOTES:
            raise UsageError(f"the clip has {len(notes)} notes; at most {MAX_CLIP_NOTES}")
        return Clip(clip.length_beats, notes)

    # ---- the serving model (companion.runtime.serving)

    @property
    def model(self) -> Model:
        return self.serving.model

    def poll_models(self) -> None:
        """Reload the serving model when its file changed (the server's poller calls this)."""
        self.serving.poll()


def _over_budget(address: str, wanted: SearchRequest | None, model: Model, cost: float, left: float) -> str:
    if cost > MAX_SEARCHES_PER_DATAGRAM:
        fewer = "fewer candidates"
        if wanted is not None:
            fewer = (
                f"at most {searches.max_candidates(wanted, model.meta, MAX_SEARCHES_PER_DATAGRAM)} candidates"
            )
        return (
            f"{address}: this request costs {cost:.2f} maximal searches, more than the "
            f"{MAX_SEARCHES_PER_DATAGRAM:g} one datagram buys: ask for {fewer}"
        )
    return (
        f"{address}: this datagram's requests cost more than {MAX_SEARCHES_PER_DATAGRAM:g} maximal search "
        f"(this one {cost:.2f}, {max(left, 0):.2f} left): send it in a datagram of its own"
    )
