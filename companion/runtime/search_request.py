"""One request to the search, checked and with its defaults and its cost resolved once.

``SearchRequest.of(meta, ...)`` checks what a generate or a vary asks for against the model and fills in
the defaults (bars: the clip's, else the model's; candidates: ``DEFAULT_CANDIDATES``); ``cost`` is the work
it buys, in candidate-bars. The daemon prices and schedules requests by it; ``nudge generate`` and the
evaluation make the same record; ``companion.runtime.search.search`` serves it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from companion.core.drum_map import N_VOICES
from companion.core.errors import UsageError
from companion.core.model_meta import ModelMeta
from companion.core.pattern import (  # one candidates range: the CLI, the OSC option, the evaluation
    CLIP_PARTIAL_BAR,
    DEFAULT_CANDIDATES,
    MAX_BARS,
    MAX_CANDIDATES,
    MIN_CANDIDATES,
    Pattern,
    bars_for_length,
)


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """What one generate or vary asks of the search, checked and with its defaults resolved."""

    seed: int
    sliders: Mapping[str, float] = field(default_factory=dict)  # condition -> 0..1; silent ones: see search
    style: str | None = None  # None: any style (a seeded draw per candidate)
    candidates: int = DEFAULT_CANDIDATES  # latent vectors per round of the search
    bars: int  # the result's length
    amount: float | None = None  # vary: 0 the clip .. 1 fresh; None: generate (with a clip: around keep)
    keep: tuple[int, ...] = ()  # voices of the clip kept exactly
    clip: Pattern | None = None  # the clip to vary or to keep voices of (at its own length)
    cost: int  # candidate-bars of search (0: nothing to search, the clip comes back as it is)

    @classmethod
    def of(
        cls,
        meta: ModelMeta,
        *,
        seed: int,
        sliders: Mapping[str, float] | None = None,
        style: str | None = None,
        candidates: int | None = None,
        bars: int | None = None,
        amount: float | None = None,
        keep: tuple[int, ...] = (),
        clip: Pattern | None = None,
        clip_beats: float | None = None,
    ) -> SearchRequest:
        """The request, checked against ``meta`` (``UsageError`` naming the field); ``clip_beats`` is the
        clip's loop length when the clip itself comes later (``with_clip``), as with the daemon's parts."""
        if clip is not None:
            clip_beats = clip.grid.length_beats
        has_clip = clip_beats is not None
        candidates = DEFAULT_CANDIDATES if candidates is None else candidates
        _check_int("candidates", candidates, MIN_CANDIDATES, MAX_CANDIDATES)
        if bars is not None:
            _check_int("bars", bars, 1, MAX_BARS)
        if amount is not None and not (
            isinstance(amount, int | float) and math.isfinite(amount) and 0 <= amount <= 1
        ):
            raise UsageError(f"amount must be a number in 0..1, got {amount!r}")
        if any(not 0 <= v < N_VOICES for v in keep):
            raise UsageError(f"keep must name voices 0..{N_VOICES - 1}, got {list(keep)}")
        if has_clip and amount is None and not keep:
            raise UsageError("keep names no voice: give at least one voice to keep")
        if not has_clip and (amount is not None or keep):
            raise UsageError("amount and keep need a clip: the pattern to vary or to keep voices of")
        if style is not None and not meta.styles:
            raise UsageError(f"this model has no styles; got style {style!r}")
        if style is not None and style not in meta.styles:
            raise UsageError(f"unknown style {style!r}; allowed: {list(meta.styles)}")
        for name, value in (sliders or {}).items():
            if name not in meta.condition_names:
                raise UsageError(f"unknown condition {name!r}; this model has {list(meta.condition_names)}")
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise UsageError(f"condition {name!r} must be a number in 0..1, got {value!r}")
        if bars is not None:
            resolved = bars
        elif clip_beats is not None:
            resolved = bars_for_length(clip_beats, meta.beats_per_bar, CLIP_PARTIAL_BAR)
        else:
            resolved = meta.bars
        echo = amount == 0 and bars is None  # the clip comes back exactly as it is
        return cls(
            seed=seed,
            sliders=dict(sliders or {}),
            style=style,
            candidates=candidates,
            bars=resolved,
            amount=amount,
            keep=tuple(sorted(set(keep))),
            clip=clip,
            cost=0 if echo else candidates * resolved,
        )

    def with_clip(self, clip: Pattern) -> SearchRequest:
        """This request with its clip (made with ``clip_beats``: the clip's length is already counted)."""
        return replace(self, clip=clip)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be an int in {low}..{high}, got {value!r}")
