"""Daemon.handle on plain bytes: every address, the live MIDI hooks (a recording player), errors, hot swap."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

from companion.core.notes import OFF_GRID, rows_to_notes
from companion.core.osc_codec import Message, decode_message, encode_bundle, encode_message
from companion.core.pattern import Grid
from companion.osc.api import ENDPOINTS, LIVE_OFF_REASON, MAX_DATAGRAM_BYTES, MAX_PACKET_MESSAGES
from companion.osc.dispatch import Daemon
from companion.osc.replies import error_reply
from companion.osc.request import Clip, parse_request
from companion.osc.searches import clip_to_pattern
from companion.runtime.model import ModelError, load_model
from companion.runtime.models_dir import ModelsDir
from tests.support.tiny_onnx import tiny_meta, tiny_model_bytes, write_tiny_model


class RecordingPlayer:
    """Stands in for companion.live's player in these unit tests only (the real one is tested with JACK)."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name in ("start", "stop", "panic", "queue", "set_transport", "close"):
            return lambda *args, **kwargs: self.calls.append((name, args, kwargs))
        raise AttributeError(name)


@pytest.fixture
def folder(tmp_path):
    write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_model(tmp_path / "other.onnx", name="other", styles=(), conditions=("density",))
    return tmp_path


@pytest.fixture
def daemon(folder):
    return Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), seed=0)


def send(daemon, address, tags="", *args):
    return [decode_message(d) for d in daemon.handle(encode_message(address, tags, args))]


def test_ping_info_list(daemon):
    (pong,) = send(daemon, "/nudge/ping", "i", 1)
    assert (pong.address, pong.args) == ("/nudge/pong", (1, "0.1.0", "default"))
    (info,) = send(daemon, "/nudge/model/info", "i", 2)
    assert info.address == "/nudge/model/info"
    assert info.args[:5] == (2, "default", 2, 4, 2)
    assert info.args[5:11:3] == ("density", "syncopation")
    assert info.args[11:] == (2, "funk", "rock")
    (listing,) = send(daemon, "/nudge/model/list", "i", 3)
    assert listing.args == (3, "default", "default", "other")


def notes_of(messages):
    begin, *parts, end = messages
    assert begin.address == "/nudge/notes/begin" and end.address == "/nudge/notes/end"
    assert len(parts) == begin.args[1] == end.args[1]
    flat = [x for p in sorted(parts, key=lambda m: m.args[1]) for x in p.args[2:]]
    return begin, np.array(flat, dtype=np.float64).reshape(-1, 4)


def test_generate_is_deterministic_and_queued_to_the_player(folder):
    player = RecordingPlayer()
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), player=player, seed=0)
    args = ("isfsisssi", 5, "density", 0.7, "bars", 2, "style", "funk", "seed", 3)
    begin, first = notes_of(send(daemon, "/nudge/generate", *args))
    _, second = notes_of(send(daemon, "/nudge/generate", *args))
    np.testing.assert_array_equal(first, second)
    assert begin.args[0] == 5 and begin.args[2] == len(first) > 0 and begin.args[3] == 8.0
    assert begin.args[4] == "default funk s3"
    assert [c[0] for c in player.calls] == ["queue", "queue"]
    assert player.calls[0][2] == {"when": "bar", "pitches": daemon.model.meta.output_pitches}


def test_vary_amount_zero_echoes_the_clip_exactly(daemon):
    clip = [36, 0.0, 0.25, 100, 38, 1.0, 0.25, 90, 42, 0.5, 0.1, 64, 56, 3.75, 0.5, 127]  # 56: cowbell
    begin, notes = notes_of(send(daemon, "/nudge/vary", "ifsf" + "iffi" * 4, 6, 0.0, "notes", 3.5, *clip))
    np.testing.assert_array_equal(notes, np.array(clip, dtype=np.float32).reshape(-1, 4))
    assert begin.args[3] == 3.5


def test_vary_passes_unreadable_notes_through_and_keeps_the_clip_pitch(daemon):
    clip = [35, 0.0, 0.25, 100, 35, 2.0, 0.25, 100, 38, 1.0, 0.25, 90, 56, 3.0, 0.5, 70, 36, 12.0, 0.1, 50]
    begin, notes = notes_of(
        send(daemon, "/nudge/vary", "ifsisf" + "iffi" * 5, 6, 0.2, "seed", 1, "notes", 8.0, *clip)
    )
    assert [56, 3.0, 0.5, 70] in notes.tolist()  # unknown pitch: unchanged
    assert [36, 12.0, 0.10000000149011612, 50] in notes.tolist()  # after the clip's end: unchanged
    assert 35 in notes[:, 0] and begin.args[3] == 8.0  # the clip's kick pitch, not the model's 36


