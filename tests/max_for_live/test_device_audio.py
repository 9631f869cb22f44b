"""Drumify of a selected audio clip (issue 27) from the device against the real daemon: nudge.js in node
(fake Live: an audio clip with Live's fields) chooses drumify and presses Apply; `nudge serve` over real UDP
reads the rendered loop, finds its onsets and drumifies them; the drums land in a MIDI clip beside the audio
clip, as long as the part asked for."""

from __future__ import annotations

import json

import pytest

from companion.core.pattern import Grid
from tests.max_for_live.test_device_trust import Pump, model_info_came, served_device
from tests.support.max_contract import Device

BPM = 100.0
LEAD_S = 0.3  # the loop's first downbeat in the file
BEAT_S = 60.0 / BPM
DRUMIFY = 1  # the tool menu's entry


@pytest.fixture
def served(tmp_path):
    pytest.importorskip("onnx")
    from tests.support.audio import render_loop, soundfont_or_skip
    from tests.support.tiny_onnx import write_tiny_model
    from tests.support.tiny_tools import write_tiny_tools

    soundfont_or_skip()
    model = write_tiny_model(tmp_path / "models" / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(model)
    loop = render_loop(tmp_path / "loop.wav", bpm=BPM, bars=4, lead_s=LEAD_S, bass=False)
    with served_device(model, model_info_came) as (device, pump):
        values = {"nudge_seedlock": 1, "nudge_seed": 3, "nudge_takes": 1, "nudge_tool": DRUMIFY}
        device("ui", values=values)
        yield device, pump, str(loop)


def drumified(device: Device, pump: Pump, slot: int, props: dict) -> tuple[list, dict]:
    """Select the audio clip in `slot` of the audio track, Apply -> (the request, the MIDI clip written)"""
    device("select_audio", slot=slot, length=8, props=props)
    answer = device("call", name="tool")
    (request,) = answer["sent"]
    pump.send(answer["sent"])
    pump.run_until(lambda: any(c["slot"] == slot for c in device("clips")["clips"]) or pump.errors, 60.0)
    assert pump.errors == [], pump.errors
    (clip,) = [c for c in device("clips")["clips"] if c["slot"] == slot]
    return request, clip


@pytest.mark.integration
def test_a_warped_and_an_unwarped_audio_clip_become_drums_beside_them(served):
    device, pump, loop = served
    markers = {"warp_markers": [{"sample_time": LEAD_S, "beat_time": 0.0},
                                {"sample_time": LEAD_S + 16 * BEAT_S, "beat_time": 16.0}]}  # fmt: skip
    warped = {"file_path": loop, "warping": 1, "looping": 1, "loop_start": 0.0, "loop_end": 8.0,
              "start_marker": 0.0, "end_marker": 16.0, "signature_numerator": 4,
              "warp_markers": [json.dumps(markers)]}  # fmt: skip
    request, clip = drumified(device, pump, 4, warped)
    audio = request[request.index("audio") :]
    assert audio[:6] == ["audio", loop, "beats_per_bar", 4, "audio_start_beats", 0]
    assert clip["loop_end"] == 8, "the 2-bar loop's drums, as long as it"
    steps = {round(n[1] * 4) for n in clip["notes"]}
    kicks_and_snares = {bar * 16 + step for bar in range(2) for step in (0, 4, 8, 12)}
    assert len(steps & kicks_and_snares) >= 6, f"the drums follow the loop's beats: {sorted(steps)}"
    assert clip["name"].startswith("drumify any ") and clip["name"].endswith(" s3")

    unwarped = {**warped, "warping": 0, "looping": 0, "start_marker": 0.0, "end_marker": 6.0}
    request, clip = drumified(device, pump, 6, unwarped)
    assert request[-4:] == ["audio_start_s", 0, "audio_end_s", 6]
    assert clip["notes"] and clip["loop_end"] % 4 == 0, "whole bars from the first tracked downbeat"
    statuses = [s for s in pump.statuses if "Daemon:" in s or "nothing was written" in s]
    assert statuses == [], statuses
