"""Request parsing against the registry: coercion (ints as whole floats) and every kind of malformed input."""

from __future__ import annotations

import math

import pytest

from companion.core.notes import OFF_GRID
from companion.core.osc_codec import Message, decode_message, encode_message
from companion.osc.api import MAX_CLIP_NOTES, MAX_ID
from companion.osc.request import RequestError, parse_request
from tests.support.tiny_onnx import tiny_meta

META = tiny_meta(conditions=("density", "syncopation"), styles=("funk", "rock"))


def parse(address, tags, *args, meta=META):
    return parse_request(decode_message(encode_message(address, tags, args)), meta)


def error_of(address, tags, *args, meta=META) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse(address, tags, *args, meta=meta)
    return info.value


def test_generate_options_and_sliders():
    request = parse(
        "/nudge/generate",
        "isisfsssisf",
        7,
        "bars",
        2,
        "density",
        0.7,
        "style",
        "funk",
        "seed",
        11,
        "syncopation",
        1,
    )
    assert request.id == 7
    assert request.options == {"bars": 2, "style": "funk", "seed": 11}
    assert request.sliders == {"density": pytest.approx(0.7), "syncopation": 1.0}


def test_ints_sent_as_whole_floats_are_accepted_and_lossy_ones_refused():
    request = parse("/nudge/generate", "fsfsf", 3.0, "bars", 4.0, "seed", 12.0)
    assert (request.id, request.options) == (3, {"bars": 4, "seed": 12})
    assert isinstance(request.options["bars"], int)
    assert "bars must be an int in 1..8, got 4.5" in error_of("/nudge/generate", "isf", 3, "bars", 4.5).reason
    assert error_of("/nudge/ping", "f", 1.5).request_id == -1


def test_style_any_means_none_and_unknown_style_is_named():
    assert parse("/nudge/generate", "iss", 1, "style", "any").options["style"] is None
    error = error_of("/nudge/generate", "iss", 1, "style", "jazz")
    assert error.request_id == 1 and "unknown style 'jazz'; allowed: any, funk, rock" in error.reason
    styleless = tiny_meta(styles=())
    assert (
        "this model has no styles"
        in error_of("/nudge/generate", "iss", 1, "style", "funk", meta=styleless).reason
    )