def test_clip_to_pattern_reads_the_grid(daemon):
    rows = np.array([[36, 0.0, 0.1, 127], [38, 1.02, 0.1, 64], [99, 0.0, 0.1, 1]], dtype=np.float64)
    pattern, pitches, passthrough = clip_to_pattern(Clip(6.0, rows_to_notes(rows)), daemon.model)
    assert pattern.grid == Grid(4, 4, 2) and pattern.n_hits == 2 and pitches[:2] == [36, 38]
    assert pattern.offsets_steps[1, 4] == pytest.approx(0.08, abs=1e-6)
    assert passthrough.tolist() == [(99, 0.0, 0.1, 1, OFF_GRID)]


def test_clip_to_pattern_keeps_each_voices_most_used_pitch_ties_the_lowest(daemon):
    from companion.core.drum_map import clip_voice_lookup

    voice_of = clip_voice_lookup(daemon.model.meta.output_pitches)
    assert voice_of[35] == voice_of[36] and voice_of[42] == voice_of[44]  # one voice each, two pitches
    rows = np.array(
        [
            *([36, 0, 0.1, 90], [35, 1, 0.1, 90], [36, 2, 0.1, 90], [35, 3, 0.1, 90]),  # kick: 2 + 2 -> 35
            *([42, 0.5, 0.1, 90], [44, 1.5, 0.1, 90], [44, 2.5, 0.1, 90]),  # hat: 44 used most
        ],
        dtype=np.float64,
    )
    _, pitches, _ = clip_to_pattern(Clip(4.0, rows_to_notes(rows)), daemon.model)
    assert pitches[voice_of[35]] == 35 and pitches[voice_of[42]] == 44
    untouched = [v for v in range(len(pitches)) if v not in (voice_of[35], voice_of[42])]
    assert [pitches[v] for v in untouched] == [daemon.model.meta.output_pitches[v] for v in untouched]


def test_clip_velocity_just_under_127_5_is_full_velocity(daemon):
    message = Message("/nudge/vary", "ifsf" + "iffd", (1, 0.5, "notes", 4.0, 36, 0.0, 0.1, 127.4))
    request = parse_request(message, daemon.model.meta)
    pattern, _, _ = clip_to_pattern(request.clip, daemon.model)  # the request rounds 1..127, half up
    assert pattern.velocities.max() == 1.0 and pattern.n_hits == 1


@pytest.mark.parametrize("address", ["/nudge/play/start", "/nudge/play/stop", "/nudge/play/panic"])
def test_live_addresses_without_a_player(daemon, address):
    (reply,) = send(daemon, address, "i", 9)
    assert (reply.address, reply.args) == ("/nudge/error", (9, LIVE_OFF_REASON))


def test_live_addresses_with_a_player(folder):
    player = RecordingPlayer()
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), player=player)
    for i, address in enumerate(["/nudge/play/start", "/nudge/play/stop", "/nudge/play/panic"]):
        (reply,) = send(daemon, address, "i", i)
        assert (reply.address, reply.args) == ("/nudge/ok", (i,))
    assert send(daemon, "/nudge/transport", "ffi", 128.0, 3.5, 1) == []
    assert player.calls == [
        ("start", (), {}),
        ("stop", (), {}),
        ("panic", (), {}),
        ("set_transport", (128.0, 3.5, True), {}),
    ]


def test_handle_routed_reports_the_reply_port_of_a_valid_ping_only(daemon):
    handled = daemon.handle_routed(encode_message("/nudge/ping", "ii", (1, 9001)))
    assert handled.reply_port == 9001
    assert [decode_message(d).args for d in handled.replies] == [(1, "0.1.0", "default")]
    assert daemon.handle_routed(encode_message("/nudge/ping", "i", (2,))).reply_port is None
    for bad in (0, 70000):
        handled = daemon.handle_routed(encode_message("/nudge/ping", "ii", (3, bad)))
        (error,) = (decode_message(d) for d in handled.replies)
        assert handled.reply_port is None and error.address == "/nudge/error"
        assert error.args[0] == 3 and "reply_port must be an int in 1..65535" in error.args[1]
    handled = daemon.handle_routed(encode_message("/nudge/ping", "if", (4, float("nan"))))
    assert handled.reply_port is None and decode_message(handled.replies[0]).address == "/nudge/error"
    assert daemon.handle(encode_message("/nudge/ping", "ii", (5, 9001))) == [
        encode_message("/nudge/pong", "iss", (5, "0.1.0", "default"))
    ]


def test_transport_without_a_player_is_ignored_but_malformed_transport_is_an_error(daemon):
    # the device streams transport continuously; with live MIDI off that is not a mistake
    assert send(daemon, "/nudge/transport", "ffi", 120.0, 0.0, 0) == []
    (reply,) = send(daemon, "/nudge/transport", "ffi", 120.0, float("nan"), 0)
    assert reply.address == "/nudge/error" and reply.args[0] == -1


