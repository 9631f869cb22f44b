"""The searches behind ``/nudge/generate`` and ``/nudge/vary``, as one function of (request, model) that runs
in any process: the daemon's own (``Daemon.handle``) or a search process (``companion.osc.search_pool``).

``run_search(request, model)`` -> ``SearchResult``: the reply datagrams and the pattern for live MIDI (the
daemon queues it). The request comes prepared by the daemon: its clip joined with its parts and its seed drawn
on arrival (``Daemon.prepare``, ``Daemon._search_request``), so the result depends on nothing else.

``price(wanted, meta)``: what a request's search (its ``SearchRequest``) costs, in maximal searches. A
search's time is the generator's runs over its candidates (the descriptors measured on their windows grow with
them): ``candidates x runs / MAX_OSC_CANDIDATES``, where a plain generate or a vary runs the generator once, a
generate with ``keep`` (and a vary of amount 1 with ``keep``) ``LOCK_ROUNDS`` times per model-length segment
of the clip (``companion.runtime.lock``; a lock's run weighs ``LOCK_RUN_WEIGHT``, measured), and a vary of
amount 0 not at all. One datagram buys at most
``MAX_SEARCHES_PER_DATAGRAM`` (one maximal search: 1,024 candidates of a plain generate);
``bench/bench_pricing.py`` measures each kind's time against that price.
"""

from __future__ import annotations

import math

import numpy as np

from companion.core.drum_map import VOICES, clip_voice_lookup
from companion.core.errors import UsageError
from companion.core.model_meta import STYLE_ANY, ModelMeta
from companion.core.notes import clip_to_pattern as notes_clip_to_pattern
from companion.core.notes import loop_notes, notes_of_voices, pattern_to_notes
from companion.core.pattern import CLIP_PARTIAL_BAR, Grid, Pattern, bars_for_length, without_voices
from companion.osc import tool_searches
from companion.osc.api import MAX_OSC_CANDIDATES
from companion.osc.replies import SearchResult, notes_reply
from companion.osc.request import Clip, Request
from companion.runtime import lock
from companion.runtime.model import Model
from companion.runtime.search import SearchRequest, search

MIN_PRICE = 1 / 256  # a request that runs no search still has a price: reading and answering it
# a run of the voice lock costs more than a plain one (its fit, composites and their descriptors over the
# whole clip): measured by bench/bench_pricing.py with the shipped model, 1.25x (1-bar clip) to 1.66x (8 bars)
LOCK_RUN_WEIGHT = 1.5


def generator_runs(wanted: SearchRequest, meta: ModelMeta) -> float:
    """How often the search runs the generator over its candidates (``companion.runtime.search``), a run
    of the voice lock weighted by ``LOCK_RUN_WEIGHT``."""
    if wanted.cost == 0:
        return 0  # the clip comes back as it came
    if wanted.amount == 0:
        return 0  # the clip cropped or looped
    if wanted.clip is None and wanted.amount is None and not wanted.keep:
        return 1  # engine.generate: one run, its windows or segments picked from it
    if wanted.amount is not None and (wanted.amount < 1 or not wanted.keep):
        return 1  # engine.vary (amount 1 without keep: engine.generate)
    segments = math.ceil(wanted.bars / meta.bars)  # the voice lock: its rounds per model-length part
    return LOCK_RUN_WEIGHT * lock.LOCK_ROUNDS * segments


def price(wanted: SearchRequest, meta: ModelMeta) -> float:
    """What a search costs, in maximal searches."""
    return max(MIN_PRICE, wanted.candidates * generator_runs(wanted, meta) / MAX_OSC_CANDIDATES)


def max_candidates(wanted: SearchRequest, meta: ModelMeta, budget: float) -> int:
    """The most candidates ``wanted`` could ask for within ``budget`` (maximal searches)."""
    return int(budget * MAX_OSC_CANDIDATES / max(1.0, generator_runs(wanted, meta)))


