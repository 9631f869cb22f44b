"""Requests checked against the registry (``companion.osc.api``): types, counts, ranges, the loaded model's
conditions and styles, and the clip of ``/nudge/vary``. Every error names the argument and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.core.drum_map import voices_from_names
from companion.core.errors import OscError, UsageError
from companion.core.midi_values import PITCH, VELOCITY
from companion.core.model_meta import ModelMeta
from companion.core.notes import rows_to_notes
from companion.core.osc_codec import Message, first_argument
from companion.core.pattern import MAX_BARS
from companion.osc.api import (
    CLIP_MARKER,
    CONDITIONS,
    ENDPOINT_BY_ADDRESS,
    KEEP_NONE,
    MAX_CLIP_NOTES,
    MAX_ID,
    MAX_KEY_VALUE_PAIRS,
    OPTION_BY_KEY,
    STYLE_ANY,
    Arg,
    Endpoint,
    Repeat,
)
from companion.runtime.models_dir import MODEL_NAME_PATTERN
from companion.runtime.search_request import SearchRequest


class RequestError(OscError):
    """A malformed request: becomes ``/nudge/error id reason``."""

    def __init__(self, request_id: int, reason: str):
        super().__init__(reason)
        self.request_id = request_id
        self.reason = reason


@dataclass
class Clip:
    length_beats: float
    notes: np.ndarray  # [M] of NOTE_DTYPE (companion.core.notes), off the grid


@dataclass
class Request:
    endpoint: Endpoint
    id: int
    values: dict[str, Any]  # positional arguments by name (without id; an optional one left off is absent)
    options: dict[str, Any] = field(default_factory=dict)  # bars, style, seed, candidates, keep (voices)
    sliders: dict[str, float] = field(default_factory=dict)  # condition name -> 0..1
    clip: Clip | None = None
    notes: np.ndarray | None = None  # [M] of NOTE_DTYPE: the note groups that end the arguments
    search: SearchRequest | None = None  # generate and vary: the search, resolved by the dispatcher


# ---- coercion: one function per expected type; every error names the argument and the allowed range


def _number(value: float) -> str:
    """A bound as people write it: whole numbers in full (1048576, not 1.04858e+06)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _range_text(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return "" if low is None else f" >= {_number(low)}"
    if low is None:
        return f" <= {_number(high)}"
    return f" in {_number(low)}..{_number(high)}"


def coerce_int(name: str, tag: str, value: Any, low: float | None = None, high: float | None = None) -> int:
    if tag in "ih":
        number = int(value)
    elif tag in "fd":
        if not math.isfinite(value) or value != int(value):
            raise UsageError(f"{name} must be an int{_range_text(low, high)}, got {value!r}")
        number = int(value)
    else:
        raise UsageError(f"{name} must be an int (type tag i), got type tag {tag!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise UsageError(f"{name} must be an int{_range_text(low, high)}, got {number}")
    return number


def coerce_float(
    name: str, tag: str, value: Any, low: float | None = None, high: float | None = None
) -> float:
    if tag not in "ifhd":
        raise UsageError(f"{name} must be a number (type tag f), got type tag {tag!r}")
    number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"{name} must be finite, got {number}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise UsageError(f"{name} must be{_range_text(low, high)}, got {number:g}")
    return number


def coerce_str(name: str, tag: str, value: Any) -> str:
    if tag not in "sS":
        raise UsageError(f"{name} must be a string (type tag s), got type tag {tag!r}")
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


def salvage_id(data: bytes) -> int:
    """The id of a message that failed to decode, when its first argument still reads as one; else -1."""
    first = first_argument(data)
    return -1 if first is None else read_id(Message("", first[0], (first[1],)))


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
    required = sum(not a.optional for a in positional)
    groups = any(isinstance(a, Repeat) for a in endpoint.args)  # note groups follow the positional args
    if len(args) < required or (len(args) > len(positional) and not endpoint.options and not groups):
        spec = " ".join(a.spec() for a in endpoint.args)
        raise RequestError(
            request_id, f"{endpoint.address} takes {spec}; got {len(args)} arguments ({tags or 'none'})"
        )
    positional = positional[: len(args)]  # the optional arguments that were left off have no value
    try:
        values = {a.name: _coerce(a, tags[i], args[i]) for i, a in enumerate(positional)}
        request = Request(endpoint, request_id if endpoint.has_id else -1, values)
        request.values.pop("id", None)
        if endpoint.options:
            _parse_options(request, tags, args, len(positional), meta)
        if groups:
            request.notes = parse_note_groups(tags[len(positional) :], args[len(positional) :], meta)
        if endpoint.handler == "model_load" and not MODEL_NAME_PATTERN.match(values["name"]):
            raise UsageError(
                f"name must be a model name (letters, digits, _ . -; at most 64), got {values['name']!r}"
            )
    except (UsageError, OverflowError) as error:  # (anything else is a bug: the dispatcher's internal error)
        raise RequestError(request_id, f"{endpoint.address}: {error}") from None
    return request


def _parse_options(request: Request, tags: str, args: tuple, start: int, meta: ModelMeta | None) -> None:
    endpoint = request.endpoint
    conditions = meta.condition_names if meta else ()
    position = start
    while position < len(args):
        if tags[position] not in "sS":
            raise UsageError(f"argument {position} must be a key (string), got type tag {tags[position]!r}")
        key = args[position]
        if key == CLIP_MARKER and endpoint.clip:
            request.clip = _parse_clip(tags, args, position + 1, meta)
            break
        if position + 1 >= len(args):
            raise UsageError(f"key {key!r} has no value")
        if (position - start) // 2 >= MAX_KEY_VALUE_PAIRS:
            raise UsageError(f"too many key/value pairs (at most {MAX_KEY_VALUE_PAIRS})")
        tag, value = tags[position + 1], args[position + 1]
        if key in request.options or key in request.sliders:
            raise UsageError(f"key {key!r} is given twice")
        if not _takes(endpoint, key, conditions):
            taken = [k for k in endpoint.keys or () if k != CONDITIONS] + list(
                conditions if CONDITIONS in (endpoint.keys or ()) else ()
            )
            raise UsageError(f"key {key!r} is not taken here; allowed: {', '.join(taken) or 'none'}")
        option = OPTION_BY_KEY.get(key)
        if option is not None:
            if option.tag == "i":
                request.options[key] = coerce_int(key, tag, value, option.low, option.high)
            elif key == "keep":
                text = coerce_str(key, tag, value)
                request.options[key] = () if text == KEEP_NONE else voices_from_names(text)
            else:
                request.options[key] = _parse_style(coerce_str(key, tag, value), meta)
        elif key in conditions:
            request.sliders[key] = coerce_float(key, tag, value, 0, 1)
        else:
            allowed = ", ".join([*OPTION_BY_KEY, *conditions])
            raise UsageError(f"unknown key {key!r}; allowed: {allowed}")
        position += 2
    needs_clip = not endpoint.clip_optional or bool(request.options.get("keep"))
    if endpoint.clip and request.clip is None and needs_clip:
        why = " (keep needs the clip)" if endpoint.clip_optional else ""
        raise UsageError(
            f"the clip is missing{why}: end with '{CLIP_MARKER}' length_beats:f and the note groups"
        )


def _takes(endpoint: Endpoint, key: str, conditions: tuple[str, ...]) -> bool:
    """Whether ``endpoint`` takes the option ``key`` (unknown keys are refused later, naming all)."""
    if endpoint.keys is None or (key not in OPTION_BY_KEY and key not in conditions):
        return True
    return key in endpoint.keys or (key in conditions and CONDITIONS in endpoint.keys)


def _parse_style(style: str, meta: ModelMeta | None) -> str | None:
    if style == STYLE_ANY:
        return None
    styles = meta.styles if meta else ()
    if style not in styles:
        allowed = ", ".join([STYLE_ANY, *styles]) if styles else f"{STYLE_ANY} (this model has no styles)"
        raise UsageError(f"unknown style {style!r}; allowed: {allowed}")
    return style


def _parse_clip(tags: str, args: tuple, start: int, meta: ModelMeta | None) -> Clip:
    beats_per_bar = meta.beats_per_bar if meta else 4
    if start >= len(args):
        raise UsageError(f"'{CLIP_MARKER}' must be followed by length_beats:f")
    max_beats = MAX_BARS * beats_per_bar
    length = coerce_float("length_beats", tags[start], args[start], 0, max_beats)
    if length <= 0:
        raise UsageError(f"length_beats must be in 0..{max_beats} and > 0, got {length:g}")
    return Clip(length, parse_note_groups(tags[start + 1 :], args[start + 1 :], meta))


def parse_note_groups(rest_tags: str, rest: tuple, meta: ModelMeta | None) -> np.ndarray:
    """Flat note groups ``pitch start_beats duration_beats velocity`` -> notes [M] of ``NOTE_DTYPE``, checked
    (a velocity is rounded half up first: 0.5 is 1, as Live sends fractions)."""
    max_beats = MAX_BARS * (meta.beats_per_bar if meta else 4)
    if len(rest) % 4:
        raise UsageError(
            f"clip notes must come in groups of 4 (pitch start_beats duration_beats velocity), "
            f"got {len(rest)} values"
        )
    if len(rest) // 4 > MAX_CLIP_NOTES:
        raise UsageError(f"the clip has {len(rest) // 4} notes; at most {MAX_CLIP_NOTES}")
    if rest_tags.strip("ifhd"):
        at = next(i for i, t in enumerate(rest_tags) if t not in "ifhd")
        raise UsageError(f"clip note {at // 4} has a non-numeric value (type tag {rest_tags[at]!r})")
    rows = np.array(rest, dtype=np.float64).reshape(-1, 4)  # [M, 4] as sent
    if not np.all(np.isfinite(rows)):
        raise UsageError(f"clip note {int(np.argmin(np.isfinite(rows).all(axis=1)))} has NaN or inf")
    velocity = np.floor(rows[:, 3] + 0.5)  # half up: 0.5 -> 1 (np.round would give 0, out of range)
    checks: tuple[tuple[np.ndarray, str], ...] = (
        (PITCH.outside(rows[:, 0]), f"pitch must be {PITCH.text}"),
        ((rows[:, 1] < 0) | (rows[:, 1] > max_beats), f"start_beats must be in 0..{max_beats}"),
        ((rows[:, 2] <= 0) | (rows[:, 2] > max_beats), f"duration_beats must be in 0..{max_beats} and > 0"),
        (VELOCITY.outside(velocity), f"velocity must be in {VELOCITY.low}..{VELOCITY.high}"),
    )
    for bad, text in checks:
        if bad.any():
            index = int(np.argmax(bad))
            raise UsageError(f"clip note {index}: {text}, got {rows[index].tolist()}")
    rows[:, 3] = velocity
    return rows_to_notes(rows)
