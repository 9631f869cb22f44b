"""Issue 26 (defect 1): the live player's scheduling thread never loops without a bound nor holds its lock
for good, whatever song position its clock reports (here 3e38 beats, beyond any edge check, through
``Clock.resume``); it keeps its heartbeat, and plays on once the transport moves. A real JACK port."""

from __future__ import annotations

import threading
import time

import pytest

from companion.live.clock import ClockState, OscClock
from companion.live.output import open_output
from companion.live.player import MAX_SENT_PER_STEP, MAX_WAIT_S, Player
from tests.live.test_player import KICKS
from tests.support.jack import MidiRecorder, is_on, jack_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


def returns_within(call, seconds: float) -> bool:
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_a_song_position_no_player_can_pass_never_holds_the_thread(jack):
    output = open_output("jack")
    recorder = MidiRecorder(connect_to=output.name)
    clock = OscClock(120.0)
    player = Player(output, clock)
    try:
        player.queue(KICKS, "now")
        player.start()
        clock.set_transport(120.0, 0.0, True)
        recorder.wait_for(is_on)
        # adding a step to 3e38 changes nothing: every note is due at once, for ever
        clock.resume(ClockState(True, 120.0, time.monotonic(), 3e38))
        jumped = time.monotonic()
        assert returns_within(player.panic, 5.0), "the scheduling thread holds the player's lock"
        # a turn that began after the jump (the heartbeat is set before a turn reads the clock), then the
        # stats under the lock, once that turn ended (read bare, a turn in flight shows a note-on ahead)
        deadline = jumped + 5.0
        while player.heartbeat_s <= jumped and time.monotonic() < deadline:
            time.sleep(0.002)
        assert player.heartbeat_s > jumped, "the scheduling thread took no turn after the jump"
        stats = player.stats_snapshot()
        assert stats.notes_on == stats.notes_off and stats.notes_on <= MAX_SENT_PER_STEP  # no flood either
        clock.set_transport(120.0, 8.0, False)
        moved = time.monotonic()
        clock.set_transport(120.0, 8.0, True)  # the transport moves on: the player follows again
        recorder.wait_for(lambda r: is_on(r) and r.time_s > moved)
        assert player.heartbeat_s > moved - MAX_WAIT_S
    finally:
        assert returns_within(player.close, 5.0)
        recorder.close()
