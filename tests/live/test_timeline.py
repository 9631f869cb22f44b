"""companion.live.timeline: loop events with micro-timing, seeking, and queued switches (now/bar/loop)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import VOICE_INDEX
from companion.core.pattern import Grid, Pattern
from companion.live.timeline import Timeline, pattern_to_loop_events

ONE_BAR = Grid(4, 4, 1)


def make_pattern(hits: dict[str, list[tuple[int, float, float]]], grid: Grid = ONE_BAR) -> Pattern:
    """``{voice: [(step, velocity, offset_steps), ...]}`` -> Pattern."""
    shape = (9, grid.n_steps)
    h, v, o = np.zeros(shape, bool), np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for voice, rows in hits.items():
        for step, velocity, offset in rows:
            i = VOICE_INDEX[voice]
            h[i, step], v[i, step], o[i, step] = True, velocity, offset
    return Pattern(grid, h, v, o)


def take(timeline: Timeline, count: int) -> list[tuple[float, int]]:
    out = []
    for _ in range(count):
        event = timeline.peek()
        assert event is not None
        out.append((round(event.beats, 6), event.pitch))
        timeline.advance()
    return out


KICKS = make_pattern({"kick": [(0, 1.0, 0), (4, 1.0, 0), (8, 1.0, 0), (12, 1.0, 0)]})  # pitch 36 on beats
SNARES = make_pattern({"snare": [(0, 0.5, 0), (8, 0.5, 0)]})  # pitch 38 on beats 0 and 2


def test_loop_events_keep_grid_position_and_micro_timing():
    pattern = make_pattern(
        {"kick": [(0, 1.0, -0.4)], "snare": [(4, 0.5, 0.25)], "closed_hat": [(15, 0.2, 0.4)]}
    )
    loop = pattern_to_loop_events(pattern)
    assert loop.length_beats == 4.0 and loop.beats_per_bar == 4 and loop.half_step_beats == 0.125
    # the pushed kick sits before beat 0 (start -0.1) but belongs to step 0
    assert loop.start_beats == pytest.approx((-0.1, 1.0625, 3.85))
    assert loop.nominal_beats == pytest.approx((0.0, 1.0, 3.75))
    assert loop.pitches == (36, 38, 42)
    assert loop.velocities == (127, 64, 25)


def test_a_note_half_a_step_late_belongs_to_its_own_step_not_the_next():
    """The step comes from the note record: rounding the start back to a step would give a hit pushed by
    exactly half a step (the limit) to the next step, and a switch there would drop or double it."""
    pattern = make_pattern(
        {"snare": [(4, 0.5, 0.5)], "closed_hat": [(15, 0.5, 0.5)], "kick": [(0, 1.0, -0.5)]}
    )
    loop = pattern_to_loop_events(pattern)
    assert loop.nominal_beats == pytest.approx((0.0, 1.0, 3.75))  # kick, snare, hat on their own steps
    assert loop.start_beats == pytest.approx((-0.125, 1.125, 3.875))


def test_loop_events_use_given_output_pitches_and_reject_non_patterns():
    pitches = (60, 61, 62, 63, 64, 65, 66, 67, 68)
    assert pattern_to_loop_events(KICKS, pitches).pitches == (60, 60, 60, 60)
    with pytest.raises(TypeError, match="Pattern"):
        pattern_to_loop_events("not a pattern")  # type: ignore[arg-type]


def test_timeline_loops_pattern_forever_in_order():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(SNARES))
    assert take(timeline, 5) == [(0.0, 38), (2.0, 38), (4.0, 38), (6.0, 38), (8.0, 38)]


def test_seek_starts_at_first_note_at_or_after_position_and_realigns_to_the_bar():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(SNARES))
    timeline.seek(9.0)  # bar 3 starts at 8; beat 9 is past its first snare
    assert take(timeline, 2) == [(10.0, 38), (12.0, 38)]
    timeline.seek(8.0)
    assert take(timeline, 1) == [(8.0, 38)]


def test_seek_looks_back_over_the_given_beats_within_the_bar_and_across_the_loop_end():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(SNARES))
    timeline.seek(8.1, lookback_beats=0.125)  # a hair after bar 3's first snare: it still comes
    assert take(timeline, 2) == [(8.0, 38), (10.0, 38)]
    timeline.seek(8.2, lookback_beats=0.125)  # more than the look-back after it: gone
    assert take(timeline, 1) == [(10.0, 38)]
    timeline.set(pattern_to_loop_events(KICKS))
    timeline.seek(4.0, lookback_beats=0.125)  # nothing of the bar before (beat 3.0 is a whole beat back)
    assert take(timeline, 1) == [(4.0, 36)]


def test_queue_at_bar_line_keeps_old_pattern_until_then():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(KICKS))
    assert take(timeline, 2) == [(0.0, 36), (1.0, 36)]
    switch = timeline.queue(pattern_to_loop_events(SNARES), "bar", now_beats=1.3)
    assert switch == 4.0 and timeline.pending_from_beats == 4.0
    assert take(timeline, 5) == [(2.0, 36), (3.0, 36), (4.0, 38), (6.0, 38), (8.0, 38)]
    assert timeline.pending_from_beats is None and timeline.origin_beats == 4.0


def test_queue_too_close_to_the_bar_line_waits_for_the_next_one():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(KICKS))
    assert timeline.queue(pattern_to_loop_events(SNARES), "bar", now_beats=3.95) == 8.0


def test_new_pattern_notes_pushed_before_the_bar_line_still_play_early():
    pushed = make_pattern({"snare": [(0, 0.5, -0.4)]})
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(KICKS))
    take(timeline, 2)
    timeline.queue(pattern_to_loop_events(pushed), "bar", now_beats=1.5)
    assert take(timeline, 4) == [(2.0, 36), (3.0, 36), (3.9, 38), (7.9, 38)]


def test_queue_at_loop_end_of_a_two_bar_pattern():
    two_bars = make_pattern({"kick": [(0, 1.0, 0), (16, 1.0, 0)]}, Grid(4, 4, 2))
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(two_bars))
    assert take(timeline, 1) == [(0.0, 36)]
    assert timeline.queue(pattern_to_loop_events(SNARES), "loop", now_beats=1.0) == 8.0
    assert take(timeline, 3) == [(4.0, 36), (8.0, 38), (10.0, 38)]


def test_queue_now_switches_at_once_keeping_the_phase():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(KICKS))
    take(timeline, 2)  # beats 0 and 1 played
    assert timeline.queue(pattern_to_loop_events(SNARES), "now", now_beats=1.5) == 1.5
    assert take(timeline, 3) == [(2.0, 38), (4.0, 38), (6.0, 38)]


def test_newer_queue_replaces_older_and_empty_pattern_hands_over():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(make_pattern({})))
    assert timeline.peek() is None
    timeline.queue(pattern_to_loop_events(KICKS), "bar", now_beats=0.5)
    timeline.queue(pattern_to_loop_events(SNARES), "bar", now_beats=0.6)
    assert take(timeline, 2) == [(4.0, 38), (6.0, 38)]


def test_three_four_bar_lines():
    waltz = make_pattern({"kick": [(0, 1.0, 0)]}, Grid(4, 3, 1))
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(waltz))
    assert take(timeline, 2) == [(0.0, 36), (3.0, 36)]
    assert timeline.queue(pattern_to_loop_events(SNARES), "bar", now_beats=4.0) == 6.0


def test_queue_rejects_unknown_mode():
    timeline = Timeline()
    timeline.set(pattern_to_loop_events(KICKS))
    with pytest.raises(ValueError, match="when must be one of now, bar, loop"):
        timeline.queue(pattern_to_loop_events(SNARES), "soon", now_beats=0.0)
