"""companion.live.options: the CLI options, drum-map files, building a player, signal handlers."""

from __future__ import annotations

import argparse
import signal
import threading

import numpy as np
import pytest

from companion.core.pattern import Grid, Pattern
from companion.live.options import (
    add_live_arguments,
    install_signal_handlers,
    output_pitches_for,
    player_from_args,
    read_drum_map,
)
from companion.live.output import MidiPortError
from tests.support.jack import MidiRecorder, jack_or_skip
from tests.support.tiny_onnx import tiny_meta


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_live_arguments(parser)
    return parser.parse_args(argv)


def test_defaults():
    args = parse()
    assert (args.midi, args.midi_out, args.midi_api, args.midi_channel) == (False, None, "auto", 10)
    assert (args.drum_map, args.clock, args.clock_in, args.bpm, args.switch) == (
        None,
        "internal",
        None,
        120.0,
        "bar",
    )
    assert player_from_args(args, tiny_meta()) is None


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--midi-channel", "17"], "--midi-channel must be in 1..16, got 17"),
        (["--midi-channel", "ten"], "--midi-channel must be an int in 1..16"),
        (["--bpm", "nan"], "--bpm: bpm must be a finite number"),
        (["--bpm", "5"], "--bpm: bpm must be in 20..999"),
        (["--clock", "ltc"], "invalid choice: 'ltc'"),
        (["--switch", "beat"], "invalid choice: 'beat'"),
        (["--midi-api", "asio"], "invalid choice: 'asio'"),
    ],
)
def test_bad_options_are_refused_with_the_range(argv, error, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{nope", "not valid JSON"),
        ("[36]", "must be a JSON object"),
        ('{"cowbell": 56}', "unknown voice 'cowbell'"),
        ('{"kick": 128}', "pitch for voice 'kick' must be an int in 0..127"),
        ('{"kick": "C1"}', "pitch for voice 'kick' must be an int in 0..127"),
    ],
)
def test_bad_drum_maps_name_the_file_and_the_fault(tmp_path, text, error):
    path = tmp_path / "rack.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=error) as info:
        read_drum_map(path)
    assert str(path) in str(info.value)


def test_missing_drum_map_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read it"):
        read_drum_map(tmp_path / "missing.json")


def test_output_pitches_start_from_the_model_and_take_overrides():
    meta = tiny_meta()
    assert output_pitches_for(meta) == meta.output_pitches
    pitches = output_pitches_for(meta, {"kick": 60, "ride": 70})
    assert pitches[0] == 60 and pitches[-1] == 70 and pitches[1:-1] == meta.output_pitches[1:-1]


@pytest.fixture(scope="module")
def jack():
    with jack_or_skip(64) as server:
        yield server


@pytest.mark.integration
def test_player_from_args_plays_on_the_channel_with_the_drum_map(jack, tmp_path):
    drum_map = tmp_path / "rack.json"
    drum_map.write_text('{"kick": 60}')
    recorder = MidiRecorder(client_name="Sink")
    args = parse(
        "--midi",
        "--midi-api",
        "jack",
        "--midi-out",
        "Sink",
        "--midi-channel",
        "3",
        "--drum-map",
        str(drum_map),
        "--bpm",
        "200",
        "--switch",
        "now",
    )
    player = player_from_args(args, tiny_meta())
    try:
        assert player.clock_kind == "internal" and player.config.bpm == 200.0
        assert player.switch == "now" and player.port_name == "Sink:in"
        hits = np.zeros((9, 16), bool)
        hits[0, 0] = True
        player.queue(Pattern(Grid(4, 4, 1), hits, hits * 1.0, np.zeros((9, 16))))
        player.start()
        assert recorder.take(1)[0].message == (0x92, 60, 127)
    finally:
        player.close()
        recorder.close()


@pytest.mark.integration
def test_player_from_args_osc_clock_and_port_errors(jack):
    player = player_from_args(parse("--midi", "--midi-api", "jack", "--clock", "osc"), tiny_meta())
    try:
        assert player.clock_kind == "osc" and player.port_name == "Nudge:Nudge"
    finally:
        player.close()
    with pytest.raises(MidiPortError, match="'Nowhere' matches no port"):
        player_from_args(parse("--midi", "--midi-api", "jack", "--midi-out", "Nowhere"), tiny_meta())


@pytest.mark.integration
def test_signal_handlers_install_and_restore(jack):
    player = player_from_args(parse("--midi", "--midi-api", "jack"), tiny_meta())
    before = signal.getsignal(signal.SIGTERM)
    restore = install_signal_handlers(player)
    try:
        assert signal.getsignal(signal.SIGTERM) is not before
        errors = []
        worker = threading.Thread(target=lambda: _catch(errors, install_signal_handlers, player))
        worker.start()
        worker.join()
        assert "main thread" in str(errors[0])
    finally:
        restore()
        player.close()
    assert signal.getsignal(signal.SIGTERM) == before


def _catch(errors, function, *args):
    try:
        function(*args)
    except RuntimeError as error:
        errors.append(error)


def test_docs_describe_every_option():
    from pathlib import Path

    parser = argparse.ArgumentParser()
    add_live_arguments(parser)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "live-midi.md").read_text()
    options = [
        o
        for action in parser._actions
        for o in action.option_strings
        if o.startswith("--midi") or o in ("--drum-map", "--clock", "--clock-in", "--bpm", "--switch")
    ]
    assert len(options) == 9
    missing = [o for o in options if f"| `{o}" not in docs]
    assert not missing, f"docs/live-midi.md has no table row for {missing}"