def run_search(request: Request, model: Model) -> SearchResult:
    """The replies of a prepared generate or vary (``NudgeError`` for the user's mistakes)."""
    if request.endpoint.handler in tool_searches.TOOL_HANDLERS:  # the tools run where the searches run
        return tool_searches.run_tool(request, model)
    wanted = request.search
    if wanted is None:
        raise RuntimeError(f"{request.endpoint.address} reached the search without its search request")
    if request.endpoint.handler == "vary":
        if wanted.cost == 0:  # amount 0, no bars: the clip, exactly as it came (and queued)
            clip = _clip_of(request)
            pattern, pitches, _ = clip_to_pattern(clip, model)
            name = f"{model.name} nudge 0"
            replies = notes_reply(request.id, clip.notes, clip.length_beats, name)
            return SearchResult(replies, pattern, tuple(pitches))
        return _clip_reply(request, model, wanted)
    if request.options.get("keep"):
        return _clip_reply(request, model, wanted)
    if "parts" in request.options:
        raise UsageError("parts comes with a clip: /nudge/vary, or /nudge/generate with keep")
    pattern = search(model, wanted)
    out_pitches = tuple(model.meta.output_pitches)
    notes = pattern_to_notes(pattern, out_pitches)
    name = f"{model.name} {wanted.style or STYLE_ANY} s{wanted.seed}"
    return SearchResult(notes_reply(request.id, notes, pattern.grid.length_beats, name), pattern, out_pitches)


def _clip_of(request: Request) -> Clip:
    """The clip of a request the dispatcher prepared with one (vary, or generate with keep)."""
    if request.clip is None:
        raise RuntimeError(f"{request.endpoint.address} reached the search without its clip")
    return request.clip


def _clip_reply(request: Request, model: Model, wanted: SearchRequest) -> SearchResult:
    """A vary, or a generate with ``keep``, of the request's clip.

    The clip's notes of kept voices and the notes the grid cannot hold come back exactly as sent."""
    clip = _clip_of(request)
    pattern, pitches, passthrough = clip_to_pattern(clip, model)
    wanted = wanted.with_clip(pattern)
    keep, bars, seed = wanted.keep, request.options.get("bars"), wanted.seed
    result = search(model, wanted)
    if wanted.amount is None:
        name = f"{model.name} {wanted.style or STYLE_ANY}"
    else:
        name = f"{model.name} nudge {wanted.amount:.2f}"
    if keep:
        name += " keep " + "+".join(VOICES[v] for v in keep)
        kept = notes_of_voices(
            clip.notes, clip.length_beats, clip_voice_lookup(model.meta.output_pitches), keep
        )
        passthrough = np.concatenate([passthrough, kept]) if len(kept) else passthrough
    length = clip.length_beats if bars is None else result.grid.length_beats
    notes = pattern_to_notes(without_voices(result, keep), pitches)
    notes = notes[notes["start_beats"].astype(np.float32) < length]  # as the wire's float32 says
    if bars is not None:  # cropped or looped like the clip's pattern: the same for the unread notes
        passthrough = loop_notes(passthrough, pattern.grid.length_beats, length)
    if len(passthrough):
        notes = np.concatenate([notes, passthrough])
        notes = notes[np.lexsort((notes["pitch"], notes["start_beats"].astype(np.float32)))]
    return SearchResult(notes_reply(request.id, notes, length, f"{name} s{seed}"), result, tuple(pitches))


def clip_to_pattern(clip: Clip, model: Model) -> tuple[Pattern, list[int], np.ndarray]:
    """A vary request's clip -> (pattern on the model's grid, output pitch per voice, notes passed through):
    ``companion.core.notes.clip_to_pattern`` on the whole bars that hold the clip, its pitches read with the
    model's own output pitches first, then General MIDI and the Roland map (``clip_voice_lookup``)."""
    meta = model.meta
    bars = bars_for_length(clip.length_beats, meta.beats_per_bar, CLIP_PARTIAL_BAR)
    grid = Grid(meta.steps_per_beat, meta.beats_per_bar, bars)
    voice_of = clip_voice_lookup(meta.output_pitches)
    return notes_clip_to_pattern(clip.notes, clip.length_beats, grid, voice_of, meta.output_pitches)
