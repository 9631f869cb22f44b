"""Command-line options of live MIDI, building a player from them, and the serving process's signal handlers.

The daemon adds the options to ``nudge serve`` with ``add_live_arguments(parser)``, builds the player with
``player_from_args(args, meta)`` (``None`` unless ``--midi``), calls ``install_signal_handlers(player)`` in
its main thread, and ``player.close()`` on shutdown.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from companion.core.drum_map import VOICES, output_pitches_from
from companion.core.errors import ModelError, UsageError
from companion.core.midi_values import CHANNEL, DEFAULT_BPM, DRUM_CHANNEL, MAX_BPM, MIN_BPM, check_bpm
from companion.core.model_meta import ModelMeta
from companion.live.output import MIDI_APIS
from companion.live.process import LiveConfig, LivePlayer
from companion.live.timeline import SWITCH_MODES

if TYPE_CHECKING:
    from companion.live.player import Player

log = logging.getLogger(__name__)

CLOCKS: dict[str, str] = {
    "internal": "its own clock at --bpm (started and stopped over OSC)",
    "midi": "MIDI clock (24 ppqn, start/stop/continue, song position) on --clock-in",
    "osc": "the Max for Live device's /nudge/transport messages (tempo, beat, playing)",
}


def _channel(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--midi-channel must be {CHANNEL.text}, got {text!r}") from None
    if not CHANNEL.low <= value <= CHANNEL.high:
        raise argparse.ArgumentTypeError(
            f"--midi-channel must be in {CHANNEL.low}..{CHANNEL.high}, got {value}"
        )
    return value


def _bpm(text: str) -> float:
    try:
        return check_bpm(float(text))
    except ValueError as error:  # (argparse names the flag: "argument --bpm: bpm must be in 20..999, ...")
        raise argparse.ArgumentTypeError(str(error)) from None


GIVEN = "live_options_given"  # the live options the command line named (see check_live_arguments)


class _Given(argparse.Action):
    """Stores like ``store`` and notes that the option was given (argparse cannot tell a default apart)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, GIVEN, [*getattr(namespace, GIVEN, []), option_string])


def check_live_arguments(args: argparse.Namespace) -> None:
    """``UsageError`` for live options that would do nothing: any of them without ``--midi``, ``--bpm``
    with another clock than the internal one, ``--clock-in`` without ``--clock midi``."""
    given = list(dict.fromkeys(getattr(args, GIVEN, [])))
    if not getattr(args, "midi", False):
        if given:
            names = ", ".join(given)
            verb = "does" if len(given) == 1 else "do"
            raise UsageError(
                f"{names} {verb} nothing without --midi (live MIDI is off): add --midi to play live, or "
                "leave them out"
            )
        return
    if "--bpm" in given and args.clock != "internal":
        raise UsageError(
            f"--bpm sets the internal clock's tempo; with --clock {args.clock} the tempo comes from "
            f"{'the MIDI clock' if args.clock == 'midi' else 'the device'} (leave --bpm out)"
        )
    if "--clock-in" in given and args.clock != "midi":
        raise UsageError("--clock-in names the MIDI clock input: it needs --clock midi")


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the live MIDI options (``--midi`` and friends) to ``parser``."""
    group = parser.add_argument_group(
        "live MIDI", "play the current pattern as live MIDI (see docs/live-midi.md)"
    )
    group.add_argument("--midi", action="store_true", help="play patterns live on a MIDI port")
    group.add_argument(
        "--midi-out",
        action=_Given,
        metavar="NAME",
        help='an existing port to play into (default: a virtual port "Nudge")',
    )
    group.add_argument(
        "--midi-api",
        action=_Given,
        choices=list(MIDI_APIS),
        default="auto",
        help="; ".join(f"{name}: {where}" for name, (_, _, where) in MIDI_APIS.items()),
    )
    group.add_argument(
        "--midi-channel",
        action=_Given,
        type=_channel,
        default=DRUM_CHANNEL,
        metavar=f"{CHANNEL.low}..{CHANNEL.high}",
        help=f"MIDI channel ({DRUM_CHANNEL})",
    )
    group.add_argument(
        "--drum-map",
        action=_Given,
        metavar="FILE",
        type=Path,
        help='JSON {voice: pitch} overrides of the output pitches, e.g. {"kick": 60} for a Drum Rack pad; '
        f"voices: {', '.join(VOICES)}",
    )
    group.add_argument(
        "--clock",
        action=_Given,
        choices=list(CLOCKS),
        default="internal",
        help="; ".join(f"{k}: {v}" for k, v in CLOCKS.items()),
    )
    group.add_argument(
        "--clock-in",
        action=_Given,
        metavar="PORT",
        help='MIDI clock input port (default: a virtual port "Nudge Clock")',
    )
    group.add_argument(
        "--bpm",
        action=_Given,
        type=_bpm,
        default=DEFAULT_BPM,
        help=f"tempo of the internal clock, {MIN_BPM:g}..{MAX_BPM:g} ({DEFAULT_BPM:g})",
    )
    group.add_argument(
        "--switch",
        action=_Given,
        choices=list(SWITCH_MODES),
        default="bar",
        help="when a new pattern takes over: now, at the next bar line (default) or at the loop end",
    )


def read_drum_map(path: Path) -> dict[str, int]:
    """A JSON object ``{voice: pitch}``; ``ValueError`` names the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"drum map {path}: cannot read it ({error.strerror or error})") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"drum map {path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise UsageError(f'drum map {path}: must be a JSON object {{voice: pitch}}, e.g. {{"kick": 36}}')
    try:
        output_pitches_from(data)  # validates voice names and pitches
    except ValueError as error:
        raise UsageError(f"drum map {path}: {error}") from error
    return dict(data)


