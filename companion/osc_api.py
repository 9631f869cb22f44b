"""The OSC API of ``nudge serve``: ONE registry of every address, its arguments (with OSC type tags), its
reply and its handler. Request parsing and ``docs/osc-api.md`` (``python -m companion.osc_api --markdown``)
are both derived from these tables, and a test fails when the committed document differs.

Type tags: ``i`` int32, ``f`` float32, ``s`` string. Max sends whole numbers as ``i``; where an int is
expected, a whole float (``4.0``) is accepted too, never a lossy one (``4.5``).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion import __version__
from companion.model_meta import ModelMeta
from companion.osc_codec import Message
from companion.pattern import MAX_BARS

VERSION = __version__
MAX_ID = 2**31 - 1
# Largest reply datagram we send. Max's udpreceive documents no limit, so we stay under every known one on
# the way (see LIMIT_NOTE): the Ethernet MTU payload, so nothing is ever fragmented, even with --allow-remote.
MAX_DATAGRAM_BYTES = 1472
MAX_ATOMS_PER_MESSAGE = 256  # the default list length of Max's list objects (zl and friends)
NOTES_PER_PART = 60  # 2 + 4 * 60 = 242 atoms, 1228 bytes per /nudge/notes datagram: under both limits
MAX_REQUEST_BYTES = 32768
MAX_CLIP_NOTES = 1024
MAX_KEY_VALUE_PAIRS = 64
CLIP_MARKER = "notes"
STYLE_ANY = "any"
LIVE_OFF_REASON = "live MIDI is off (start nudge serve with --midi)"
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Arg:
    name: str
    tag: str  # "i", "f" or "s"
    description: str = ""
    low: float | None = None
    high: float | None = None

    def spec(self) -> str:
        return f"{self.name}:{self.tag}"


@dataclass(frozen=True)
class Repeat:
    """A group of arguments that repeats (``[pitch:i start_beats:f ...]*``)."""

    args: tuple[Arg, ...]

    def spec(self) -> str:
        return "[" + " ".join(a.spec() for a in self.args) + "]*"


@dataclass(frozen=True)
class Endpoint:
    address: str
    args: tuple[Arg | Repeat, ...]  # positional, in order (the id first where has_id)
    reply: str  # reply address(es), or "" for none
    handler: str  # method of companion.dispatch.Daemon
    description: str
    options: bool = False  # key/value pairs follow the positional arguments
    clip: bool = False  # then the marker "notes", length_beats:f and the clip's note groups
    has_id: bool = True


@dataclass(frozen=True)
class Option:
    key: str
    tag: str
    description: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Reply:
    address: str
    args: tuple[Arg | Repeat, ...]
    description: str


ID = Arg("id", "i", "request id chosen by the client, echoed in every reply", 0, MAX_ID)
NOTE_GROUP = Repeat(
    (
        Arg("pitch", "i", "MIDI pitch", 0, 127),
        Arg("start_beats", "f", "start in beats from the clip start", 0, None),
        Arg("duration_beats", "f", "length in beats", 0, None),
        Arg("velocity", "i", "MIDI velocity (a float is rounded)", 1, 127),
    )
)

# address              arguments                              reply                      handler
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/nudge/ping", (ID,), "/nudge/pong", "ping", "is the daemon there, and which model serves?"),
    Endpoint(
        "/nudge/generate",
        (ID,),
        "/nudge/notes/begin, /nudge/notes, /nudge/notes/end",
        "generate",
        "a new pattern that meets the sliders; key/value pairs follow the id",
        options=True,
    ),
    Endpoint(
        "/nudge/vary",
        (ID, Arg("amount", "f", "0 = the clip unchanged, 1 = a fresh pattern", 0, 1)),
        "/nudge/notes/begin, /nudge/notes, /nudge/notes/end",
        "vary",
        "nudge the current clip: key/value pairs, then `notes:s length_beats:f` and the clip's note groups "
        "`[pitch:i start_beats:f duration_beats:f velocity:i]*`",
        options=True,
        clip=True,
    ),
    Endpoint("/nudge/model/list", (ID,), "/nudge/model/list", "model_list", "models in the models folder"),
    Endpoint(
        "/nudge/model/load",
        (ID, Arg("name", "s", "model name without .onnx")),
        "/nudge/model/loaded",
        "model_load",
        "hot swap: load a model of the models folder by name (the old one serves until it is ready,"
        " and keeps serving if the load fails)",
    ),
    Endpoint(
        "/nudge/model/info",
        (ID,),
        "/nudge/model/info",
        "model_info",
        "what the device needs to label its sliders",
    ),
    Endpoint(
        "/nudge/play/start", (ID,), "/nudge/ok", "play_start", "start the live MIDI stream (needs --midi)"
    ),
    Endpoint(
        "/nudge/play/stop",
        (ID,),
        "/nudge/ok",
        "play_stop",
        "stop it, with a note-off for every sounding note",
    ),
    Endpoint("/nudge/play/panic", (ID,), "/nudge/ok", "play_panic", "all notes off on the live MIDI channel"),
    Endpoint(
        "/nudge/transport",
        (
            Arg("bpm", "f", "the DAW's tempo", 20, 999),
            Arg("beat", "f", "song position in beats", None, None),
            Arg("playing", "i", "1 playing, 0 stopped", 0, 1),
        ),
        "",
        "transport",
        "tempo and transport from the device, sent continuously: no id, no reply "
        "(an error only when malformed or when live MIDI is off)",
        has_id=False,
    ),
)
ENDPOINT_BY_ADDRESS: dict[str, Endpoint] = {e.address: e for e in ENDPOINTS}

# key            tag   description                                                           range
OPTIONS: tuple[Option, ...] = (
    Option(
        "bars",
        "i",
        "length of the pattern in bars (default: the model's bars; vary: the clip's)",
        1,
        MAX_BARS,
    ),
    Option("style", "s", f"a style of the model, or `{STYLE_ANY}` (default)"),
    Option("seed", "i", "same seed + same request = same pattern (default: a fresh seed)", 0, MAX_ID),
    Option("candidates", "i", "search width: generator samples per request (default 64)", 64, 1024),
    Option(
        "<condition>",
        "f",
        "any condition of the loaded model (see /nudge/model/info); missing ones take the "
        "model's defaults (vary: the clip's own measured value)",
        0,
        1,
    ),
)
OPTION_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS if not o.key.startswith("<")}
CONDITION_OPTION = OPTIONS[-1]

REPLIES: tuple[Reply, ...] = (
    Reply("/nudge/pong", (ID, Arg("version", "s"), Arg("model_name", "s")), "answer to /nudge/ping"),
    Reply(
        "/nudge/notes/begin",
        (ID, Arg("n_parts", "i"), Arg("n_notes", "i"), Arg("length_beats", "f"), Arg("clip_name", "s")),
        "first message of a note reply",
    ),
    Reply(
        "/nudge/notes",
        (ID, Arg("part", "i", "0-based"), NOTE_GROUP),
        f"one part: at most {NOTES_PER_PART} notes",
    ),
    Reply("/nudge/notes/end", (ID, Arg("n_parts", "i")), "last message of a note reply"),
    Reply("/nudge/model/list", (ID, Arg("current", "s"), Repeat((Arg("name", "s"),))), "names without .onnx"),
    Reply("/nudge/model/loaded", (ID, Arg("name", "s")), "the model now serving"),
    Reply(
        "/nudge/model/info",
        (
            ID,
            Arg("name", "s"),
            Arg("bars", "i"),
            Arg("beats_per_bar", "i"),
            Arg("n_conditions", "i"),
            Repeat((Arg("cond_name", "s"), Arg("description", "s"), Arg("default", "f"))),
            Arg("n_styles", "i"),
            Repeat((Arg("style", "s"),)),
        ),
        "conditions in the model's input order",
    ),
    Reply("/nudge/ok", (ID,), "done"),
    Reply(
        "/nudge/error",
        (ID, Arg("reason", "s")),
        "the request was malformed or failed; nothing changed (id -1 "
        "when the request's id could not be read)",
    ),
)


class RequestError(ValueError):
    """A malformed request: becomes ``/nudge/error id reason``."""

    def __init__(self, request_id: int, reason: str):
        super().__init__(reason)
        self.request_id = request_id
        self.reason = reason


@dataclass
class Clip:
    length_beats: float
    notes: np.ndarray  # float64 [M, 4]: pitch, start_beats, duration_beats, velocity (ints are whole)


@dataclass
class Request:
    endpoint: Endpoint
    id: int
    values: dict[str, Any]  # positional arguments by name (without id)
    options: dict[str, Any] = field(default_factory=dict)  # bars, style, seed, candidates
    sliders: dict[str, float] = field(default_factory=dict)  # condition name -> 0..1
    clip: Clip | None = None


# ---- coercion: one function per expected type; every error names the argument and the allowed range


def _range_text(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" >= {low:g}"
    if low is None:
        return f" <= {high:g}"
    return f" in {low:g}..{high:g}"


def coerce_int(name: str, tag: str, value: Any, low: float | None = None, high: float | None = None) -> int:
    if tag in "ih":
        number = int(value)
    elif tag in "fd":
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be an int{_range_text(low, high)}, got {value!r}")
        number = int(value)
    else:
        raise ValueError(f"{name} must be an int (type tag i), got type tag {tag!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be an int{_range_text(low, high)}, got {number}")
    return number


def coerce_float(
    name: str, tag: str, value: Any, low: float | None = None, high: float | None = None
) -> float:
    if tag not in "ifhd":
        raise ValueError(f"{name} must be a number (type tag f), got type tag {tag!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be{_range_text(low, high)}, got {number:g}")
    return number


def coerce_str(name: str, tag: str, value: Any) -> str:
    if tag not in "sS":
        raise ValueError(f"{name} must be a string (type tag s), got type tag {tag!r}")
    return value


def _coerce(arg: Arg, tag: str, value: Any) -> Any:
    if arg.tag == "i":
        return coerce_int(arg.name, tag, value, arg.low, arg.high)
    if arg.tag == "f":
        return coerce_float(arg.name, tag, value, arg.low, arg.high)
    return coerce_str(arg.name, tag, value)


def read_id(message: Message) -> int:
    """The request id (first argument) or -1 when it cannot be read."""
    if message.tags[:1] in ("i", "f", "h", "d"):
        try:
            return coerce_int("id", message.tags[0], message.args[0], 0, MAX_ID)
        except (ValueError, OverflowError):
            return -1
    return -1


def parse_request(message: Message, meta: ModelMeta | None) -> Request:
    """Check ``message`` against the registry (and the loaded model's conditions and styles)."""
    endpoint = ENDPOINT_BY_ADDRESS.get(message.address)
    request_id = read_id(message)
    if endpoint is None:
        raise RequestError(
            request_id, f"unknown address {message.address}; known: {', '.join(ENDPOINT_BY_ADDRESS)}"
        )
    if not endpoint.has_id:
        request_id = -1
    elif request_id < 0:
        raise RequestError(
            -1, f"{endpoint.address}: the first argument must be the request id, an int in 0..{MAX_ID}"
        )
    tags, args = message.tags, message.args
    positional = [a for a in endpoint.args if isinstance(a, Arg)]
    if len(args) < len(positional) or (len(args) > len(positional) and not endpoint.options):
        spec = " ".join(a.spec() for a in endpoint.args)
        raise RequestError(
            request_id, f"{endpoint.address} takes {spec}; got {len(args)} arguments ({tags or 'none'})"
        )
    try:
        values = {a.name: _coerce(a, tags[i], args[i]) for i, a in enumerate(positional)}
        request = Request(endpoint, request_id if endpoint.has_id else -1, values)
        request.values.pop("id", None)
        if endpoint.options:
            _parse_options(request, tags, args, len(positional), meta)
        if endpoint.handler == "model_load" and not MODEL_NAME_PATTERN.match(values["name"]):
            raise ValueError(
                f"name must be a model name (letters, digits, _ . -; at most 64), got {values['name']!r}"
            )
    except (ValueError, OverflowError) as error:
        raise RequestError(request_id, f"{endpoint.address}: {error}") from None
    return request


def _parse_options(request: Request, tags: str, args: tuple, start: int, meta: ModelMeta | None) -> None:
    endpoint = request.endpoint
    conditions = meta.condition_names if meta else ()
    position = start
    while position < len(args):
        if tags[position] not in "sS":
            raise ValueError(f"argument {position} must be a key (string), got type tag {tags[position]!r}")
        key = args[position]
        if key == CLIP_MARKER and endpoint.clip:
            request.clip = _parse_clip(tags, args, position + 1, meta)
            break
        if position + 1 >= len(args):
            raise ValueError(f"key {key!r} has no value")
        if (position - start) // 2 >= MAX_KEY_VALUE_PAIRS:
            raise ValueError(f"too many key/value pairs (at most {MAX_KEY_VALUE_PAIRS})")
        tag, value = tags[position + 1], args[position + 1]
        if key in request.options or key in request.sliders:
            raise ValueError(f"key {key!r} is given twice")
        option = OPTION_BY_KEY.get(key)
        if option is not None:
            if option.tag == "i":
                request.options[key] = coerce_int(key, tag, value, option.low, option.high)
            else:
                request.options[key] = _parse_style(coerce_str(key, tag, value), meta)
        elif key in conditions:
            request.sliders[key] = coerce_float(key, tag, value, 0, 1)
        else:
            allowed = ", ".join([*OPTION_BY_KEY, *conditions])
            raise ValueError(f"unknown key {key!r}; allowed: {allowed}")
        position += 2
    if endpoint.clip and request.clip is None:
        raise ValueError(f"the clip is missing: end with '{CLIP_MARKER}' length_beats:f and the note groups")


def _parse_style(style: str, meta: ModelMeta | None) -> str | None:
    if style == STYLE_ANY:
        return None
    styles = meta.styles if meta else ()
    if style not in styles:
        allowed = ", ".join([STYLE_ANY, *styles]) if styles else f"{STYLE_ANY} (this model has no styles)"
        raise ValueError(f"unknown style {style!r}; allowed: {allowed}")
    return style


def _parse_clip(tags: str, args: tuple, start: int, meta: ModelMeta | None) -> Clip:
    beats_per_bar = meta.beats_per_bar if meta else 4
    if start >= len(args):
        raise ValueError(f"'{CLIP_MARKER}' must be followed by length_beats:f")
    max_beats = MAX_BARS * beats_per_bar
    length = coerce_float("length_beats", tags[start], args[start], 0, max_beats)
    if length <= 0:
        raise ValueError(f"length_beats must be in 0..{max_beats} and > 0, got {length:g}")
    rest_tags, rest = tags[start + 1 :], args[start + 1 :]
    if len(rest) % 4:
        raise ValueError(
            f"clip notes must come in groups of 4 (pitch start_beats duration_beats velocity), "
            f"got {len(rest)} values"
        )
    if len(rest) // 4 > MAX_CLIP_NOTES:
        raise ValueError(f"the clip has {len(rest) // 4} notes; at most {MAX_CLIP_NOTES}")
    if rest_tags.strip("ifhd"):
        bad = next(i for i, t in enumerate(rest_tags) if t not in "ifhd")
        raise ValueError(f"clip note {bad // 4} has a non-numeric value (type tag {rest_tags[bad]!r})")
    notes = np.array(rest, dtype=np.float64).reshape(-1, 4)
    if not np.all(np.isfinite(notes)):
        raise ValueError(f"clip note {int(np.argmin(np.isfinite(notes).all(axis=1)))} has NaN or inf")
    pitch = notes[:, 0]
    checks = (
        ((pitch < 0) | (pitch > 127) | (pitch != np.round(pitch)), "pitch must be an int in 0..127"),
        (notes[:, 1] < 0, "start_beats must be >= 0"),
        (notes[:, 2] <= 0, "duration_beats must be > 0"),
        ((notes[:, 3] < 0.5) | (notes[:, 3] >= 127.5), "velocity must be in 1..127"),
    )
    for bad, text in checks:
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(f"clip note {index}: {text}, got {notes[index].tolist()}")
    notes[:, 3] = np.round(notes[:, 3])
    return Clip(length, notes)


def render_markdown() -> str:
    """``docs/osc-api.md``: generated from the tables above; do not edit the file by hand."""
    from companion.osc_api_doc import render

    return render()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["--markdown"]:
        print("usage: python -m companion.osc_api --markdown   (prints docs/osc-api.md)", file=sys.stderr)
        return 2
    sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
