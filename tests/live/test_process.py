"""companion.live.process: the player in its own process, through JACK; signals and a vanished parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from companion.core.drum_map import OUTPUT_PITCHES
from companion.core.pattern import Grid, Pattern
from companion.live.output import MidiPortError
from companion.live.process import LiveConfig, LivePlayer, LivePlayerError
from tests.support.jack import MidiRecorder, assert_paired, is_off, is_on, jack_or_skip

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
MARGIN_S = 0.02  # slack for a loaded 2-core machine; bench/bench_jitter.py measures the tight figures


def beats_pattern(voice: int = 0) -> Pattern:
    hits = np.zeros((9, 16), bool)
    hits[voice, ::4] = True
    return Pattern(Grid(4, 4, 1), hits, hits * 0.8, np.zeros((9, 16)))


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


@pytest.fixture
def sink(jack, request):
    """A recorder whose JACK client name is this test's own: no leftover of another test matches it."""
    name = "Sink" + "".join(ch for ch in request.node.name if ch.isalnum())[-24:]
    recorder = MidiRecorder(client_name=name)
    try:
        yield recorder
    finally:
        recorder.close()


def client_of(recorder: MidiRecorder) -> str:
    return recorder.port_name.rsplit(":", 1)[0]


def test_plays_on_time_stops_cleanly_and_reports(jack, sink):
    recorder = sink
    with LivePlayer(LiveConfig(api="jack", port=client_of(sink), bpm=240.0, trace=True)) as player:
        assert player.port_name == sink.port_name and player.clock_kind == "internal" and player.alive
        player.queue(beats_pattern())
        player.start()
        ons = [r for _ in range(5) for r in recorder.wait_for(is_on)[-1:]]
        player.stop()  # returns once the note-off is out
        assert [r.message for r in ons] == [(0x99, 36, 102)] * 5
        gaps = np.diff([r.jack_time_s for r in ons])
        assert np.allclose(gaps, 0.25, atol=jack.cycle_s + MARGIN_S)  # a beat at 240 BPM
        stats = player.stats
        assert stats.notes_on >= 5 and stats.notes_on == stats.notes_off and stats.late_skipped == 0
        assert len(player.trace()) == stats.notes_on + stats.notes_off
    assert not player.alive
    recorder.drain(0.3)
    assert_paired(recorder.received)


def test_errors_come_back_to_the_caller_and_change_nothing(jack):
    with pytest.raises(MidiPortError, match="'Nowhere' matches no port"):
        LivePlayer(LiveConfig(api="jack", port="Nowhere"))
    with LivePlayer(LiveConfig(api="jack", clock="osc")) as player:
        with pytest.raises(ValueError, match="when must be one of"):
            player.queue(beats_pattern(), "later")
        with pytest.raises(TypeError, match="pattern must be a Pattern"):
            player.queue("four on the floor")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="beat must be a finite number >= 0"):
            player.set_transport(120.0, float("nan"), True)
        with pytest.raises(ValueError, match="set_bpm needs the internal one"):
            player.set_bpm(100.0)
        assert player.set_transport(120.0, 0.0, False) is True
    with pytest.raises(LivePlayerError, match="closed"):
        player.start()
    player.close()  # twice is fine


def test_sigterm_to_the_player_process_ends_its_notes(jack, sink):
    recorder = sink
    player = LivePlayer(
        LiveConfig(api="jack", port=client_of(sink), bpm=30.0, channel=2, output_pitches=OUTPUT_PITCHES)
    )
    try:
        player.queue(beats_pattern(1))
        player.start()
        on = recorder.wait_for(is_on)[-1]
        os.kill(player.pid, signal.SIGTERM)  # e.g. a service manager stopping the whole group
        messages = recorder.wait_for(lambda r: r.message == (0xB1, 123, 0))
        assert [r.message for r in messages if is_off(r)] == [(0x81, 38, 0)]
        assert messages[-1].jack_time_s - on.jack_time_s < 0.2  # its note would have lasted 0.25 s
        assert_paired(recorder.received)
    finally:
        player.close()


