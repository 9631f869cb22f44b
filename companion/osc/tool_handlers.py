"""The handlers of the tools (``/nudge/groove``, ``drumify``, ``continue``, ``interpolate``, ``fill``): the
request's clip through ``companion.runtime.tool_clips`` (the same code as the CLI) into a note reply.

A mixin of ``companion.osc.dispatch.Daemon``: it uses the daemon's ``_joined_clip`` (clips sent in parts),
``_fresh_seeds`` (a fresh seed, drawn on arrival, for requests without one) and ``_queue`` (live MIDI plays
the result too).
"""

from __future__ import annotations

import numpy as np

from companion.core.drum_map import clip_voice_lookup
from companion.core.errors import UsageError
from companion.core.notes import clip_to_pattern
from companion.core.pattern import CLIP_PARTIAL_BAR, Grid, bars_for_length
from companion.osc.api import MAX_ID
from companion.osc.replies import notes_reply
from companion.osc.request import Clip, Request
from companion.runtime import tool_clips
from companion.runtime.model import Model
from companion.runtime.search_request import DEFAULT_CANDIDATES

TOOL_HANDLERS = ("groove", "drumify", "continue", "interpolate", "fill")


class ToolHandlers:
    def _tool_arrival(self, request: Request, model: Model) -> int:
        """On arrival: a request without a seed gets a fresh one (as generate and vary do); its cost."""
        if "seed" not in request.options:
            request.options["seed"] = int(self._fresh_seeds.integers(0, MAX_ID))  # type: ignore[attr-defined]
        return tool_cost(request, model)

    def _tool_setup(self, request: Request) -> tuple[Clip, int, str | None, int]:
        clip = request.clip = self._joined_clip(request)  # type: ignore[attr-defined]
        opts = request.options
        return clip, opts["seed"], opts.get("style"), opts.get("candidates", DEFAULT_CANDIDATES)

    def _tool_reply(
        self, request: Request, model: Model, notes: np.ndarray, length: float, name: str
    ) -> list[bytes]:
        notes = notes[notes["start_beats"] < length]
        self._queue_notes(model, notes, length)
        return notes_reply(request.id, notes, length, name)

    def _queue_notes(self, model: Model, notes: np.ndarray, length: float) -> None:
        """Live MIDI plays the answer as it plays every other (the notes read back onto the grid)."""
        if getattr(self, "player", None) is None:
            return
        meta = model.meta
        grid = Grid(
            meta.steps_per_beat,
            meta.beats_per_bar,
            bars_for_length(length, meta.beats_per_bar, CLIP_PARTIAL_BAR),
        )
        pattern, pitches, _ = clip_to_pattern(
            notes, length, grid, clip_voice_lookup(meta.output_pitches), meta.output_pitches
        )
        self._queue(pattern, pitches)  # type: ignore[attr-defined]

    def _groove(self, request: Request, model: Model) -> list[bytes]:
        clip, seed, style, n = self._tool_setup(request)
        amount = request.values["amount"]
        notes = tool_clips.groove_clip(
            model, clip.notes, clip.length_beats, amount, style=style, seed=seed, n=n
        )
        return self._tool_reply(
            request, model, notes, clip.length_beats, f"{model.name} groove {amount:.2f} s{seed}"
        )

    def _drumify(self, request: Request, model: Model) -> list[bytes]:
        clip, seed, style, n = self._tool_setup(request)
        notes = tool_clips.drumify_clip(
            model, clip.notes, clip.length_beats, request.sliders, style=style, seed=seed, n=n
        )
        name = f"{model.name} drumify {style or 'any'} s{seed}"
        return self._tool_reply(request, model, notes, clip.length_beats, name)

    def _continue(self, request: Request, model: Model) -> list[bytes]:
        clip, seed, style, n = self._tool_setup(request)
        bars = request.values["bars"]
        notes, length = tool_clips.continue_clip(
            model, clip.notes, clip.length_beats, bars, sliders=request.sliders, style=style, seed=seed, n=n
        )
        return self._tool_reply(request, model, notes, length, f"{model.name} continue +{bars} s{seed}")

    def _fill(self, request: Request, model: Model) -> list[bytes]:
        clip, seed, style, n = self._tool_setup(request)
        notes = tool_clips.fill_clip(model, clip.notes, clip.length_beats, style=style, seed=seed, n=n)
        return self._tool_reply(request, model, notes, clip.length_beats, f"{model.name} fill s{seed}")

    def _interpolate(self, request: Request, model: Model) -> list[bytes]:
        clip, seed, _, n = self._tool_setup(request)
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
        return self._tool_reply(
            request, model, path[step - 1], a_beats, f"{model.name} interpolate {step}/{count} s{seed}"
        )


def tool_cost(request: Request, model: Model) -> int:
    """Candidate-bars of a tool request: candidates x the bars of the answer (interpolate: of each path's
    pattern, x its count; the path is built whole for every step)."""
    opts, meta = request.options, model.meta
    candidates = int(opts.get("candidates", DEFAULT_CANDIDATES))
    length = request.clip.length_beats if request.clip is not None else meta.beats_per_bar
    bars = bars_for_length(length, meta.beats_per_bar, CLIP_PARTIAL_BAR)
    handler = request.endpoint.handler
    if handler == "continue":
        bars += int(request.values["bars"])
    elif handler == "interpolate":
        bars = max(1, bars // 2)
    return candidates * bars
