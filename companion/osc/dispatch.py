"""The daemon's brain on plain bytes: ``Daemon.handle(datagram) -> [reply datagrams]``.

``Daemon.handle_routed`` also says which reply port a valid ``/nudge/ping id reply_port`` asked for; the
server (``companion.osc.server``) remembers it for the sender.

Every request is checked against the registry (``companion.osc.api``) before anything happens; a
malformed one gets ``/nudge/error id reason`` and changes nothing. The handlers are named in the registry.
The live MIDI player (``companion.live``, optional) is any object with ``start() stop() panic()
queue(pattern, when) set_transport(bpm, beat, playing) close()``.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.core.drum_map import GENERAL_MIDI, N_VOICES, ROLAND_GMD, VOICES
from companion.core.pattern import MAX_OFFSET_STEPS, Grid, Pattern
from companion.osc.api import (
    LIVE_OFF_REASON,
    MAX_DATAGRAM_BYTES,
    MAX_ID,
    MAX_PACKET_MESSAGES,
    MAX_REQUEST_BYTES,
    VERSION,
)
from companion.osc.codec import Message, OscError, decode_packet, encode_message
from companion.osc.replies import (
    error_reply,
    model_info_problem,
    model_info_reply,
    note_array,
    notes_reply,
    ok_reply,
    pattern_to_note_array,
)
from companion.osc.request import Clip, Request, RequestError, parse_request
from companion.runtime import engine
from companion.runtime.model import Model, ModelError
from companion.runtime.models_dir import ModelsDir

log = logging.getLogger(__name__)


@dataclass
class Handled:
    """The replies to one datagram, and the reply port its last valid ``/nudge/ping`` asked for (if any)."""

    replies: list[bytes] = field(default_factory=list)
    reply_port: int | None = None


class Daemon:
    """Holds the serving model (hot-swappable), the models folder and the optional live MIDI player."""

    def __init__(
        self, model: Model, models: ModelsDir | None = None, player: Any = None, seed: int | None = None
    ):
        self.model = check_fits(model)
        self._swap = threading.Lock()  # the request thread's /nudge/model/load and the poller's reload
        self.models = models
        self.player = player
        self.counts: Counter[str] = Counter()
        self._fresh_seeds = np.random.default_rng(seed)  # for requests that bring no seed

    # ---- bytes in, datagrams out

    def handle(self, data: bytes) -> list[bytes]:
        return self.handle_routed(data).replies

    def handle_routed(self, data: bytes) -> Handled:
        if len(data) > MAX_REQUEST_BYTES:
            self.counts["error"] += 1
            reason = f"request of {len(data)} bytes is larger than {MAX_REQUEST_BYTES} allowed"
            return Handled([error_reply(-1, reason)])
        try:
            messages = decode_packet(data)
        except OscError as error:
            self.counts["error"] += 1
            return Handled([error_reply(-1, f"malformed OSC packet: {error}")])
        if len(messages) > MAX_PACKET_MESSAGES:
            self.counts["error"] += 1
            reason = f"a bundle of {len(messages)} messages; at most {MAX_PACKET_MESSAGES} per datagram"
            return Handled([error_reply(-1, reason)])
        handled = Handled()
        for message in messages:
            replies, reply_port = self._answer(message)
            handled.replies += replies
            handled.reply_port = reply_port if reply_port is not None else handled.reply_port
        return handled

    def handle_message(self, message: Message) -> list[bytes]:
        return self._answer(message)[0]

    def _answer(self, message: Message) -> tuple[list[bytes], int | None]:
        """(replies, the reply port a valid request asked for with its ``reply_port`` argument, or None)."""
        started = time.perf_counter()
        model = self.model  # one model for the whole request, even if a hot swap lands meanwhile
        request_id, reply_port = -1, None
        try:
            request = parse_request(message, model.meta)
            request_id = request.id
            replies = getattr(self, "_" + request.endpoint.handler)(request, model)
            self.counts[request.endpoint.handler] += 1
            reply_port = request.values.get("reply_port")
        except RequestError as error:
            replies = [error_reply(error.request_id, error.reason)]
            self.counts["error"] += 1
        except (ValueError, ModelError) as error:
            replies = [error_reply(request_id, f"{message.address}: {error}")]
            self.counts["error"] += 1
        except Exception as error:  # a bug must not stop the daemon: report it, log the traceback
            log.exception("internal error on %s", message.address)
            replies = [error_reply(request_id, f"{message.address}: internal error ({type(error).__name__})")]
            self.counts["error"] += 1
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1e3
            log.debug(
                "%s id=%d -> %d datagrams in %.2f ms", message.address, request_id, len(replies), elapsed
            )
        return replies, reply_port

    # ---- handlers (named in companion.osc.api.ENDPOINTS)

    def _ping(self, request: Request, model: Model) -> list[bytes]:
        return [encode_message("/nudge/pong", "iss", (request.id, VERSION, model.name))]

    def _seed(self, request: Request) -> int:
        seed = request.options.get("seed")
        return int(self._fresh_seeds.integers(0, MAX_ID)) if seed is None else seed

    def _generate(self, request: Request, model: Model) -> list[bytes]:
        opts = request.options
        seed = self._seed(request)
        bars = opts.get("bars", model.meta.bars)
        style = opts.get("style")
        pattern = engine.generate(
            model, request.sliders, style, bars, seed, opts.get("candidates", engine.DEFAULT_CANDIDATES)
        )
        self._queue(pattern, model.meta.output_pitches)
        notes = pattern_to_note_array(pattern, model.meta.output_pitches)
        name = f"{model.name} {style or 'any'} s{seed}"
        return notes_reply(request.id, notes, pattern.grid.length_beats, name)

    def _vary(self, request: Request, model: Model) -> list[bytes]:
        clip = request.clip
        amount = request.values["amount"]
        opts = request.options
        pattern, pitches, passthrough = clip_to_pattern(clip, model)
        if amount == 0 and "bars" not in opts:  # the clip, exactly as it came (and queued, as every reply)
            self._queue(pattern, pitches)
            return notes_reply(request.id, note_array(clip.notes), clip.length_beats, f"{model.name} nudge 0")
        seed = self._seed(request)
        varied = engine.vary(
            model,
            pattern,
            amount,
            request.sliders,
            opts.get("style"),
            seed,
            opts.get("candidates", engine.DEFAULT_CANDIDATES),
            bars=opts.get("bars"),
        )
        length = clip.length_beats if "bars" not in opts else varied.grid.length_beats
        notes = pattern_to_note_array(varied, pitches)
        notes = notes[notes["start"] < length]
        if "bars" in opts:  # cropped or looped like the clip's pattern: the same for the unread notes
            passthrough = fit_notes(passthrough, pattern.grid.length_beats, length)
        if len(passthrough):
            notes = np.concatenate([notes, note_array(passthrough)])
            notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
        self._queue(varied, pitches)
        return notes_reply(request.id, notes, length, f"{model.name} nudge {amount:.2f} s{seed}")

    def _model_list(self, request: Request, model: Model) -> list[bytes]:
        names = self.models.names() if self.models else [model.name]
        reply = encode_message("/nudge/model/list", "is" + "s" * len(names), (request.id, model.name, *names))
        if len(reply) > MAX_DATAGRAM_BYTES:
            raise ValueError(
                f"the models folder holds {len(names)} models; their names need {len(reply)} bytes, more "
                f"than one {MAX_DATAGRAM_BYTES}-byte datagram: move some out of {self.models.directory}"
            )
        return [reply]

    def _model_load(self, request: Request, model: Model) -> list[bytes]:
        if self.models is None:
            raise ValueError("no models folder is configured (start nudge serve with --models-dir)")
        name = request.values["name"]
        new = check_fits(self.models.load(name))  # ModelError -> /nudge/error; the current model serves on
        with self._swap:
            self.model = new
        log.info("model %s loaded from %s (was %s)", new.name, new.path, model.name)
        return [encode_message("/nudge/model/loaded", "is", (request.id, new.name))]

    def _model_info(self, request: Request, model: Model) -> list[bytes]:
        return [model_info_reply(request.id, model.name, model.meta)]

    def _player_call(self, request: Request, method: str, *args: Any) -> list[bytes]:
        if self.player is None:
            return [error_reply(request.id, LIVE_OFF_REASON)]
        try:
            getattr(self.player, method)(*args)
        except (RuntimeError, ValueError, OSError) as error:
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
            except (RuntimeError, ValueError, OSError) as error:
                log.warning("live MIDI could not queue the pattern: %s", error)

    # ---- the models folder

    def poll_models(self) -> None:
        """Reload the serving model when its file changed; log new models. A failed load keeps the old one."""
        if self.models is None:
            return
        current = self.model
        for name in self.models.poll():
            if name != current.name or current.path.parent.resolve() != self.models.directory.resolve():
                log.info(
                    "model %s is new or changed in %s: load it with /nudge/model/load",
                    name,
                    self.models.directory,
                )
                continue
            try:
                reloaded = check_fits(self.models.load(name))
            except ModelError as error:
                log.error(
                    "model %s changed on disk but cannot be loaded; still serving the old one: %s",
                    name,
                    error,
                )
                continue
            with self._swap:  # swap only if no /nudge/model/load replaced the model while this one loaded
                if self.model is not current:
                    log.info(
                        "model %s changed on disk; not reloaded: another model was loaded meanwhile", name
                    )
                    continue
                self.model = reloaded
            log.info("model %s changed on disk and was reloaded", name)


def check_fits(model: Model) -> Model:
    """``model``, or ``ModelError`` when its ``/nudge/model/info`` reply would not fit one datagram."""
    problem = model_info_problem(model.name, model.meta)
    if problem:
        raise ModelError(f"{model.path}: {problem}")
    return model


def fit_notes(rows: np.ndarray, period_beats: float, length_beats: float) -> np.ndarray:
    """Note rows [M, 4] of a clip that loops every ``period_beats``, repeated or cropped to ``length_beats``:
    the notes that start inside the new length (those after the period's end are not repeated)."""
    rows = rows[rows[:, 1] < period_beats]
    copies = [
        rows + np.array([0.0, k * period_beats, 0.0, 0.0])
        for k in range(math.ceil(length_beats / period_beats))
    ]
    looped = np.concatenate(copies) if copies else rows[:0]
    return looped[looped[:, 1] < length_beats]


def merged_pitch_table(output_pitches: tuple[int, ...]) -> dict[int, str]:
    """Input map for clips: the model's own output pitches first, then General MIDI, then the Roland map."""
    return {**ROLAND_GMD, **GENERAL_MIDI, **{pitch: VOICES[i] for i, pitch in enumerate(output_pitches)}}


@functools.lru_cache(maxsize=16)
def _voice_lookup(output_pitches: tuple[int, ...]) -> np.ndarray:
    """[128] pitch -> voice index (-1: unknown) for ``merged_pitch_table``."""
    voice_of = np.full(128, -1, dtype=np.int64)
    for pitch, voice in merged_pitch_table(output_pitches).items():
        voice_of[pitch] = VOICES.index(voice)
    voice_of.setflags(write=False)
    return voice_of


def clip_to_pattern(clip: Clip, model: Model) -> tuple[Pattern, list[int], np.ndarray]:
    """A vary request's clip -> (pattern on the model's grid, output pitch per voice, notes passed through).

    The vectorised equivalent of ``companion.core.notes.notes_to_pattern`` (same quantisation, loudest hit
    wins, the first of equals): pitches are read with the model's own output pitches first, then General
    MIDI and the Roland map. Each voice keeps the clip's most used pitch for it (ties: the lowest) in the
    reply.
    Notes the pattern cannot hold (unknown pitch, start after the clip's end) are passed through unchanged.
    """
    meta = model.meta
    voice_of = _voice_lookup(meta.output_pitches)
    bars = min(8, max(1, math.ceil(clip.length_beats / meta.beats_per_bar - 1e-9)))
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    rows = clip.notes
    pitches_in = rows[:, 0].astype(np.int64)
    voices = voice_of[pitches_in]
    inside = (voices >= 0) & (rows[:, 1] < clip.length_beats)  # the grid may be longer: whole bars
    index = np.flatnonzero(inside)
    positions = rows[index, 1] * grid.steps_per_beat  # in steps
    steps = np.floor(positions + 0.5).astype(np.int64)
    offsets = np.clip(positions - steps, -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS)
    steps %= grid.n_steps
    cells = voices[index] * grid.n_steps + steps
    order = np.lexsort((index, -rows[index, 3], cells))  # per cell: loudest first, then the earliest note
    cells_sorted = cells[order]
    first = order[np.r_[True, cells_sorted[1:] != cells_sorted[:-1]]] if len(order) else order
    hits = np.zeros(N_VOICES * grid.n_steps, dtype=bool)
    velocities = np.zeros(N_VOICES * grid.n_steps, dtype=np.float32)
    offsets_steps = np.zeros(N_VOICES * grid.n_steps, dtype=np.float32)
    kept = cells[first]
    hits[kept] = True
    velocities[kept] = np.minimum(rows[index[first], 3] / 127.0, 1.0)  # velocity may be up to 127.49
    offsets_steps[kept] = offsets[first]
    shape = (N_VOICES, grid.n_steps)
    # bool hits, velocity in (0, 1] and offset in range where a hit is, 0 elsewhere: valid by construction
    pattern = Pattern.unchecked(
        grid, hits.reshape(shape), velocities.reshape(shape), offsets_steps.reshape(shape)
    )
    # the most used pitch of each voice (ties: the lowest, argmax's first), else the model's own
    counts = np.bincount(voices[index] * 128 + pitches_in[index], minlength=N_VOICES * 128)
    counts = counts.reshape(N_VOICES, 128)  # [V, pitch]
    pitches = np.where(counts.any(axis=1), counts.argmax(axis=1), meta.output_pitches).tolist()
    return pattern, pitches, rows[~inside]
