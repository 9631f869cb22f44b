"""The tools behind ``/nudge/groove``, ``drumify``, ``continue``, ``interpolate`` and ``fill``, as functions
of (request, model) that run in any process, as the searches do (``companion.osc.searches.run_search``
hands them here, in the daemon or in a search process): the request's clip through
``companion.runtime.tool_clips`` (the CLI's code) into a note reply and the pattern live MIDI plays.

``price(request, meta)``: what a tool costs, in maximal searches, as ``searches.price`` counts them: its
candidates times the runs of the tools graph over them (one per model-length window of the answer, each
weighing ``TOOLS_RUN_WEIGHT``: the graph is larger than the generator, measured by
``bench/bench_pricing.py``), or, without a tools graph, the latent search's rounds; Interpolate runs the
generator once and measures its paths. The request comes prepared by the daemon (``Daemon.prepare``): its
clip joined with its parts, its seed drawn on arrival (``Daemon._tool_arrival``).
"""

from __future__ import annotations

import math

import numpy as np

from companion.core.drum_map import clip_voice_lookup
from companion.core.errors import UsageError
from companion.core.model_meta import ModelMeta
from companion.core.notes import clip_to_pattern
from companion.core.pattern import CLIP_PARTIAL_BAR, Grid, bars_for_length
from companion.osc.api import MAX_OSC_CANDIDATES
from companion.osc.replies import SearchResult, notes_reply
from companion.osc.request import Request
from companion.runtime import tool_clips, tool_search
from companion.runtime.model import Model
from companion.runtime.search_request import DEFAULT_CANDIDATES

TOOL_HANDLERS = ("groove", "drumify", "continue", "interpolate", "fill")
TOOLS_RUN_WEIGHT = 2.0  # one run of the tools graph against one of the generator (bench/bench_pricing.py)
MIN_PRICE = 1 / 256


def price(request: Request, meta: ModelMeta, has_tools: bool = True) -> float:
    """What a tool request costs, in maximal searches."""
    handler = request.endpoint.handler
    candidates = int(request.options.get("candidates", DEFAULT_CANDIDATES))
    length = request.clip.length_beats if request.clip is not None else meta.beats_per_bar
    bars = bars_for_length(length, meta.beats_per_bar, CLIP_PARTIAL_BAR)
    if handler == "interpolate":  # one generator run, and every candidate's path measured at each step
        runs = 1.0 + request.values["count"] / 4
    else:
        if handler == "fill":
            windows = 1
        elif handler == "continue":  # the new bars, a window of the model for each two of them
            windows = math.ceil(int(request.values["bars"]) / max(1, meta.bars // 2))
        else:
            windows = math.ceil(bars / meta.bars)
        runs = windows * (TOOLS_RUN_WEIGHT if has_tools else tool_search.ROUNDS)
    return max(MIN_PRICE, candidates * runs / MAX_OSC_CANDIDATES)


def run_tool(request: Request, model: Model) -> SearchResult:
    """The replies of a prepared tool request (``NudgeError`` for the user's mistakes)."""
    handler, opts, clip = request.endpoint.handler, request.options, request.clip
    if clip is None:
        raise RuntimeError(f"{request.endpoint.address} reached its tool without its clip")
    seed, style = opts["seed"], opts.get("style")
    n = opts.get("candidates", DEFAULT_CANDIDATES)
    length = clip.length_beats
    if handler == "groove":
        amount = request.values["amount"]
        notes = tool_clips.groove_clip(model, clip.notes, length, amount, style=style, seed=seed, n=n)
        name = f"{model.name} groove {amount:.2f} s{seed}"
    elif handler == "drumify":
        notes = tool_clips.drumify_clip(
            model, clip.notes, length, request.sliders, style=style, seed=seed, n=n
        )
        name = f"{model.name} drumify {style or 'any'} s{seed}"
    elif handler == "continue":
        bars = request.values["bars"]
        notes, length = tool_clips.continue_clip(
            model, clip.notes, length, bars, sliders=request.sliders, style=style, seed=seed, n=n
        )
        name = f"{model.name} continue +{bars} s{seed}"
    elif handler == "fill":
        notes = tool_clips.fill_clip(model, clip.notes, length, style=style, seed=seed, n=n)
        name = f"{model.name} fill s{seed}"
    else:
        notes, length, name = _interpolate(request, model, seed, n)
    notes = notes[notes["start_beats"] < length]
    return _result(request, model, notes, length, name)


def _interpolate(request: Request, model: Model, seed: int, n: int) -> tuple[np.ndarray, float, str]:
    clip = request.clip
    if clip is None:  # the registry asks a clip of /nudge/interpolate (needs_clip): never here without one
        raise UsageError("interpolate needs a clip: A then B, split at split_beats")
    count, step, split = (request.values[k] for k in ("count", "step", "split_beats"))
    if step > count:
        raise UsageError(f"step must be in 1..count ({count}), got {step}")
    a_beats, b_beats = split, clip.length_beats - split
    if abs(a_beats - b_beats) > 1e-6:
        raise UsageError(
            f"A is {a_beats:g} beats and B {b_beats:g} (split_beats {split:g} of length_beats "
            f"{clip.length_beats:g}): interpolate needs two clips of the same length"
        )
    starts = clip.notes["start_beats"]
    a_notes, b_notes = clip.notes[starts < split], clip.notes[starts >= split].copy()
    b_notes["start_beats"] -= split
    path = tool_clips.interpolate_clips(
        model, a_notes, a_beats, b_notes, b_beats, count=count, seed=seed, n=n
    )
    return path[step - 1], a_beats, f"{model.name} interpolate {step}/{count} s{seed}"


def _result(request: Request, model: Model, notes: np.ndarray, length: float, name: str) -> SearchResult:
    """The note reply, and the answer read back onto the grid for live MIDI (as every other answer)."""
    meta = model.meta
    grid = Grid(
        meta.steps_per_beat, meta.beats_per_bar, bars_for_length(length, meta.beats_per_bar, CLIP_PARTIAL_BAR)
    )
    pattern, pitches, _ = clip_to_pattern(
        notes, length, grid, clip_voice_lookup(meta.output_pitches), meta.output_pitches
    )
    return SearchResult(notes_reply(request.id, notes, length, name), pattern, tuple(pitches))
