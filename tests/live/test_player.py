"""companion.live.player through a real MIDI transport: JACK (dummy backend), Nudge's port -> a recorder.

Timing is checked on JACK's own clock (the recorder's arrival times) with one JACK cycle plus
``MARGIN_S`` of slack; tests wait on arriving messages with timeouts, never sleep to synchronise.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from companion.core.pattern import Grid
from companion.live.clock import CLOCK_PORT_NAME, InternalClock, OscClock
from companion.live.output import open_output
from companion.live.player import Player
from companion.live.process import LiveConfig, LivePlayer
from companion.live.timeline import pattern_to_loop_events
from tests.live.test_timeline import make_pattern
from tests.support.jack import MidiRecorder, assert_paired, is_off, is_on, jack_or_skip

pytestmark = pytest.mark.integration
MARGIN_S = 0.02  # slack on a loaded 2-core machine, on top of a JACK cycle; bench_jitter.py: tight figures


KICKS = make_pattern({"kick": [(s, 1.0, 0.0) for s in (0, 4, 8, 12)]})
SNARES = make_pattern({"snare": [(s, 0.5, 0.0) for s in (0, 4, 8, 12)]})
GROOVE = make_pattern(
    {
        "kick": [(0, 1.0, 0.0), (8, 0.9, 0.0)],
        "snare": [(4, 0.6, 0.25), (12, 0.7, -0.25)],
        "closed_hat": [(2, 0.4, 0.0), (6, 0.3, 0.1), (10, 0.4, 0.0), (14, 0.3, 0.1)],
    }
)


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


@pytest.fixture
def rig(jack):
    made = []

    def build(clock=None, **kwargs):
        output = open_output("jack")
        recorder = MidiRecorder(connect_to=output.name)
        player = Player(output, clock or InternalClock(240), **kwargs)
        made.append((player, recorder))
        return player, recorder

    yield build
    for player, recorder in made:
        player.close()
        recorder.close()


def test_plays_the_right_notes_in_order_on_time_and_every_note_ends(rig, jack):
    player, recorder = rig(InternalClock(240), channel=10)
    player.queue(GROOVE)
    player.start()
    loop = pattern_to_loop_events(GROOVE)
    expected = [
        (s + k * 4.0, p, v)
        for k in range(2)
        for s, p, v in zip(loop.start_beats, loop.pitches, loop.velocities, strict=True)
    ]
    messages = []
    for _ in expected:
        messages += recorder.wait_for(is_on)
    player.stop()
    messages += recorder.drain(0.3)
    ons = [r for r in messages if is_on(r)]
    assert [(r.message[0], r.message[1], r.message[2]) for r in ons] == [(0x99, p, v) for _, p, v in expected]
    assert_paired(messages)
    tolerance = jack.cycle_s + MARGIN_S
    for r, (beats, _, _) in zip(ons, expected, strict=True):  # 240 BPM: a beat is 0.25 s
        assert r.jack_time_s - ons[0].jack_time_s == pytest.approx(beats * 0.25, abs=tolerance)
    assert player.stats.late_skipped == 0


def test_stop_ends_the_sounding_note_at_once_and_plays_nothing_more(rig, jack):
    player, recorder = rig(InternalClock(30))  # a 16th lasts 0.5 s, its note 0.25 s
    player.queue(KICKS)
    player.start()
    on = recorder.wait_for(is_on)[-1]
    player.stop()
    off = recorder.wait_for(is_off)[-1]
    assert off.message[1] == on.message[1]
    assert off.jack_time_s - on.jack_time_s < 0.1  # sent on stop, not at its scheduled 0.25 s
    assert recorder.drain(0.4) == []
    assert_paired(recorder.received)


def test_switch_at_the_next_bar_line(rig, jack):
    player, recorder = rig(InternalClock(240))
    player.queue(KICKS)
    player.start()
    first = recorder.wait_for(is_on)[-1]
    player.queue(SNARES, "bar")
    messages = []
    for _ in range(5):
        messages += recorder.wait_for(is_on)
    ons = [r for r in messages if is_on(r)]
    assert [r.message[1] for r in ons] == [36, 36, 36, 38, 38]
    assert ons[3].jack_time_s - first.jack_time_s == pytest.approx(1.0, abs=jack.cycle_s + MARGIN_S)
    player.stop()
    recorder.drain(0.3)
    assert_paired(recorder.received)


def test_switch_at_the_loop_end_of_a_two_bar_pattern(rig, jack):
    player, recorder = rig(InternalClock(240), switch="loop")
    two_bars = make_pattern({"kick": [(0, 1.0, 0.0), (16, 1.0, 0.0)]}, Grid(4, 4, 2))
    player.queue(two_bars)
    player.start()
    first = recorder.wait_for(is_on)[-1]
    player.queue(SNARES, player.switch)
    ons = [r for r in recorder.wait_for(is_on) + recorder.wait_for(is_on) if is_on(r)]
    assert [r.message[1] for r in ons] == [36, 38]
    assert ons[1].jack_time_s - first.jack_time_s == pytest.approx(2.0, abs=jack.cycle_s + MARGIN_S)


def test_switch_now_keeps_the_phase_and_ends_the_old_note(rig, jack):
    player, recorder = rig(InternalClock(60))  # a beat is 1 s, a note 0.125 s
    player.queue(KICKS)
    player.start()
    first = recorder.wait_for(is_on)[-1]
    player.queue(SNARES, "now")
    messages = recorder.wait_for(is_on)
    snare = messages[-1]
    assert snare.message[1] == 38
    assert snare.jack_time_s - first.jack_time_s == pytest.approx(1.0, abs=jack.cycle_s + MARGIN_S)
    assert [r.message[1] for r in messages if is_off(r)] == [36]  # the kick got its note-off
    player.stop()
    recorder.drain(0.3)
    assert_paired(recorder.received)


def test_tempo_change_keeps_notes_paired_and_moves_the_grid(rig, jack):
    player, recorder = rig(InternalClock(30))
    player.queue(KICKS)
    player.start()
    recorder.wait_for(is_on)
    player.set_bpm(240)  # mid-note: its note-off comes at the new tempo, the next beat 0.25 s later
    messages = recorder.wait_for(is_on) + recorder.wait_for(is_on)
    ons = [r for r in messages if is_on(r)]
    assert ons[1].jack_time_s - ons[0].jack_time_s == pytest.approx(0.25, abs=jack.cycle_s + MARGIN_S)
    player.stop()
    recorder.drain(0.3)
    assert_paired(recorder.received)


def test_panic_ends_notes_with_all_notes_off_and_keeps_playing(rig):
    player, recorder = rig(InternalClock(30), channel=3)
    player.queue(KICKS)
    player.start()
    recorder.wait_for(is_on)
    player.panic()
    messages = recorder.wait_for(lambda r: r.message == (0xB2, 123, 0))
    assert [r.message for r in messages] == [(0x82, 36, 0), (0xB2, 123, 0)]
    assert recorder.wait_for(is_on)[-1].message == (0x92, 36, 127)  # the beat goes on
    player.stop()


def test_follows_osc_transport_position_and_stop(rig, jack):
    player, recorder = rig(OscClock(120))
    player.queue(make_pattern({"snare": [(0, 0.5, 0.0), (8, 0.5, 0.0)]}))  # beats 0 and 2 of each bar
    player.start()
    assert recorder.drain(0.2) == []  # started, but the DAW's transport is stopped
    assert player.set_transport(240.0, 3.0, True)
    on = recorder.wait_for(is_on)[-1]  # beat 4, a quarter second later
    assert on.message[1] == 38
    assert on.time_s - player.clock.state().time_at(4.0) == pytest.approx(0.0, abs=0.05)
    player.set_transport(240.0, 4.05, False)
    assert recorder.drain(0.4) and recorder.drain(0.3) == []
    assert_paired(recorder.received)


def test_set_transport_validates_even_when_not_followed(rig):
    player, _ = rig(InternalClock(120))
    assert player.set_transport(100.0, 0.0, True) is False
    with pytest.raises(ValueError, match=r"bpm must be in 20\.\.999"):
        player.set_transport(1000.0, 0.0, True)
    with pytest.raises(ValueError, match="when must be one of now, bar, loop"):
        player.queue(KICKS, "later")


def test_follows_midi_clock_from_a_daw_through_jack(jack):
    """The player and its MIDI clock in the player's own process (``LivePlayer``, as ``nudge serve`` runs it):
    closing the clock's JACK input may crash the process that does it, and that must not be the test run.
    """
    import rtmidi

    with LivePlayer(LiveConfig(api="jack", clock="midi", bpm=100)) as player:
        assert player.clock_kind == "midi"
        recorder = MidiRecorder(connect_to=player.port_name)
        daw = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="Daw")
        try:
            daw.open_port(daw.get_ports().index(f"{CLOCK_PORT_NAME}:{CLOCK_PORT_NAME}"))
            player.queue(KICKS)
            player.start()
            spacing = 60.0 / 150.0 / 24  # the DAW plays at 150 BPM: a beat is 0.4 s
            daw.send_message([0xFA])
            t0 = time.monotonic()
            for i in range(24 * 2 + 4):  # a little over two beats of clock, paced like a DAW
                time.sleep(max(0.0, t0 + 0.01 + i * spacing - time.monotonic()))
                daw.send_message([0xF8])
            daw.send_message([0xFC])
            ons = [r for _ in range(3) for r in recorder.wait_for(is_on)[-1:]]
            gaps = np.diff([r.jack_time_s for r in ons])
            assert np.allclose(gaps, 0.4, atol=jack.cycle_s + 2 * MARGIN_S)
            recorder.drain(0.3)
            assert_paired(recorder.received)
        finally:
            daw.delete()
            recorder.close()


def test_a_queue_brings_its_reply_pitches_and_the_drum_map_overrides_still_win(rig, jack):
    player, recorder = rig(InternalClock(240), pitch_overrides={"snare": 40})
    two_voices = make_pattern({"kick": [(0, 1.0, 0.0)], "snare": [(4, 0.6, 0.0)]})
    pitches = (35, 38, 42, 46, 43, 47, 50, 49, 51)  # e.g. a varied clip that keeps its own kick, 35
    player.queue(two_voices, "now", pitches=pitches)
    player.start()
    ons = recorder.wait_for(lambda r: len([m for m in recorder.received if is_on(m)]) >= 2)
    assert sorted({r.message[1] for r in ons if is_on(r)}) == [35, 40]  # the reply's kick, the map's snare
    player.stop()
    with pytest.raises(ValueError, match=r"pitches must be 9 ints in 0\.\.127"):
        player.queue(two_voices, "now", pitches=(36,) * 8)
    with pytest.raises(ValueError, match=r"pitches must be 9 ints in 0\.\.127"):
        player.queue(two_voices, "now", pitches=(36,) * 8 + (128,))


# -- a transport start a hair after a grid step (issue 17, finding 1): look-back on seek ----------------

DOWNBEAT = make_pattern(
    {"kick": [(0, 1.0, 0.0)], "closed_hat": [(0, 0.5, 0.12)], "snare": [(8, 0.6, 0.0)]}
)  # kick on beat 0, a hat at beat 0.03 (step 0 pushed 0.12 steps), a snare on beat 2


@pytest.mark.parametrize("start_beats", [0.001, 0.01, 0.1249, 4.002])
def test_a_start_within_half_a_step_after_a_note_still_plays_it_and_the_notes_after(rig, start_beats):
    player, recorder = rig(OscClock(120))
    player.queue(DOWNBEAT)
    player.start()
    assert player.set_transport(120.0, start_beats, True)
    ons = []
    while len(ons) < 3:
        ons += [r for r in recorder.wait_for(is_on, timeout=3.0) if is_on(r)]
    assert [r.message[1] for r in ons] == [36, 42, 38]  # the kick, the (future) hat, then the snare
    # the kick at once, the hat at its own time if still ahead, the snare on beat 2 (120 BPM: 0.5 s a beat)
    bar = 4.0 * (start_beats // 4.0)
    hat_in_s = max(0.0, (bar + 0.03 - start_beats) * 0.5)
    assert ons[1].jack_time_s - ons[0].jack_time_s == pytest.approx(hat_in_s, abs=0.01 + MARGIN_S)
    snare_in_s = (bar + 2.0 - start_beats) * 0.5
    assert ons[2].jack_time_s - ons[0].jack_time_s == pytest.approx(snare_in_s, abs=0.01 + MARGIN_S)
    player.set_transport(120.0, start_beats + 1.5, False)
    recorder.drain(0.3)
    assert_paired(recorder.received)


def test_a_start_more_than_half_a_step_after_a_note_skips_it(rig):
    player, recorder = rig(OscClock(120))
    player.queue(DOWNBEAT)
    player.start()
    assert player.set_transport(120.0, 0.2, True)  # past the kick's half step (0.125): the snare comes first
    ons = [r for r in recorder.wait_for(is_on, timeout=3.0) if is_on(r)]
    assert [r.message[1] for r in ons] == [38]
    player.set_transport(120.0, 1.2, False)
    recorder.drain(0.3)


def test_a_restart_on_a_step_plays_its_note_pushed_a_hair_early(rig):
    pushed = make_pattern({"snare": [(10, 0.6, -0.004)]})  # nominal beat 2.5, sounds at 2.499
    player, recorder = rig(OscClock(120))
    player.queue(pushed)
    player.start()
    player.set_transport(120.0, 4.0, True)
    player.set_transport(120.0, 4.2, False)  # stop, then play again from beat 6.5 (bar 2, beat 2.5)
    assert recorder.drain(0.2) == []
    assert player.set_transport(120.0, 6.5, True)
    on = recorder.wait_for(is_on, timeout=1.0)[-1]
    assert on.message[1] == 38
    player.set_transport(120.0, 7.0, False)
    recorder.drain(0.3)
    assert_paired(recorder.received)