def test_every_registered_address_answers(daemon):
    for endpoint in ENDPOINTS:
        replies = daemon.handle(encode_message(endpoint.address, "i", (1,)))
        assert replies, endpoint.address  # at least an error explaining what is missing


def test_malformed_bytes_and_bundles(daemon):
    (reply,) = (decode_message(d) for d in daemon.handle(b"\x00\x01\x02"))
    assert reply.address == "/nudge/error" and reply.args[0] == -1 and "multiple of 4" in reply.args[1]
    (reply,) = (decode_message(d) for d in daemon.handle(b"/x" + b"\0" * 40000))
    assert "larger than" in reply.args[1]
    ping = encode_message("/nudge/ping", "i", (1,))
    assert len(daemon.handle(encode_bundle([ping] * MAX_PACKET_MESSAGES))) == MAX_PACKET_MESSAGES
    (reply,) = (decode_message(d) for d in daemon.handle(encode_bundle([ping] * (MAX_PACKET_MESSAGES + 1))))
    assert reply.address == "/nudge/error" and f"at most {MAX_PACKET_MESSAGES} per datagram" in reply.args[1]


def test_every_error_reply_fits_one_datagram_even_with_a_long_non_ascii_address(daemon):
    address = "/nudge/" + "é" * 400  # 800 bytes of UTF-8, echoed in the reason
    (datagram,) = daemon.handle(encode_message(address, "i", (1,)))
    reply = decode_message(datagram)
    assert reply.address == "/nudge/error" and len(datagram) <= MAX_DATAGRAM_BYTES
    assert "unknown address" in reply.args[1]
    long = error_reply(7, "x" * 3000)
    assert len(long) <= MAX_DATAGRAM_BYTES and decode_message(long).args[1].endswith("...")


def test_a_model_whose_info_reply_would_not_fit_is_refused_at_every_door(folder):
    descriptions = tiny_meta(conditions=tuple(f"condition_{i:02d}" for i in range(12)))
    wide = replace(
        descriptions,
        conditions=tuple(replace(c, description="d" * 150) for c in descriptions.conditions),
    )
    (folder / "wide.onnx").write_bytes(tiny_model_bytes(wide))
    with pytest.raises(ModelError, match=r"model/info reply would be \d+ bytes"):
        Daemon(load_model(folder / "wide.onnx"))
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder))
    (reply,) = send(daemon, "/nudge/model/load", "is", 1, "wide")
    assert reply.address == "/nudge/error" and "1472-byte datagram" in reply.args[1]
    assert daemon.model.name == "default"


def test_a_model_list_too_long_for_one_datagram_is_an_error_not_a_truncated_list(folder):
    for i in range(40):
        shutil.copy(folder / "other.onnx", folder / f"a_rather_long_model_name_number_{i:02d}.onnx")
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder))
    (reply,) = send(daemon, "/nudge/model/list", "i", 4)
    assert reply.address == "/nudge/error" and "42 models" in reply.args[1] and reply.args[0] == 4


def test_vary_reads_only_notes_inside_the_clip_and_fits_unread_notes_to_bars(daemon):
    # a 3-beat clip on a 4-beat grid: the kick at 3.5 is after the clip's end and comes back unchanged
    clip = [36, 0.0, 0.25, 100, 36, 3.5, 0.25, 90]
    _, notes = notes_of(
        send(daemon, "/nudge/vary", "ifsisf" + "iffi" * 2, 1, 0.3, "seed", 2, "notes", 3.0, *clip)
    )
    assert [36.0, 3.5, 0.25, 90.0] in notes.tolist()
    # bars 1 on an 8-beat clip: a cowbell (unknown pitch) at beat 6 is cropped, one at beat 1 is kept
    clip = [56, 1.0, 0.25, 70, 56, 6.0, 0.25, 71, 36, 0.0, 0.25, 100]
    args = ("ifsisisf" + "iffi" * 3, 2, 0.3, "seed", 2, "bars", 1, "notes", 8.0, *clip)
    begin, notes = notes_of(send(daemon, "/nudge/vary", *args))
    assert begin.args[3] == 4.0 and notes[:, 1].max() < 4.0
    assert [56.0, 1.0, 0.25, 70.0] in notes.tolist() and 71 not in notes[:, 3]
    # bars 4 on a 1-bar clip: the cowbell is looped with the clip
    clip = [56, 1.0, 0.25, 70, 36, 0.0, 0.25, 100]
    args = ("ifsisisf" + "iffi" * 2, 3, 0.3, "seed", 2, "bars", 4, "notes", 4.0, *clip)
    _, notes = notes_of(send(daemon, "/nudge/vary", *args))
    assert notes[notes[:, 0] == 56][:, 1].tolist() == [1.0, 5.0, 9.0, 13.0]


