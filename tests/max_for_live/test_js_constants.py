"""The device's JavaScript copies of the daemon's limits (ES5 has no import from Python): each constant equals
the Python registry's, so a change of a limit on one side fails here until the other side follows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.core.pattern import MAX_BARS
from companion.osc import api

SRC = Path(__file__).resolve().parents[2] / "max_for_live" / "src"

# script            constant              the registry's value
JS_CONSTANTS = (
    ("nudge_jobs.js", "MAX_CLIP_NOTES", api.MAX_CLIP_NOTES),
    ("nudge_jobs.js", "MAX_CLIP_PARTS", api.MAX_CLIP_PARTS),
    ("nudge_requests.js", "MAX_ID", api.MAX_ID),
    ("nudge_tool.js", "MAX_ID", api.MAX_ID),
    ("nudge_miditool.js", "MAX_BARS", MAX_BARS),
)


def js_constant(script: str, name: str) -> int:
    """The value of ``var NAME = 123;`` or ``exports.NAME = 123;`` in ``script`` (exactly one of them)."""
    source = (SRC / script).read_text(encoding="utf-8")
    found = re.findall(rf"^\s*(?:var\s+|exports\.){name}\s*=\s*(\d+)\s*;", source, flags=re.MULTILINE)
    assert len(found) == 1, f"{script}: expected one numeric definition of {name}, found {found}"
    return int(found[0])


@pytest.mark.parametrize(
    ("script", "name", "value"), JS_CONSTANTS, ids=[f"{s}:{n}" for s, n, _ in JS_CONSTANTS]
)
def test_the_scripts_limits_are_the_registrys(script, name, value):
    assert js_constant(script, name) == value, (
        f"{script} {name}: change it to {value} (the Python registry's)"
    )


def test_the_devices_request_limit_stays_within_the_daemons():
    # its own, smaller: what macOS sends in one datagram (the script says why)
    assert js_constant("nudge_osc.js", "MAX_REQUEST_BYTES") <= api.MAX_REQUEST_BYTES


def test_every_max_constant_of_the_scripts_is_checked_or_the_devices_own():
    # results per click; the Live Object Model's latest time; the device's own request limit (above)
    devices_own = {"MAX_TAKES", "MAX_BEATS", "MAX_REQUEST_BYTES"}
    checked = {(s, n) for s, n, _ in JS_CONSTANTS}
    for script in sorted(SRC.glob("*.js")):
        names = re.findall(
            r"^\s*(?:var\s+|exports\.)(MAX_[A-Z_]+)\s*=", script.read_text(encoding="utf-8"), re.M
        )
        for name in names:
            assert (script.name, name) in checked or name in devices_own, (
                f"{script.name} {name}: add it above"
            )
