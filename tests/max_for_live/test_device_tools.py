"""The device's tools (issue 22) against the real daemon: nudge.js in node (fake Live) choosing each tool in
its menu and pressing Apply, `nudge serve` over real UDP with a tiny generator and its tiny tools graph. What
comes back is written into clips as a producer would see them: Groove keeps every hit, Continue and Fill keep
the clip's own bars, Interpolate answers a step of the path from the selected clip to the one below it."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from companion.core.pattern import Grid
from tests.max_for_live.test_device_trust import Pump, model_info_came, served_device
from tests.support.max_contract import Device

TOOL = {"groove": 0, "drumify": 1, "continue": 2, "interpolate": 3, "fill": 4}
BEAT = [(36, 0.0), (42, 0.5), (38, 1.0), (42, 1.5), (36, 2.0), (42, 2.5), (38, 3.0), (42, 3.5)]


def clip(spec: list[tuple[int, float]], bars: int, velocity: int = 100) -> list[dict]:
    """The spec's hits repeated in every bar of a 4/4 clip, as a producer's programmed loop."""
    return [
        {"pitch": p, "start_time": 4.0 * bar + t, "duration": 0.25, "velocity": velocity}
        for bar in range(bars)
        for p, t in spec
    ]


def rows(notes) -> list[tuple]:
    return sorted((n[0], round(n[1], 4), round(n[2], 4), n[3]) for n in notes)


@pytest.fixture
def served(tmp_path):
    pytest.importorskip("onnx")
    from tests.support.tiny_onnx import write_tiny_model
    from tests.support.tiny_tools import write_tiny_tools

    model = write_tiny_model(tmp_path / "models" / "default.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(model)
    with served_device(model, model_info_came) as (device, pump):
        device("ui", values={"nudge_seedlock": 1, "nudge_seed": 11, "nudge_dest": 0, "nudge_takes": 1})
        yield device, pump


def apply(device: Device, pump: Pump, tool: str, **values) -> dict:
    """Choose the tool, press Apply, and pump until its clip is written -> the new clip"""
    before = {c["slot"] for c in device("clips")["clips"]}
    device("ui", values={"nudge_tool": TOOL[tool], **values})
    answer = device("call", name="tool")
    assert answer["sent"], answer["status"]
    pump.send(answer["sent"])
    pump.run_until(lambda: {c["slot"] for c in device("clips")["clips"]} - before or pump.errors)
    assert pump.errors == [], pump.errors
    (new,) = [c for c in device("clips")["clips"] if c["slot"] not in before]
    return new


@pytest.mark.integration
def test_each_tool_from_the_device_menu_over_udp(served):
    device, pump = served
    beat = clip(BEAT, 2)
    device("select_clip", slot=0, length=8, notes=beat)
    groove = apply(device, pump, "groove", nudge_amount=1.0)
    assert sorted((p, round(t * 4) % 32) for p, t, *_ in groove["notes"]) == sorted(
        (n["pitch"], round(n["start_time"] * 4)) for n in beat
    ), "every hit kept: same pitch, same 16th step (one played early on beat 1 sits at the loop's end)"
    assert {n[3] for n in groove["notes"]} != {100}, "a drummer's velocities"
    assert groove["name"] == "groove100 any s11" and groove["loop_end"] == 8

    device("select_clip", slot=1, length=8, notes=clip([(40, 0.0), (40, 0.75), (43, 2.0), (45, 3.5)], 2))
    drums = apply(device, pump, "drumify")
    assert drums["loop_end"] == 8 and drums["notes"]
    assert drums["name"].startswith("drumify any ")

    device("select_clip", slot=6, length=8, notes=beat)
    longer = apply(device, pump, "continue", nudge_bars=2)
    assert longer["loop_end"] == 16, "2 bars + 2 new ones"
    assert rows(n for n in longer["notes"] if round(n[1] * 4) < 32) == rows(
        [n["pitch"], n["start_time"], n["duration"], n["velocity"]] for n in beat
    ), "the clip's own bars exactly as they were (a note belongs to the bar of its nearest 16th)"

    device("select_clip", slot=7, length=8, notes=beat)
    fill = apply(device, pump, "fill")
    assert rows(n for n in fill["notes"] if round(n[1] * 4) < 16) == rows(
        [n["pitch"], n["start_time"], n["duration"], n["velocity"]] for n in beat if n["start_time"] < 4
    ), "the bars before the fill unchanged"

    device("select_clip", slot=10, length=8, notes=clip([(49, 0.0), (51, 1.0), (51, 2.0)], 2, 90))  # B
    device("select_clip", slot=9, length=8, notes=beat)  # A, selected: B is the next clip below it
    step = apply(device, pump, "interpolate", nudge_takes=1)
    assert step["loop_end"] == 8 and step["name"] == "interp 2of3 s11"
    statuses = [s for s in pump.statuses if "Daemon:" in s or "nothing was written" in s]
    assert statuses == [], statuses


@pytest.mark.integration
def test_the_tool_menu_lists_the_registrys_tools_and_each_sends_what_its_entry_takes():
    """nudge_tools.RULES (the device's) against companion/osc/api.py (the daemon's): addresses, positional
    arguments and keys agree, so the device never sends what the daemon refuses."""
    from companion.osc import api
    from tests.max_for_live.test_js_constants import SRC

    script = (
        "const { loadModule } = require('./max_for_live/tests/fake_max.js');"
        "const t = loadModule('nudge_tools');"
        "process.stdout.write(JSON.stringify({ tools: t.TOOLS, rules: t.RULES }));"
    )
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI installs Node 20)")
    data = json.loads(subprocess.run([node, "-e", script], cwd=SRC.parents[1], capture_output=True, text=True,
                                     check=True).stdout)  # fmt: skip
    tool_addresses = {e.address for e in api.ENDPOINTS if e.keys is not None and e.clip}
    assert {r["address"] for r in data["rules"].values()} == tool_addresses
    assert sorted(data["tools"]) == sorted(data["rules"])
    for name, rule in data["rules"].items():
        endpoint = api.ENDPOINT_BY_ADDRESS[rule["address"]]
        assert [a.name for a in endpoint.args[1:]] == rule["args"], name
        sent = set(rule["keys"]) | ({api.CONDITIONS} if rule["conditions"] else set())
        assert sent <= set(endpoint.keys), f"{name} sends {sorted(sent - set(endpoint.keys))}"
        if api.CONDITIONS in endpoint.keys:
            assert rule["conditions"], f"{name}: the daemon takes the sliders; the device should send them"