@pytest.mark.parametrize(
    ("address", "tags", "args", "needle"),
    [
        ("/nudge/nope", "i", (4,), "unknown address /nudge/nope"),
        ("/nudge/ping", "", (), "first argument must be the request id"),
        ("/nudge/ping", "s", ("x",), "first argument must be the request id"),
        ("/nudge/ping", "i", (-5,), "first argument must be the request id"),
        ("/nudge/ping", "iii", (4, 9001, 5), "takes id:i [reply_port:i]; got 3 arguments"),
        ("/nudge/ping", "ii", (4, 0), "reply_port must be an int in 1..65535, got 0"),
        ("/nudge/ping", "ii", (4, 65536), "reply_port must be an int in 1..65535, got 65536"),
        ("/nudge/ping", "if", (4, math.nan), "reply_port must be an int in 1..65535, got nan"),
        ("/nudge/ping", "if", (4, 9001.5), "reply_port must be an int in 1..65535, got 9001.5"),
        ("/nudge/ping", "is", (4, "9001"), "reply_port must be an int (type tag i), got type tag 's'"),
        ("/nudge/model/load", "i", (4,), "takes id:i name:s"),
        ("/nudge/model/load", "ii", (4, 5), "name must be a string"),
        ("/nudge/model/load", "is", (4, "../etc/passwd"), "must be a model name"),
        ("/nudge/generate", "isf", (4, "density", math.nan), "density must be finite"),
        ("/nudge/generate", "isf", (4, "density", math.inf), "density must be finite"),
        ("/nudge/generate", "isf", (4, "density", 1.5), "density must be in 0..1"),
        (
            "/nudge/generate",
            "isf",
            (4, "tempo", 0.5),
            "unknown key 'tempo'; allowed: bars, style, seed, candidates, keep, parts, density, syncopation",
        ),
        ("/nudge/generate", "isi", (4, "bars", 9), "bars must be an int in 1..8"),
        ("/nudge/generate", "isi", (4, "candidates", 5000), "candidates must be an int in 1..1024"),
        ("/nudge/generate", "is", (4, "bars"), "key 'bars' has no value"),
        ("/nudge/generate", "iis", (4, 3, "x"), "must be a key (string)"),
        ("/nudge/generate", "isisi", (4, "bars", 2, "bars", 3), "given twice"),
        ("/nudge/generate", "iss", (4, "bars", "two"), "bars must be an int (type tag i)"),
        ("/nudge/vary", "if", (4, 0.5), "the clip is missing"),
        ("/nudge/vary", "if", (4, 1.5), "amount must be in 0..1"),
        ("/nudge/vary", "ifs", (4, 0.5, "notes"), "followed by length_beats"),
        ("/nudge/vary", "ifsf", (4, 0.5, "notes", 0.0), "length_beats must be in 0..32 and > 0"),
        ("/nudge/vary", "ifsf", (4, 0.5, "notes", 40.0), "length_beats must be in 0..32"),
        ("/nudge/vary", "ifsfiff", (4, 0.5, "notes", 4.0, 36, 0.0, 0.1), "groups of 4"),
        (
            "/nudge/vary",
            "ifsfiffi",
            (4, 0.5, "notes", 4.0, 200, 0.0, 0.1, 100),
            "pitch must be an int in 0..127",
        ),
        (
            "/nudge/vary",
            "ifsfiffi",
            (4, 0.5, "notes", 4.0, 36, -1.0, 0.1, 100),
            "start_beats must be in 0..32",
        ),
        (
            "/nudge/vary",
            "ifsfidfi",
            (4, 0.5, "notes", 4.0, 36, 1e300, 0.1, 100),
            "start_beats must be in 0..32",
        ),
        (
            "/nudge/vary",
            "ifsfiffi",
            (4, 0.5, "notes", 4.0, 36, 0.0, 0.0, 100),
            "duration_beats must be in 0..32 and > 0",
        ),
        (
            "/nudge/vary",
            "ifsfifdi",
            (4, 0.5, "notes", 4.0, 36, 0.0, 1e300, 100),
            "duration_beats must be in 0..32",
        ),
        ("/nudge/vary", "ifsfiffi", (4, 0.5, "notes", 4.0, 36, 0.0, 0.1, 0), "velocity must be in 1..127"),
        ("/nudge/vary", "ifsfiffi", (4, 0.5, "notes", 4.0, 36, math.nan, 0.1, 9), "NaN or inf"),
        ("/nudge/vary", "ifsfiffs", (4, 0.5, "notes", 4.0, 36, 0.0, 0.1, "x"), "non-numeric"),
        ("/nudge/transport", "ff", (120.0, 1.0), "takes bpm:f beat:f playing:i"),
        ("/nudge/transport", "ffi", (5.0, 1.0, 1), "bpm must be in 20..999"),
        ("/nudge/transport", "ffi", (120.0, 1.0, 2), "playing must be an int in 0..1"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(address, tags, args, needle):
    error = error_of(address, tags, *args)
    assert needle in error.reason
    expected_id = args[0] if address not in ("/nudge/transport",) and tags[:1] == "i" and args[0] >= 0 else -1
    assert error.request_id == expected_id


def test_oversized_clip_is_refused():
    notes = [36, 0.0, 0.1, 100] * (MAX_CLIP_NOTES + 1)
    error = error_of("/nudge/vary", "ifsf" + "iffi" * (MAX_CLIP_NOTES + 1), 4, 0.5, "notes", 4.0, *notes)
    assert f"at most {MAX_CLIP_NOTES}" in error.reason


def test_vary_clip_parsing_with_options_before_the_marker():
    request = parse(
        "/nudge/vary", "ifsfsisfffff", 9, 0.25, "density", 0.4, "seed", 2, "notes", 4.0, 36.0, 0.5, 0.25, 99.6
    )
    assert request.values == {"amount": 0.25}
    assert request.sliders == {"density": pytest.approx(0.4)} and request.options == {"seed": 2}
    assert request.clip.length_beats == 4.0
    assert request.clip.notes.tolist() == [(36, 0.5, 0.25, 100, OFF_GRID)]  # velocity rounded, off the grid


def test_clip_velocities_round_half_up_and_stay_in_1_to_127():
    request = parse(
        "/nudge/vary",
        "ifsf" + "ifff" * 3,
        9,
        0.5,
        "notes",
        4.0,
        36,
        0,
        0.1,
        0.5,
        38,
        1,
        0.1,
        126.5,
        42,
        2,
        0.1,
        7.49,
    )
    assert request.clip.notes["velocity"].tolist() == [1, 127, 7]  # np.round(0.5) would give 0


def test_transport_has_no_id_and_accepts_ints_for_floats():
    request = parse("/nudge/transport", "iii", 120, 4, 1)
    assert request.id == -1 and request.values == {"bpm": 120.0, "beat": 4.0, "playing": 1}


def test_max_id_is_accepted():
    assert parse("/nudge/ping", "i", MAX_ID).id == MAX_ID


def test_ping_reply_port_is_optional():
    assert parse("/nudge/ping", "i", 3).values == {}
    assert parse("/nudge/ping", "ii", 3, 9001).values == {"reply_port": 9001}
    assert parse("/nudge/ping", "if", 3, 65535.0).values == {"reply_port": 65535}  # a whole float is an int
    assert parse("/nudge/ping", "ii", 3, 1).values == {"reply_port": 1}


def test_parse_needs_no_model_for_model_independent_addresses():
    assert parse_request(Message("/nudge/ping", "i", (1,)), None).id == 1