def dense_pattern() -> Pattern:
    """Every voice on every 16th, pushed and pulled a little: several messages in most JACK cycles."""
    hits = np.ones((9, 16), bool)
    offsets = np.linspace(-0.3, 0.3, 9)[:, None] * np.ones((1, 16))
    return Pattern(Grid(4, 4, 1), hits, hits * 0.7, offsets)


def test_recording_stays_exact_while_the_receiving_process_holds_the_gil(jack, sink):
    """What the player process sends is what the recorder gets, even when this process is busy in C code.

    A busy moment here (a long C call, a garbage collection) holding the GIL for many JACK cycles must
    not reach the recording: if the recorder needed the GIL inside JACK's process callback, the sender's
    next cycles would clear and rewrite the port buffer it is still reading (JACK hands a singly
    connected input the output's own buffer), and notes would come out repeated or lost.
    """
    recorder = sink
    with LivePlayer(LiveConfig(api="jack", port=client_of(sink), bpm=300.0, trace=True)) as player:
        player.queue(dense_pattern())
        player.start()
        recorder.wait_for(is_on)
        busy_from = time.monotonic()
        sum(range(10_000_000))  # one C call: holds the GIL throughout, for ~0.1-0.3 s
        busy_s = time.monotonic() - busy_from
        recorder.wait_for(lambda _r: len(recorder.received) >= 400, timeout=10)
        player.stop()  # returns once the note-offs are out
        sent = [message for _, _, message in player.trace()]
        recorder.drain(0.3)
    assert busy_s > 20 * jack.cycle_s  # the stall spanned many cycles while notes were flowing
    received = [r.message for r in recorder.received if r.message[0] & 0xE0 == 0x80]
    assert len(sent) >= 400 and received == [tuple(m) for m in sent]
    assert_paired(recorder.received)


SERVING = """
import argparse, sys, time
from companion.live.options import add_live_arguments, install_signal_handlers, player_from_args
from companion.live.process import LivePlayer
from tests.support.tiny_onnx import tiny_meta
from tests.live.test_process import beats_pattern

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    add_live_arguments(parser)
    player = player_from_args(parser.parse_args(sys.argv[1:]), tiny_meta())
    install_signal_handlers(player)
    try:
        player.queue(beats_pattern())
        player.start()
        print(player.pid, flush=True)
        while True:
            time.sleep(1)  # stands in for the daemon's serving loop
    except KeyboardInterrupt:
        sys.exit(130)
"""


