"""Fast OSC 1.0 encoding and decoding of messages and bundles, on plain bytes.

The daemon builds long replies (hundreds of note arguments); python-osc's ``OscMessageBuilder`` appends and
packs one argument at a time, which is slow for long lists (``bench/bench_osc_codec.py`` measures both).
Here a whole message is one ``struct`` call with a cached format, and a run of numeric arguments is
decoded by one ``struct.unpack_from``.

Supported type tags: ``i`` int32, ``f`` float32, ``s``/``S`` string, ``b`` blob, ``h`` int64, ``d`` float64,
``T`` true, ``F`` false, ``N`` nil, ``I`` impulse. Anything else is an ``OscError`` naming the tag.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from companion.core.errors import OscError

# Largest datagram Nudge sends. Max's udpreceive documents no limit, so we stay under every known one on
# the way (docs/osc-api.md): the Ethernet MTU payload, so nothing is ever fragmented, even beyond loopback.
MAX_DATAGRAM_BYTES = 1472
BUNDLE_TAG = b"#bundle\0"
IMMEDIATELY = 1  # the OSC time tag meaning "now"
MAX_BUNDLE_DEPTH = 4

# type tag -> struct code for fixed-size numeric arguments (big-endian, as OSC wants)
NUMERIC_CODES: dict[str, str] = {"i": "i", "f": "f", "h": "q", "d": "d"}
NO_DATA_VALUES: dict[str, Any] = {"T": True, "F": False, "N": None, "I": float("inf")}
STRING_TAGS = frozenset("sS")
KNOWN_TAGS = frozenset(NUMERIC_CODES) | frozenset(NO_DATA_VALUES) | STRING_TAGS | {"b"}
_TAG_RUNS = re.compile(f"([{''.join(NUMERIC_CODES)}]+)|(.)", re.DOTALL)  # numeric runs | any other tag
_NUMERIC_TRANSLATION = str.maketrans(NUMERIC_CODES)


@dataclass(frozen=True, slots=True)
class Message:
    address: str
    tags: str  # type tags without the leading comma
    args: tuple


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def encode_string(text: str) -> bytes:
    """OSC string: UTF-8 bytes, NUL terminated, padded with NULs to a multiple of 4."""
    raw = text.encode("utf-8")
    if b"\0" in raw:
        raise OscError("OSC strings cannot contain NUL characters")
    return raw + b"\0" * (4 - len(raw) % 4)


_STRUCT_CACHE: dict[str, struct.Struct] = {}


def _struct(fmt: str) -> struct.Struct:
    compiled = _STRUCT_CACHE.get(fmt)
    if compiled is None:
        if len(_STRUCT_CACHE) > 512:
            _STRUCT_CACHE.clear()
        compiled = _STRUCT_CACHE[fmt] = struct.Struct(fmt)
    return compiled


def encode_message(address: str, tags: str, args: Sequence[Any] = ()) -> bytes:
    """One OSC message. ``tags`` has one type tag per argument, without the comma (e.g. ``"isf"``)."""
    if not address.startswith("/"):
        raise OscError(f"OSC address must start with '/', got {address!r}")
    fmt = [">"]
    values: list[Any] = []
    position = 0
    try:
        for tag in tags:
            if tag in NO_DATA_VALUES:
                continue
            value = args[position]
            position += 1
            code = NUMERIC_CODES.get(tag)
            if code is not None:
                fmt.append(code)
                values.append(value)
            elif tag in STRING_TAGS:
                raw = encode_string(value)
                fmt.append(f"{len(raw)}s")
                values.append(raw)
            elif tag == "b":
                data = bytes(value)
                fmt.append(f"i{_pad4(len(data))}s")
                values += [len(data), data]
            else:
                raise OscError(f"unsupported OSC type tag {tag!r}")
        if position != len(args):
            raise OscError(f"{len(args)} arguments for {position} data-carrying type tags {tags!r}")
        body = _struct("".join(fmt)).pack(*values)
    except IndexError:
        raise OscError(f"too few arguments ({len(args)}) for type tags {tags!r}") from None
    except (struct.error, TypeError, AttributeError, OverflowError) as error:
        raise OscError(f"cannot encode arguments for type tags {tags!r}: {error}") from None
    return encode_string(address) + encode_string("," + tags) + body


def encode_bundle(elements: Sequence[bytes], timetag: int = IMMEDIATELY) -> bytes:
    """An OSC bundle of already encoded messages or bundles."""
    parts = [BUNDLE_TAG, struct.pack(">Q", timetag)]
    for element in elements:
        if len(element) % 4:
            raise OscError("bundle elements must be a multiple of 4 bytes long")
        parts += [struct.pack(">i", len(element)), element]
    return b"".join(parts)


def _read_string(data: bytes, start: int, what: str) -> tuple[str, int]:
    end = data.find(b"\0", start)
    if end < 0:
        raise OscError(f"{what} is not NUL terminated")
    next_start = _pad4(end + 1)
    if next_start > len(data):
        raise OscError(f"{what} padding runs past the end of the packet")
    try:
        return data[start:end].decode("utf-8"), next_start
    except UnicodeDecodeError:
        raise OscError(f"{what} is not valid UTF-8") from None


def decode_message(data: bytes) -> Message:
    """Decode one OSC message; raises ``OscError`` naming what is malformed."""
    if len(data) % 4:
        raise OscError(f"OSC packet size {len(data)} is not a multiple of 4")
    if not data.startswith(b"/"):
        raise OscError("OSC address must start with '/'")
    address, position = _read_string(data, 0, "address")
    if position == len(data):
        return Message(address, "", ())  # OSC 1.0 allows a message without a type tag string
    if data[position : position + 1] != b",":
        raise OscError("type tag string must start with ','")
    tag_string, position = _read_string(data, position, "type tag string")
    tags = tag_string[1:]
    args: list[Any] = []
    for match in _TAG_RUNS.finditer(tags):
        run, tag = match.groups()
        if run:  # a run of numeric tags: one struct call
            position = _unpack_run(data, position, run.translate(_NUMERIC_TRANSLATION), args)
        elif tag in STRING_TAGS:
            text, position = _read_string(data, position, f"argument {len(args)}")
            args.append(text)
        elif tag in NO_DATA_VALUES:
            args.append(NO_DATA_VALUES[tag])
        elif tag == "b":
            if position + 4 > len(data):
                raise OscError(f"argument {len(args)} (blob) runs past the end of the packet")
            (size,) = struct.unpack_from(">i", data, position)
            end = position + 4 + size
            if size < 0 or _pad4(end) > len(data):
                raise OscError(f"argument {len(args)} (blob) of size {size} runs past the end of the packet")
            args.append(data[position + 4 : end])
            position = _pad4(end)
        else:
            raise OscError(f"unsupported OSC type tag {tag!r}")
    if position != len(data):
        raise OscError(f"{len(data) - position} bytes left over after the arguments")
    return Message(address, tags, tuple(args))


def _unpack_run(data: bytes, position: int, run: str, args: list) -> int:
    unpacker = _struct(">" + run)
    if position + unpacker.size > len(data):
        raise OscError(f"arguments from {len(args)} on run past the end of the packet")
    args.extend(unpacker.unpack_from(data, position))
    return position + unpacker.size


def decode_packet(data: bytes) -> list[Message]:
    """Decode a message or a (nested) bundle into its messages, in order."""
    return [decode_message(element) for element in split_packet(data)]


def first_argument(data: bytes) -> tuple[str, Any] | None:
    """(type tag, value) of a message's first argument when it is numeric and readable, even if later
    arguments are malformed; else None (for the id of an error reply)."""
    try:
        _, position = _read_string(data, 0, "address")
        if data[position : position + 1] != b",":
            return None
        tags, position = _read_string(data, position, "type tag string")
        tag = tags[1:2]
        if tag not in NUMERIC_CODES:
            return None
        return tag, _struct(">" + NUMERIC_CODES[tag]).unpack_from(data, position)[0]
    except (OscError, struct.error):
        return None


def split_packet(data: bytes, _depth: int = 0) -> list[bytes]:
    """The message elements of a message or (nested) bundle, in order, not yet decoded; ``OscError`` when
    the bundle's own framing is broken."""
    if not data.startswith(BUNDLE_TAG):
        return [data]
    if _depth >= MAX_BUNDLE_DEPTH:
        raise OscError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    if len(data) < 16 or len(data) % 4:
        raise OscError("bundle is shorter than its header or not a multiple of 4 bytes")
    elements: list[bytes] = []
    position = 16
    while position < len(data):
        if position + 4 > len(data):
            raise OscError("bundle element size runs past the end of the packet")
        (size,) = struct.unpack_from(">i", data, position)
        if size <= 0 or size % 4 or position + 4 + size > len(data):
            raise OscError(f"bundle element of size {size} is malformed")
        elements += split_packet(data[position + 4 : position + 4 + size], _depth + 1)
        position += 4 + size
    return elements
