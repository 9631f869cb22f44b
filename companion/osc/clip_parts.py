"""The parts of a clip too long for one datagram (``/nudge/vary/part``), held by request id until the
``/nudge/vary`` with ``parts n_parts`` takes them. Bounded: at most ``MAX_PENDING_CLIPS`` clips (the oldest
is dropped first), each at most ``MAX_CLIP_NOTES`` notes, and parts older than ``CLIP_PARTS_SECONDS`` are
dropped. Ids are the client's: a device numbers its requests from a random start, so two devices do not
share one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from companion.core.errors import UsageError
from companion.osc.api import CLIP_PARTS_SECONDS, MAX_CLIP_NOTES, MAX_PENDING_CLIPS


@dataclass
class _Clip:
    n_parts: int
    since_s: float
    parts: dict[int, np.ndarray] = field(default_factory=dict)  # part -> notes [M] of NOTE_DTYPE


class ClipParts:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._clips: OrderedDict[int, _Clip] = OrderedDict()

    def _drop_stale(self, now_s: float) -> None:
        for request_id in [i for i, c in self._clips.items() if now_s - c.since_s > CLIP_PARTS_SECONDS]:
            del self._clips[request_id]

    def add(self, request_id: int, part: int, n_parts: int, notes: np.ndarray) -> None:
        """Hold one part (a repeated part replaces the earlier one); raises ValueError naming the problem."""
        now_s = self._clock()
        self._drop_stale(now_s)
        if part >= n_parts:
            raise UsageError(f"part must be in 0..{n_parts - 1} (n_parts {n_parts}), got {part}")
        clip = self._clips.get(request_id)
        if clip is None or clip.n_parts != n_parts:
            clip = self._clips[request_id] = _Clip(n_parts, now_s)
        held = sum(len(n) for p, n in clip.parts.items() if p != part) + len(notes)
        if held > MAX_CLIP_NOTES:
            del self._clips[request_id]
            raise UsageError(f"the clip's parts hold {held} notes; at most {MAX_CLIP_NOTES}")
        clip.parts[part] = notes
        self._clips.move_to_end(request_id)
        while len(self._clips) > MAX_PENDING_CLIPS:
            self._clips.popitem(last=False)

    def take(self, request_id: int, n_parts: int) -> np.ndarray:
        """The notes of parts 0..n_parts-1 in order, forgotten here; ValueError when any is missing."""
        self._drop_stale(self._clock())
        clip = self._clips.pop(request_id, None)
        held = clip.parts if clip is not None and clip.n_parts == n_parts else {}
        missing = [p for p in range(n_parts) if p not in held]
        if missing:
            listed = ", ".join(map(str, missing))
            raise UsageError(
                f"part(s) {listed} of the clip's {n_parts} did not arrive (or came more than "
                f"{CLIP_PARTS_SECONDS:g} s before /nudge/vary); send them again"
            )
        return np.concatenate([held[p] for p in range(n_parts)])

    def discard(self, request_id: int) -> None:
        """Forget the parts held for ``request_id`` (its request was cancelled), if any."""
        self._clips.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._clips)
