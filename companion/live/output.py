"""MIDI output ports: one base class that validates and keeps the books, one private method per backend.

``MidiOutput.send`` checks every message against ``MESSAGE_LENGTHS`` and tracks which notes are sounding,
so that ``panic`` can end exactly those notes (plus CC 123, all notes off) on a channel. Backends implement
``_send`` and ``_close`` only. The rtmidi backend is imported lazily (``open_output``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence

from companion.core.errors import LiveMidiError, UsageError
from companion.core.midi_values import CHANNEL, DATA_BYTE, VELOCITY, channel_to_wire, wire_to_channel

log = logging.getLogger(__name__)

DEFAULT_PORT_NAME = "Nudge"
ALL_NOTES_OFF = 123  # CC number: all notes off on the channel
JACK_DRAIN_S = 0.05  # time for the last messages to leave through JACK before the port closes (> 2 cycles)

# status (high nibble for channel messages, full byte for system ones) -> number of data bytes
MESSAGE_LENGTHS: dict[int, int] = {
    0x80: 2,  # note off
    0x90: 2,  # note on (velocity 0 = note off)
    0xA0: 2,  # polyphonic aftertouch
    0xB0: 2,  # control change
    0xC0: 1,  # program change
    0xD0: 1,  # channel aftertouch
    0xE0: 2,  # pitch bend
    0xF2: 2,  # song position pointer
    0xF3: 1,  # song select
    0xF6: 0,  # tune request
    0xF8: 0,  # timing clock
    0xFA: 0,  # start
    0xFB: 0,  # continue
    0xFC: 0,  # stop
    0xFE: 0,  # active sensing
    0xFF: 0,  # reset
}

# CLI name     rtmidi constant       virtual ports   where
MIDI_APIS: dict[str, tuple[str | None, bool, str]] = {
    "auto": (None, True, "JACK if a JACK server runs, else the platform's own API"),
    "jack": ("API_UNIX_JACK", True, "JACK (Linux, macOS)"),
    "alsa": ("API_LINUX_ALSA", True, "ALSA sequencer (Linux)"),
    "coremidi": ("API_MACOSX_CORE", True, "CoreMIDI (macOS)"),
    "winmm": ("API_WINDOWS_MM", False, "Windows multimedia MIDI (needs --midi-out, e.g. a loopMIDI port)"),
}


class MidiPortError(LiveMidiError):
    """A MIDI port could not be opened or found; the message says which and what exists."""


NO_MIDI_SYSTEM_HINT = (
    "start a JACK server (e.g. jackd -d alsa, or QjackCtl), load the ALSA sequencer (sudo modprobe "
    "snd-seq), or play into an existing port with --midi-out NAME"
)


@contextlib.contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Keep what C libraries (ALSA, JACK) print on file descriptor 2 while the block runs off the screen;
    it is logged at debug level (``-vv``). Python's own ``sys.stderr`` is flushed around it."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            noise = sink.read().decode("utf-8", "replace").strip()
            if noise:
                log.debug("MIDI library output: %s", noise.replace("\n", " | "))


def validate_message(message: Sequence[int]) -> tuple[int, ...]:
    """The message as a tuple of ints, or ``ValueError`` naming the byte at fault."""
    data = tuple(message)
    if not data:
        raise ValueError("MIDI message is empty")
    for i, byte in enumerate(data):
        if isinstance(byte, bool) or not isinstance(byte, int):
            raise ValueError(f"MIDI message byte {i} must be an int, got {byte!r}")
    status = data[0]
    if not 0x80 <= status <= 0xFF:
        raise ValueError(f"MIDI status byte must be in 0x80..0xFF, got {status!r}")
    kind = status if status >= 0xF0 else status & 0xF0
    if kind not in MESSAGE_LENGTHS:
        raise ValueError(f"MIDI status 0x{status:02X} is not supported (no SysEx, no undefined statuses)")
    if len(data) != 1 + MESSAGE_LENGTHS[kind]:
        raise ValueError(
            f"MIDI status 0x{status:02X} takes {MESSAGE_LENGTHS[kind]} data bytes, got {len(data) - 1}"
        )
    for i, byte in enumerate(data[1:], start=1):
        if not DATA_BYTE.low <= byte <= DATA_BYTE.high:
            raise ValueError(f"MIDI data byte {i} must be in {DATA_BYTE.low}..{DATA_BYTE.high}, got {byte}")
    return data


class MidiOutput:
    """A MIDI output port. Thread-safe; ``send`` validates, ``panic`` ends every sounding note."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()  # re-entrant: a signal handler may panic while the main thread sends
        self._sounding: set[tuple[int, int]] = set()  # (channel 1..16, pitch)
        self._closed = False

    def send(self, message: Sequence[int]) -> None:
        data = validate_message(message)
        with self._lock:
            if self._closed:
                raise MidiPortError(f"MIDI output {self.name!r} is closed")
            self._send(data)
            kind, channel = data[0] & 0xF0, wire_to_channel(data[0] & 0x0F)
            if kind == 0x90 and data[2] > 0:
                self._sounding.add((channel, data[1]))
            elif kind in (0x80, 0x90):
                self._sounding.discard((channel, data[1]))
            elif kind == 0xB0 and data[1] in (120, ALL_NOTES_OFF):
                self._sounding = {key for key in self._sounding if key[0] != channel}

    def note_on(self, channel: int, pitch: int, velocity: int) -> None:
        VELOCITY.check(velocity, "note-on velocity")
        self.send((0x90 | channel_to_wire(channel), pitch, velocity))

    def note_off(self, channel: int, pitch: int) -> None:
        self.send((0x80 | channel_to_wire(channel), pitch, 0))

    def control_change(self, channel: int, control: int, value: int) -> None:
        self.send((0xB0 | channel_to_wire(channel), control, value))

    def sounding(self, channel: int | None = None) -> set[int]:
        """Pitches whose note-on has not yet been followed by a note-off (on ``channel``, or any)."""
        with self._lock:
            return {p for c, p in self._sounding if channel is None or c == channel}

    def panic(self, channel: int | None = None) -> None:
        """Note-off for every sounding note, then all-notes-off (CC 123) on ``channel`` (None: all 16)."""
        channels = range(CHANNEL.low, CHANNEL.high + 1) if channel is None else (CHANNEL.check(channel),)
        with self._lock:
            if self._closed:
                return
            for chan, pitch in sorted(self._sounding):
                if chan in channels:
                    self.note_off(chan, pitch)
            for chan in channels:
                self.control_change(chan, ALL_NOTES_OFF, 0)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """End every sounding note and close the port. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            for chan in sorted({c for c, _ in self._sounding}):
                self.panic(chan)
            self._closed = True
            self._close()

    def __enter__(self) -> MidiOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, data: tuple[int, ...]) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


def jack_server_running(server: str | None = None) -> bool:
    """Whether a JACK2 server's socket exists (Linux layout), without starting or connecting to one."""
    if not sys.platform.startswith("linux"):
        return False
    server = server or os.environ.get("JACK_DEFAULT_SERVER") or "default"
    return os.path.exists(f"/dev/shm/jack_{server}_{os.getuid()}_0")


