"""OSC encoding/decoding: round trips, interoperability with python-osc, and malformed packets."""

from __future__ import annotations

import math
import struct

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from companion.core.osc_codec import (
    OscError,
    decode_message,
    decode_packet,
    encode_bundle,
    encode_message,
    encode_string,
)


def test_string_padding_always_has_a_nul_and_multiple_of_4():
    assert encode_string("") == b"\0\0\0\0"
    assert encode_string("abc") == b"abc\0"
    assert encode_string("abcd") == b"abcd\0\0\0\0"
    with pytest.raises(OscError, match="NUL"):
        encode_string("a\0b")


@pytest.mark.parametrize(
    ("tags", "args"),
    [
        ("", ()),
        ("i", (7,)),
        ("ifs", (-3, 0.25, "funk")),
        ("sss", ("", "abcd", "ünïcode")),
        ("hd", (2**40, 1e300)),
        ("TFNi", (5,)),
        ("bi", (b"\x01\x02\x03", 9)),
        (",iffi" * 0 + "ii" + "iffi" * 100, (1, 0, *([36, 0.5, 0.125, 100] * 100))),
        ("iiTffsNhdbi", (1, 2, 0.5, 0.25, "x", 2**40, 1.5, b"\x07", 3)),  # numeric runs between the others
    ],
)
def test_round_trip(tags, args):
    data = encode_message("/nudge/x", tags, args)
    assert len(data) % 4 == 0
    message = decode_message(data)
    assert message.address == "/nudge/x"
    assert message.tags == tags
    expected = list(args)
    for tag, value in (("T", True), ("F", False), ("N", None)):
        if tag in tags:
            expected.insert(tags.index(tag), value)
    assert list(message.args) == expected


def test_floats_are_float32():
    (value,) = decode_message(encode_message("/f", "f", (0.1,))).args
    assert value == struct.unpack(">f", struct.pack(">f", 0.1))[0]


def test_python_osc_reads_what_we_write_and_vice_versa():
    ours = encode_message("/nudge/generate", "isfsi", (5, "density", 0.75, "bars", 2))
    theirs = OscMessage(ours)
    assert theirs.address == "/nudge/generate"
    assert theirs.params == [5, "density", 0.75, "bars", 2]
    builder = OscMessageBuilder("/nudge/vary")
    for value, tag in ((3, "i"), (0.5, "f"), ("notes", "s"), (4.0, "f"), (36, "i")):
        builder.add_arg(value, tag)
    message = decode_message(builder.build().dgram)
    assert (message.address, message.tags, message.args) == (
        "/nudge/vary",
        "ifsfi",
        (3, 0.5, "notes", 4.0, 36),
    )


def test_bundles_nested_and_python_osc_built():
    inner = encode_bundle([encode_message("/a", "i", (1,))])
    packet = encode_bundle([inner, encode_message("/b", "s", ("x",))])
    assert [(m.address, m.args) for m in decode_packet(packet)] == [("/a", (1,)), ("/b", ("x",))]
    bundle = OscBundleBuilder(IMMEDIATELY)
    msg = OscMessageBuilder("/nudge/ping")
    msg.add_arg(9, "i")
    bundle.add_content(msg.build())
    assert [(m.address, m.args) for m in decode_packet(bundle.build().dgram)] == [("/nudge/ping", (9,))]


def test_message_without_type_tags_is_accepted_as_no_arguments():
    assert decode_message(encode_string("/nudge/ping")).args == ()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"/ab", "multiple of 4"),
        (b"abc\0", "must start with '/'"),
        (b"/abc", "NUL terminated"),
        (encode_string("/a") + b"iii\0", "must start with ','"),
        (encode_string("/a") + encode_string(",i"), "past the end"),
        (encode_string("/a") + encode_string(",s") + b"abcd", "NUL terminated"),
        (encode_string("/a") + encode_string(",x"), "unsupported OSC type tag 'x'"),
        (encode_string("/a") + encode_string(",iixi") + b"\0" * 12, "unsupported OSC type tag 'x'"),
        (encode_string("/a") + encode_string(",i\ni") + b"\0" * 8, r"unsupported OSC type tag '\\n'"),
        (encode_string("/a") + encode_string(",i") + b"\0\0\0\1\0\0\0\2", "left over"),
        (encode_string("/a") + encode_string(",b") + struct.pack(">i", 100), "blob"),
        (encode_string("/a") + encode_string(",s") + b"\xff\xfe\0\0", "UTF-8"),
        (b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 1000) + b"\0" * 4, "malformed"),
        (b"#bundle\0", "shorter"),
    ],
)
def test_malformed_packets_raise_osc_error_saying_why(data, reason):
    with pytest.raises(OscError, match=reason):
        decode_packet(data)


def test_deeply_nested_bundles_are_refused():
    packet = encode_message("/a", "")
    for _ in range(6):
        packet = encode_bundle([packet])
    with pytest.raises(OscError, match="nested deeper"):
        decode_packet(packet)


@pytest.mark.parametrize(
    ("address", "tags", "args", "reason"),
    [
        ("nudge", "i", (1,), "must start with '/'"),
        ("/a", "ii", (1,), "too few"),
        ("/a", "i", (1, 2), "2 arguments"),
        ("/a", "i", ("x",), "cannot encode"),
        ("/a", "i", (2**40,), "cannot encode"),
        ("/a", "f", (1e300,), "cannot encode"),
        ("/a", "q", (1,), "unsupported"),
    ],
)
def test_encode_errors(address, tags, args, reason):
    with pytest.raises(OscError, match=reason):
        encode_message(address, tags, args)


def test_nan_survives_encoding_for_the_parser_to_refuse():
    (value,) = decode_message(encode_message("/a", "f", (float("nan"),))).args
    assert math.isnan(value)