def first_note_while_alive(recorder: MidiRecorder, process: subprocess.Popen, timeout: float):
    """The first note-on, waited for in short slices: a serving process that ended early fails at once
    (with its stderr), not after the whole timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            ended = f"the serving process ended ({process.returncode}) before a note"
            pytest.fail(f"{ended}: {process.stderr.read()}")
        try:
            return recorder.wait_for(is_on, timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))[-1]
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)]
)
def test_signal_to_the_serving_process_ends_every_note(jack, sink, tmp_path, sig, code):
    """SIGTERM/Ctrl-C: the handlers close the player. SIGKILL: the player process sees its parent go."""
    script = tmp_path / "serve.py"
    script.write_text(SERVING)
    recorder = sink
    argv = ["--midi", "--midi-api", "jack", "--midi-out", client_of(sink), "--bpm", "30"]
    argv += ["--midi-channel", "10"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    serving = subprocess.Popen(
        [sys.executable, str(script), *argv],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        on = first_note_while_alive(recorder, serving, timeout=30)
        serving.send_signal(sig)
        messages = recorder.wait_for(lambda r: r.message == (0xB9, 123, 0), timeout=10)
        assert serving.wait(timeout=10) == code, serving.stderr.read()
        assert [r.message[1] for r in messages if is_off(r)] == [on.message[1]]
        assert messages[-1].jack_time_s - on.jack_time_s < 0.2  # ended by the signal, not its schedule
        recorder.drain(0.3)
        assert_paired(recorder.received)
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()


def test_queue_pitches_cross_to_the_child_and_the_drum_map_still_wins(jack, sink):
    config = LiveConfig(api="jack", port=client_of(sink), bpm=240.0, pitch_overrides=(("snare", 40),))
    with LivePlayer(config) as player:
        snare = beats_pattern(1)
        snare.hits[0, 2] = True  # and one kick
        snare.velocities[0, 2] = 0.8
        player.queue(snare, "now", pitches=(35, 38, 42, 46, 43, 47, 50, 49, 51))
        player.start()
        sink.wait_for(lambda _r: len({r.message[1] for r in sink.received if is_on(r)}) >= 2)
        player.stop()
        with pytest.raises(ValueError, match="pitches must be 9 ints"):
            player.queue(snare, "now", pitches=(36,) * 9 + (1,))
    assert {r.message[1] for r in sink.received if is_on(r)} == {35, 40}


# -- a player process that dies on its own comes back (issue 17, finding 2) ------------------------------


def test_a_killed_player_process_comes_back_by_itself_within_a_bar_in_time_and_panic_works(jack, sink):
    recorder = sink
    with LivePlayer(LiveConfig(api="jack", port=client_of(sink), bpm=120.0, channel=10)) as player:
        player.queue(beats_pattern())  # a kick on every beat: 0.5 s apart at 120 BPM, a bar is 2 s
        player.start()
        first = recorder.wait_for(is_on)[-1]
        recorder.wait_for(is_on)
        recorder.wait_for(is_off)  # (the kick has ended: nothing left sounding to blur the count below)
        old_pid = player.pid
        os.kill(old_pid, signal.SIGKILL)
        killed_s = time.monotonic()
        # no call of ours: the watchdog restarts it; the new process first ends what the dead one left
        messages = recorder.wait_for(is_on, timeout=5.0)
        back = messages[-1]
        assert (0xB9, 123, 0) in [r.message for r in messages[:-1]]
        assert back.time_s - killed_s <= 2.0  # within one bar of its death
        # in time: on the beat grid of the first process (JACK's clock runs on across both). The first kick
        # of the new process may be a due one it plays a little late (a loaded machine starts a process
        # slowly), never early; the kick after it is on the grid.
        tolerance = (jack.cycle_s + MARGIN_S) / 0.5
        beats = (back.jack_time_s - first.jack_time_s) / 0.5
        assert beats >= round(beats) - tolerance
        following = recorder.wait_for(lambda r: is_on(r) and r.time_s > back.time_s)[-1]
        beats = (following.jack_time_s - first.jack_time_s) / 0.5
        assert beats == pytest.approx(round(beats), abs=tolerance)
        player.panic()  # (waits for the watchdog's restart to have finished: it holds the player's lock)
        assert player.pid != old_pid and player.alive and player.restarts == 1
        assert recorder.wait_for(lambda r: r.message == (0xB9, 123, 0), timeout=2.0)
        assert [r.message for r in recorder.wait_for(is_on)][-1] == (0x99, 36, 102)  # and plays on
        player.stop()
    recorder.drain(0.3)
    assert_paired([r for r in recorder.received if r.time_s > killed_s])


def test_a_dead_player_that_cannot_restart_says_why_and_a_later_call_brings_it_back(jack, request):
    name = "SinkGone" + request.node.name[-6:].replace("]", "")
    recorder = MidiRecorder(client_name=name)
    player = LivePlayer(LiveConfig(api="jack", port=name, clock="osc"))
    try:
        recorder.close()  # its port goes: a restarted child cannot connect
        os.kill(player.pid, signal.SIGKILL)
        with pytest.raises(LivePlayerError, match=r"died \(killed by SIGKILL\).*could not be restarted.*"):
            player.panic()
        recorder = MidiRecorder(client_name=name)  # the port is back
        deadline = time.monotonic() + 10.0
        while True:  # the next attempt comes after a back-off of a second or two
            try:
                player.panic()
                break
            except LivePlayerError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert recorder.wait_for(lambda r: r.message == (0xB9, 123, 0), timeout=2.0)
        assert player.alive
    finally:
        player.close()
        recorder.close()