def resolve_api(api: str) -> list[str]:
    """rtmidi API candidates, in order, for a CLI API name (``auto`` may yield two)."""
    if api not in MIDI_APIS:
        raise UsageError(f"MIDI API {api!r} is not known; allowed: {', '.join(MIDI_APIS)}")
    if api != "auto":
        return [api]
    if sys.platform == "darwin":
        return ["coremidi"]
    if sys.platform.startswith("win"):
        return ["winmm"]
    return ["jack", "alsa"] if jack_server_running() else ["alsa", "jack"]


class RtMidiOutput(MidiOutput):
    """An rtmidi output: a virtual port (``port=None``) or a connection to an existing port by name."""

    def __init__(
        self, api: str = "jack", port: str | None = None, client_name: str = DEFAULT_PORT_NAME
    ) -> None:
        import rtmidi  # lazy: only when a port is opened

        constant, virtual_ok, _ = MIDI_APIS[api]
        api_id = getattr(rtmidi, constant or "API_UNSPECIFIED")
        if api_id not in rtmidi.get_compiled_api():
            raise MidiPortError(f"MIDI API {api!r} is not compiled into this python-rtmidi")
        if port is None and not virtual_ok:
            raise MidiPortError(
                f"MIDI API {api!r} has no virtual ports; name a loopback port with --midi-out"
            )
        try:
            with native_stderr_quiet():  # a missing ALSA sequencer or JACK server prints several lines
                midi = rtmidi.MidiOut(api_id, name=client_name)
        except rtmidi.RtMidiError as error:
            raise MidiPortError(f"cannot open the {api} MIDI client: {error}") from error
        try:
            if port is None:
                midi.open_virtual_port(DEFAULT_PORT_NAME)
                shown = f"{client_name}:{DEFAULT_PORT_NAME}" if api == "jack" else DEFAULT_PORT_NAME
            else:
                names = midi.get_ports()
                index = find_port(names, port)
                midi.open_port(index, DEFAULT_PORT_NAME)
                shown = names[index]
        except (rtmidi.RtMidiError, MidiPortError):
            midi.delete()
            raise
        self._midi = midi
        self.api = api
        self.jack_port = f"{client_name}:{DEFAULT_PORT_NAME}" if api == "jack" else None  # our own port
        super().__init__(shown)
        log.info("MIDI output %r open (%s)", shown, api)

    def _send(self, data: tuple[int, ...]) -> None:
        self._midi.send_message(data)

    def _close(self) -> None:
        if self.api == "jack":
            # rtmidi hands messages to JACK in the next process cycle; unregistering the port before the
            # reader has seen that cycle loses or garbles the last ones (the note-offs that matter most)
            time.sleep(JACK_DRAIN_S)
        self._midi.close_port()
        self._midi.delete()


def find_port(names: Sequence[str], wanted: str) -> int:
    """Index of the port called ``wanted``: an exact name first, else the one name that contains it."""
    if wanted in names:
        return list(names).index(wanted)
    matches = [i for i, name in enumerate(names) if wanted.lower() in name.lower()]
    if len(matches) == 1:
        return matches[0]
    found = ", ".join(repr(n) for n in names) or "none"
    why = "matches several ports" if matches else "matches no port"
    raise MidiPortError(f"MIDI port {wanted!r} {why}; ports found: {found}")


def open_output(api: str = "auto", port: str | None = None) -> MidiOutput:
    """Open Nudge's output: the virtual port "Nudge", or the existing port ``port``, on ``api``."""
    errors, tried = [], resolve_api(api)
    for candidate in tried:
        try:
            return RtMidiOutput(candidate, port)
        except MidiPortError as error:
            errors.append(str(error))
    if all("MIDI client" in e for e in errors) and sys.platform.startswith("linux"):
        missing = {"jack": "no JACK server runs", "alsa": "the ALSA sequencer cannot be opened"}
        why = " and ".join(missing.get(c, f"{c} cannot be opened") for c in tried)
        raise MidiPortError(
            f"no MIDI system to play into: {why}. To play live, {NO_MIDI_SYSTEM_HINT} "
            f"(details: {'; '.join(errors)})"
        )
    raise MidiPortError("; ".join(errors))
