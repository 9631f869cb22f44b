"""``/nudge/drumify`` of an audio file (the device's "drumify this audio clip"), on plain bytes: the path,
the part of the file, Live's warp markers, and every malformed combination refused with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.osc_codec import decode_message, encode_message
from companion.core.pattern import Grid
from companion.osc.dispatch import Daemon
from companion.runtime.model import load_model
from tests.support.audio import ROCK_BAR, render_loop, soundfont_or_skip
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

BPM = 100.0
LEAD_S = 0.3
BEAT_S = 60.0 / BPM


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    soundfont_or_skip()
    folder = tmp_path_factory.mktemp("drumify_audio")
    model = write_tiny_model(folder / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(model)
    loop = render_loop(folder / "loop.wav", bpm=BPM, bars=4, lead_s=LEAD_S, bass=False)
    return Daemon(load_model(model), seed=0), str(loop)


def send(daemon, tags, *args):
    return [decode_message(d) for d in daemon.handle(encode_message("/nudge/drumify", tags, args))]


def answer(messages):
    begin, *parts, end = messages
    assert begin.address == "/nudge/notes/begin", messages
    assert end.address == "/nudge/notes/end"
    flat = [x for p in sorted(parts, key=lambda m: m.args[1]) for x in p.args[2:]]
    return begin, np.array(flat, dtype=np.float64).reshape(-1, 4)


def error(messages) -> str:
    assert [m.address for m in messages] == ["/nudge/error"], messages
    return messages[0].args[1]


def test_a_warped_clip_answers_drums_on_lives_grid(setup):
    daemon, loop = setup
    # Live's markers: the loop's first downbeat (after the lead-in) is clip beat 0, 4 bars later beat 16
    markers = (LEAD_S, 0.0, LEAD_S + 16 * BEAT_S, 16.0)
    tags = "isssisfsf" + "sffff"
    args = (7, "audio", loop, "seed", 3, "audio_start_beats", 0.0, "audio_end_beats", 8.0, "warp", *markers)
    begin, notes = answer(send(daemon, tags, *args))
    assert begin.args[3] == 8.0  # 2 bars from the clip's start: the part asked for
    assert begin.args[4].startswith("default drumify any s3 audio 2 bars 100.0 bpm from 0.30 s")
    assert len(notes) and notes[:, 1].max() < 8.0
    # the drums follow the loop: its kick/snare steps (every 8th) are hit in the answer
    loop_steps = {bar * 16 + step for bar in range(2) for step in ROCK_BAR}
    answer_steps = {round(s * 4) for s in notes[:, 1]}
    assert len(loop_steps & answer_steps) >= 0.75 * len(loop_steps)
    assert answer(send(daemon, tags, *args))[1].tolist() == notes.tolist()  # same seed, same answer


def test_an_unwarped_clip_is_tracked_from_its_start(setup):
    daemon, loop = setup
    begin, notes = answer(send(daemon, "isssisf", 8, "audio", loop, "seed", 1, "audio_end_s", 6.0))
    name = begin.args[4]
    assert "audio" in name and " bpm from " in name and len(notes)
    tempo = float(name.split(" bpm")[0].split()[-1])
    assert abs(tempo / BPM - 1) < 0.02
    assert begin.args[3] % 4 == 0 and 4 <= begin.args[3] <= 16


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("audio", "loop.wav"), "absolute path"),
        (("audio", "/tmp/x.txt"), "audio file"),
        (("audio", "{loop}", "audio_start_s", 4.0, "audio_end_s", 2.0), "must come after"),
        (("audio", "{loop}", "audio_start_beats", 1.0), "needs the `warp` markers"),
        (("audio", "{loop}", "audio_end_s", 2.0, "warp", 0.0, 0.0), "2..1024 markers"),
        (("audio", "{loop}", "warp", 1.0, 0.0, 0.5, 4.0), "must both rise"),
        (("audio", "{loop}", "warp", 1.0, 0.0, 2.0), "pairs sample_time"),
        (("audio", "{loop}", "warp", 0.0, 0.0, 1.0, 2.0, "x", 1.0), "sample_time"),
        (("audio_start_s", 1.0), "without `audio`"),
        (("audio", "{loop}", "beats_per_bar", 9), "beats_per_bar must be an int in 2..7"),
        (("audio", "{loop}", "parts", 2), "`parts` is for a note clip"),
        (("audio", "{loop}", "notes", 4.0), "either `audio` or the clip"),
        (("audio", "{loop}", "audio_start_s", float("nan")), "finite"),
        (("audio", "/nonexistent/loop.wav"), "not a file"),
        (("audio", "{loop}", "audio_start_s", 600.0), "no audio samples"),
    ],
)
def test_malformed_audio_requests_answer_an_error(setup, args, match):
    daemon, loop = setup
    args = tuple(a.format(loop=loop) if isinstance(a, str) else a for a in args)
    tags = "i" + "".join({str: "s", float: "f", int: "i"}[type(a)] for a in args)
    reason = error(send(daemon, tags, 9, *args))
    assert reason.startswith("/nudge/drumify") and match in reason, reason


@pytest.mark.parametrize(
    ("address", "tags", "args"),
    [("/nudge/groove", "ifss", (1, 0.5)), ("/nudge/generate", "iss", (1,)), ("/nudge/vary", "ifss", (1, 0))],
)
def test_only_drumify_takes_audio(setup, address, tags, args):
    daemon, loop = setup
    request = encode_message(address, tags, (*args, "audio", loop))
    messages = [decode_message(d) for d in daemon.handle(request)]
    assert "key 'audio' is not taken here" in error(messages)


@pytest.mark.integration
def test_over_udp_the_audio_is_read_in_a_search_process_as_in_the_daemon(setup, tmp_path):
    from companion.osc.server import UdpServer
    from companion.runtime.models_dir import ModelsDir
    from tests.osc.test_server import Client, Running

    local, loop = setup
    path = write_tiny_model(tmp_path / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(path)
    daemon = Daemon(load_model(path), ModelsDir(tmp_path), seed=1)
    running = Running(UdpServer(daemon, "127.0.0.1", 0, poll_seconds=3600, search_processes=1))
    client = Client(running.server.address)
    request = ("isssisfsf" + "sffff", 5, "audio", loop, "seed", 2, "audio_start_beats", 0.0)
    request += ("audio_end_beats", 8.0, "warp", LEAD_S, 0.0, LEAD_S + 16 * BEAT_S, 16.0)
    try:
        begin, remote = client.notes("/nudge/drumify", *request)
        assert sum(slot.searches for slot in running.server.pool.slots) == 1  # in the search process
        error = client.ask("/nudge/drumify", "iss", 6, "audio", loop.replace(".wav", "-gone.wav"))
        assert error.address == "/nudge/error" and "not a file" in error.args[1]
    finally:
        client.close()
        running.stop()
    assert begin.args[3] == 8.0 and len(remote)
    here = answer(send(local, request[0], *request[1:]))[1]
    np.testing.assert_array_equal(remote, here)