def test_vary_queues_the_clips_own_pitches_to_the_player(folder):
    player = RecordingPlayer()
    daemon = Daemon(load_model(folder / "default.onnx"), ModelsDir(folder), player=player, seed=0)
    clip = [35, 0.0, 0.25, 100, 38, 1.0, 0.25, 90]  # 35: acoustic bass drum, the clip's kick
    send(daemon, "/nudge/vary", "ifsisf" + "iffi" * 2, 1, 0.3, "seed", 2, "notes", 4.0, *clip)
    (queued,) = [c for c in player.calls if c[0] == "queue"]
    assert (
        queued[2]["pitches"][0] == 35
        and tuple(queued[2]["pitches"][1:]) == daemon.model.meta.output_pitches[1:]
    )


def test_a_poll_that_races_a_model_load_does_not_undo_it(daemon, folder, monkeypatch):
    write_tiny_model(folder / "default.onnx", seed=7)  # the serving model changed on disk
    real_load = daemon.models.load

    def load_while_a_request_swaps(name):
        model = real_load(name)
        if name == "default":  # the request thread loads 'other' while the poller reloads 'default'
            (reply,) = send(daemon, "/nudge/model/load", "is", 1, "other")
            assert reply.args == (1, "other")
        return model

    monkeypatch.setattr(daemon.models, "load", load_while_a_request_swaps)
    daemon.poll_models()
    assert daemon.model.name == "other"


def test_model_load_good_and_corrupt_keep_serving(daemon, folder):
    (reply,) = send(daemon, "/nudge/model/load", "is", 1, "other")
    assert reply.args == (1, "other") and daemon.model.name == "other"
    (folder / "broken.onnx").write_bytes(b"\x00" * 64)
    (reply,) = send(daemon, "/nudge/model/load", "is", 2, "broken")
    assert reply.address == "/nudge/error" and "broken.onnx" in reply.args[1] and reply.args[0] == 2
    assert daemon.model.name == "other"
    (reply,) = send(daemon, "/nudge/model/load", "is", 3, "missing")
    assert "no model 'missing'" in reply.args[1] and "available: broken, default, other" in reply.args[1]
    (pong,) = send(daemon, "/nudge/ping", "i", 4)
    assert pong.args[2] == "other"
    # the new model's conditions apply at once: 'syncopation' is gone
    (reply,) = send(daemon, "/nudge/generate", "isf", 5, "syncopation", 0.5)
    assert "unknown key 'syncopation'" in reply.args[1]


def test_poll_models_reloads_a_changed_serving_model_and_survives_corruption(daemon, folder):
    before = daemon.model
    write_tiny_model(folder / "default.onnx", seed=7, grid=Grid(4, 4, 1))
    daemon.poll_models()
    assert daemon.model is not before and daemon.model.meta.bars == 1
    good = daemon.model
    shutil.copy(folder / "other.onnx", folder / "new.onnx")
    (folder / "default.onnx").write_bytes(b"corrupt" * 10)
    daemon.poll_models()
    assert daemon.model is good  # still serving the last good one
    (reply,) = send(daemon, "/nudge/ping", "i", 1)
    assert reply.args[2] == "default"


@pytest.mark.parametrize("seed", range(5))
def test_clip_to_pattern_equals_notes_to_pattern(daemon, seed):
    """The vectorised clip reader against the reference converter, with collisions and loop wraps."""
    from companion.core.drum_map import PitchMapper, merged_pitch_table
    from companion.core.notes import notes_to_pattern

    rng = np.random.default_rng(seed)
    n = 300
    rows = np.stack(
        [
            rng.choice([35, 36, 38, 40, 42, 44, 46, 49, 51, 22, 26, 56], n),
            np.round(rng.uniform(0, 8.2, n) * 16) / 16,  # many exact collisions, some past the end
            np.full(n, 0.1),
            rng.integers(1, 128, n),
        ],
        axis=1,
    ).astype(np.float64)
    pattern, _, passthrough = clip_to_pattern(Clip(8.0, rows_to_notes(rows)), daemon.model)
    table = merged_pitch_table(daemon.model.meta.output_pitches)
    inside = [tuple(r) for r in rows if int(r[0]) in table and r[1] < 8.0]
    reference = notes_to_pattern(rows_to_notes(inside), pattern.grid, PitchMapper(table))
    assert pattern.same_as(reference)
    assert len(passthrough) == n - len(inside)


def test_a_model_file_name_that_is_not_utf8_is_a_model_error_not_a_crash(folder):
    odd = os.fsencode(folder) + b"/caf\xe9.onnx"  # Latin-1 bytes: Python reads the name with a surrogate
    with open(odd, "wb") as handle:
        handle.write((folder / "default.onnx").read_bytes())
    with pytest.raises(ModelError, match="cannot travel in OSC"):
        Daemon(load_model(os.fsdecode(odd)))
