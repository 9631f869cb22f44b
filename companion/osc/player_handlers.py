"""The daemon's live MIDI handlers (``/nudge/play/*``, ``/nudge/transport``) and the hand-over of a generated
pattern to the player: a mixin of ``companion.osc.dispatch.Daemon``, which owns ``player`` (any object with
``start() stop() panic() queue(pattern, when, pitches) set_transport(bpm, beat, playing)``, or None when
live MIDI is off) and ``_queued_any``."""

from __future__ import annotations

import logging
from typing import Any

from companion.core.errors import NudgeError
from companion.core.pattern import Pattern
from companion.osc.api import LIVE_OFF_REASON
from companion.osc.replies import error_reply, ok_reply
from companion.osc.request import Request
from companion.runtime.model import Model

log = logging.getLogger("companion.osc.dispatch")  # the daemon's one logger for its requests


class PlayerHandlers:
    """Live MIDI requests: each answers at once (``ok`` for those with an id) or with the player's error."""

    player: Any
    _queued_any: bool

    def _player_call(self, request: Request, method: str, *args: Any) -> list[bytes]:
        if self.player is None:
            return [error_reply(request.id, LIVE_OFF_REASON)]
        try:
            getattr(self.player, method)(*args)
        except (NudgeError, OSError) as error:  # OSError: the MIDI driver's
            return [error_reply(request.id, f"live MIDI: {error}")]
        return [ok_reply(request.id)] if request.endpoint.has_id else []

    def _play_start(self, request: Request, model: Model) -> list[bytes]:
        if self.player is not None and not self._queued_any:
            log.info("/nudge/play/start: nothing generated yet; the first pattern generated will play")
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
            self._queued_any = True
            try:
                self.player.queue(pattern, when=getattr(self.player, "switch", "bar"), pitches=pitches)
            except (NudgeError, OSError) as error:  # the reply goes out all the same
                log.warning("live MIDI could not queue the pattern: %s", error)