def output_pitches_for(meta: ModelMeta, overrides: Mapping[str, int] | None = None) -> tuple[int, ...]:
    """The model's output pitch per voice, with ``{voice: pitch}`` overrides applied."""
    output_pitches_from(overrides)  # validates
    names = [v.name for v in meta.voices]
    if tuple(names) != VOICES:
        raise ModelError(f"model voices {names} differ from Nudge's drum kit {list(VOICES)}")
    return tuple((overrides or {}).get(v.name, v.pitch) for v in meta.voices)


def config_from_args(args: argparse.Namespace, meta: ModelMeta) -> LiveConfig:
    """The player's configuration from the options; ``ValueError`` for a bad drum map."""
    overrides = read_drum_map(args.drum_map) if args.drum_map else None
    return LiveConfig(
        api=args.midi_api,
        port=args.midi_out,
        channel=args.midi_channel,
        output_pitches=output_pitches_for(meta, overrides),
        pitch_overrides=tuple(sorted((overrides or {}).items())),
        switch=args.switch,
        clock=args.clock,
        clock_in=args.clock_in,
        bpm=args.bpm,
        log_level=logging.getLogger().getEffectiveLevel(),
    )


def player_from_args(args: argparse.Namespace, meta: ModelMeta) -> LivePlayer | None:
    """The live player the options ask for (in a process of its own), or ``None`` without ``--midi``.

    Raises ``ValueError`` (bad drum map) or ``companion.live.output.MidiPortError`` (no such port, no
    MIDI system) with a message for the user.
    """
    check_live_arguments(args)
    if not getattr(args, "midi", False):
        return None
    player = LivePlayer(config_from_args(args, meta))
    log.info(
        "live MIDI on %r, channel %d, %s clock, %s",
        player.port_name,
        args.midi_channel,
        player.clock_kind,
        player.priority,
    )
    return player


def install_signal_handlers(player: LivePlayer | Player) -> Callable[[], None]:
    """On SIGINT/SIGTERM end every note (``player.close()``), then go on as the old handler would.

    SIGINT then raises ``KeyboardInterrupt`` (or calls the previous handler); SIGTERM calls the previous
    handler, or raises ``SystemExit(143)`` where it was the default, so ``finally`` blocks still run.
    Also closes the player at interpreter exit. Call from the main thread. Returns a function that puts
    the previous handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("install_signal_handlers must be called from the main thread")
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        player.close()
        old = previous.get(signal.Signals(signum))
        if callable(old):
            old(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        elif old != signal.SIG_IGN:
            raise SystemExit(128 + signum)

    for sig in previous:
        signal.signal(sig, handler)
    atexit.register(player.close)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        atexit.unregister(player.close)

    return restore
