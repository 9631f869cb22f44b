"""The daemon's brain on plain bytes: ``Daemon.handle(datagram) -> [reply datagrams]``.

``Daemon.handle_routed`` also says which reply port a valid ``/nudge/ping id reply_port`` asked for; the
server (``companion.osc.server``) remembers it for the sender.

Every request is checked against the registry (``companion.osc.api``) before anything happens; a
malformed one gets ``/nudge/error id reason`` and changes nothing. The handlers are named in the registry;
they turn requests into calls of the runtime (``engine``, ``lock``, the hot-swapped ``serving`` model) and
the core (notes <-> grid) and their results into replies.
The live MIDI player (``companion.live``, optional) is any object with ``start() stop() panic()
queue(pattern, when) set_transport(bpm, beat, playing) close()``.

The work one datagram can buy is bounded: its generate and vary requests together may ask for at most
``MAX_WORK_PER_DATAGRAM`` candidate-bars of search (candidates x bars: one request at the widest search
and the longest pattern); the requests past that get an error. With ``defer=True`` (the server) the
replies of generate and vary come later from ``Job``s the server runs on its worker, in turn per sender,
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

from companion.core import note_rows
from companion.core.drum_map import VOICES, clip_voice_lookup
from companion.core.errors import NudgeError, UsageError
from companion.core.osc_codec import Message, OscError, decode_message, encode_message, split_packet
from companion.core.pattern import CLIP_PARTIAL_BAR, Grid, Pattern, bars_for_length, without_voices
from companion.osc.api import (
    LIVE_OFF_REASON,
    MAX_CLIP_NOTES,
    MAX_DATAGRAM_BYTES,
    MAX_ID,
    MAX_PACKET_MESSAGES,
    MAX_REQUEST_BYTES,
    MAX_WORK_PER_DATAGRAM,
    STYLE_ANY,
    VERSION,
)
from companion.osc.clip_parts import ClipParts
from companion.osc.replies import (
    cancelled_reply,
    error_reply,
    note_array,
    notes_reply,
    ok_reply,
    pattern_to_note_array,
)
from companion.osc.request import Clip, Request, RequestError, parse_request, read_id, salvage_id
from companion.runtime.model import Model
from companion.runtime.model_info import model_info_reply
from companion.runtime.models_dir import ModelsDir
from companion.runtime.search import SearchRequest, search
from companion.runtime.serving import ServingModel

log = logging.getLogger(__name__)


DEFERRED = {"generate": "work", "vary": "work", "model_load": "load", "cancel": "cancel"}  # -> where it runs


@dataclass
class Job:
    """A request whose replies come later: ``run()`` -> its reply datagrams (never raises)."""

    kind: str  # "work" (the worker, in turn per sender), "load" (a loader thread), "cancel" (the scheduler)
    request_id: int
    address: str
    cost: int  # candidate-bars of search
    run: Callable[[], list[bytes]]
    drop: Callable[[], None] = lambda: None  # a /nudge/cancel dropped it before it ran: free what it holds


@dataclass
class Handled:
    """The replies to one datagram, and the reply port its last valid ``/nudge/ping`` asked for (if any);
    with ``defer``, the jobs whose replies come later."""

    replies: list[bytes] = field(default_factory=list)
    reply_port: int | None = None
    jobs: list[Job] = field(default_factory=list)


class Daemon:
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

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] += 1

    # ---- bytes in, datagrams out

    def handle(self, data: bytes) -> list[bytes]:
        """All replies to ``data``, every request run here and now (tests, benchmarks, one-shot use)."""
        return self.handle_routed(data).replies

    def handle_routed(self, data: bytes, defer: bool = False) -> Handled:
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
        budget = [MAX_WORK_PER_DATAGRAM]  # candidate-bars left for this datagram
        for element in elements:
            try:
                message = decode_message(element)
            except OscError as error:  # this message only; its id when that much is readable
                self._count("error")
                handled.replies.append(error_reply(salvage_id(element), f"malformed OSC message: {error}"))
                continue
            replies, reply_port, job = self._answer(message, budget, defer)
            handled.replies += replies
            handled.reply_port = reply_port if reply_port is not None else handled.reply_port
            if job is not None:
                handled.jobs.append(job)
        return handled

    def handle_message(self, message: Message) -> list[bytes]:
        return self._answer(message, [MAX_WORK_PER_DATAGRAM], False)[0]

    def _answer(
        self, message: Message, budget: list[int], defer: bool
    ) -> tuple[list[bytes], int | None, Job | None]:
        """(replies now, the reply port a valid ping asked for or None, the job that replies later)."""
        model = self.model  # one model for the whole request, even if a hot swap lands meanwhile
        try:
            request = parse_request(message, model.meta)
            request.search = self._search_request(request, model)
            cost = 0 if request.search is None else request.search.cost
            if cost > budget[0]:
                raise RequestError(
                    request.id,
                    f"{message.address}: this datagram's requests ask for more than "
                    f"{MAX_WORK_PER_DATAGRAM} candidate-bars of search (candidates x bars; this one "
                    f"{cost}, {budget[0]} left): send it in a datagram of its own",
                )
            budget[0] -= cost
            if message.address == "/nudge/model/load":
                self._claim_load(request)
        except RequestError as error:
            self._count("error")
            return [error_reply(error.request_id, error.reason)], None, None
        except Exception as error:  # a bug must not stop the daemon: report it, log the traceback
            return [self._internal_error(read_id(message), message.address, error)], None, None
        kind = DEFERRED.get(request.endpoint.handler)
        if kind is None or not defer:
            replies = self._run(request, model, message.address)
            return replies, (request.values.get("reply_port") if replies else None), None
        job = Job(kind, request.id, message.address, cost, lambda: self._run(request, model, message.address))
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
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1e3
            log.debug("%s id=%d -> %d datagrams in %.2f ms", address, request.id, len(replies), elapsed)
        return replies

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
        request.clip = self._joined_clip(request)
        if request.options.get("keep"):
            return self._clip_reply(request, model)
        if "parts" in request.options:
            raise UsageError("parts comes with a clip: /nudge/vary, or /nudge/generate with keep")
        wanted = _search_of(request)
        pattern = search(model, wanted)
        self._queue(pattern, model.meta.output_pitches)
        notes = pattern_to_note_array(pattern, model.meta.output_pitches)
        name = f"{model.name} {wanted.style or STYLE_ANY} s{wanted.seed}"
        return notes_reply(request.id, notes, pattern.grid.length_beats, name)

    def _vary_part(self, request: Request, model: Model) -> list[bytes]:
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

    def _vary(self, request: Request, model: Model) -> list[bytes]:
        clip = request.clip = self._joined_clip(request)
        if _search_of(request).cost == 0:  # amount 0, no bars: the clip, exactly as it came (and queued)
            pattern, pitches, _ = clip_to_pattern(clip, model)
            self._queue(pattern, pitches)
            return notes_reply(request.id, note_array(clip.notes), clip.length_beats, f"{model.name} nudge 0")
        return self._clip_reply(request, model)

    def _clip_reply(self, request: Request, model: Model) -> list[bytes]:
        """A vary, or a generate with ``keep``, of the request's clip.

        The clip's notes of kept voices and the notes the grid cannot hold come back exactly as sent."""
        clip = request.clip
        pattern, pitches, passthrough = clip_to_pattern(clip, model)
        wanted = _search_of(request).with_clip(pattern)
        keep, bars, seed = wanted.keep, request.options.get("bars"), wanted.seed
        result = search(model, wanted)
        if wanted.amount is None:
            name = f"{model.name} {wanted.style or STYLE_ANY}"
        else:
            name = f"{model.name} nudge {wanted.amount:.2f}"
        if keep:
            name += " keep " + "+".join(VOICES[v] for v in keep)
            kept = note_rows.rows_of_voices(
                clip.notes, clip.length_beats, clip_voice_lookup(model.meta.output_pitches), keep
            )
            passthrough = np.concatenate([passthrough, kept]) if len(kept) else passthrough
        length = clip.length_beats if bars is None else result.grid.length_beats
        notes = pattern_to_note_array(without_voices(result, keep), pitches)
        notes = notes[notes["start"] < length]
        if bars is not None:  # cropped or looped like the clip's pattern: the same for the unread notes
            passthrough = note_rows.loop_note_rows(passthrough, pattern.grid.length_beats, length)
        if len(passthrough):
            notes = np.concatenate([notes, note_array(passthrough)])
            notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
        self._queue(result, pitches)
        return notes_reply(request.id, notes, length, f"{name} s{seed}")

    def _model_list(self, request: Request, model: Model) -> list[bytes]:
        names = self.models.names() if self.models else [model.name]
        reply = encode_message("/nudge/model/list", "is" + "s" * len(names), (request.id, model.name, *names))
        if len(reply) > MAX_DATAGRAM_BYTES:
            raise UsageError(
                f"the models folder holds {len(names)} models; their names need {len(reply)} bytes, more "
                f"than one {MAX_DATAGRAM_BYTES}-byte datagram: move some out of {self.models.directory}"
            )
        return [reply]

    def _model_load(self, request: Request, model: Model) -> list[bytes]:
        new = self.serving.load(request.values["name"])  # ModelError -> /nudge/error; the old one serves on
        return [encode_message("/nudge/model/loaded", "is", (request.id, new.name))]

    def _model_info(self, request: Request, model: Model) -> list[bytes]:
        return [model_info_reply(request.id, model.name, model.meta)]

    def _player_call(self, request: Request, method: str, *args: Any) -> list[bytes]:
        if self.player is None:
            return [error_reply(request.id, LIVE_OFF_REASON)]
        try:
            getattr(self.player, method)(*args)
        except (NudgeError, OSError) as error:  # OSError: the MIDI driver's
            return [error_reply(request.id, f"live MIDI: {error}")]
        return [ok_reply(request.id)] if request.endpoint.has_id else []

    def _play_start(self, request: Request, model: Model) -> list[bytes]:
        return self._player_call(request, "start")

    def _play_stop(self, request: Request, model: Model) -> list[bytes]:
        return self._player_call(request, "stop")

    def _play_panic(self, request: Request, model: Model) -> list[bytes]:
        return self._player_call(request, "panic")

    def _transport(self, request: Request, model: Model) -> list[bytes]:
        values = request.values
        if self.player is None:  # a continuous feed, not a mistake: the device streams it whatever the state
            log.debug("transport ignored: live MIDI is off")
            return []
        return self._player_call(
            request, "set_transport", values["bpm"], values["beat"], bool(values["playing"])
        )

    def _queue(self, pattern: Pattern, pitches: tuple[int, ...] | list[int]) -> None:
        """Hand ``pattern`` to live MIDI, played with the reply's ``pitches`` (--drum-map still wins)."""
        if self.player is not None:
            try:
                self.player.queue(pattern, when=getattr(self.player, "switch", "bar"), pitches=pitches)
            except (NudgeError, OSError) as error:  # the reply goes out all the same
                log.warning("live MIDI could not queue the pattern: %s", error)

    # ---- the serving model (companion.runtime.serving)

    @property
    def model(self) -> Model:
        return self.serving.model

    @property
    def models(self) -> ModelsDir | None:
        return self.serving.models

    def poll_models(self) -> None:
        """Reload the serving model when its file changed (the server's poller calls this)."""
        self.serving.poll()


def _search_of(request: Request) -> SearchRequest:
    """The resolved search of a generate or vary (made by ``Daemon._search_request`` on arrival)."""
    if request.search is None:
        raise RuntimeError(f"{request.endpoint.address} reached its handler without its search request")
    return request.search


def clip_to_pattern(clip: Clip, model: Model) -> tuple[Pattern, list[int], np.ndarray]:
    """A vary request's clip -> (pattern on the model's grid, output pitch per voice, notes passed through):
    ``note_rows.clip_to_pattern`` on the whole bars that hold the clip, its pitches read with the model's
    own output pitches first, then General MIDI and the Roland map (``drum_map.clip_voice_lookup``)."""
    meta = model.meta
    bars = bars_for_length(clip.length_beats, meta.beats_per_bar, CLIP_PARTIAL_BAR)
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    voice_of = clip_voice_lookup(meta.output_pitches)
    return note_rows.clip_to_pattern(clip.notes, clip.length_beats, grid, voice_of, meta.output_pitches)
