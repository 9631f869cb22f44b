"""The device's JavaScript copies of the daemon's limits (ES5 has no import from Python) live in one script,
nudge_osc.js, and each equals the Python registry's: a change of a limit on one side fails here until the
other side follows. Every other script takes them from there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.core.pattern import MAX_BARS
from companion.osc import api

SRC = Path(__file__).resolve().parents[2] / "max_for_live" / "src"
HOME = "nudge_osc.js"

# constant          the registry's value
REGISTRY = {
    "MAX_CLIP_NOTES": api.MAX_CLIP_NOTES,
    "MAX_CLIP_PARTS": api.MAX_CLIP_PARTS,
    "MAX_ID": api.MAX_ID,
    "MAX_BARS": MAX_BARS,
    "MIN_INTERPOLATE": api.MIN_INTERPOLATE,
    "MAX_INTERPOLATE": api.MAX_INTERPOLATE,
}
# the device's own limits: results per click; the Live Object Model's latest time; what macOS sends at once
DEVICES_OWN = {"MAX_TAKES", "MAX_BEATS", "MAX_REQUEST_BYTES"}
DEFINITION = re.compile(r"^\s*(?:var\s+|exports\.)((?:MAX|MIN)_[A-Z_]+)\s*=\s*([^;]+);", re.MULTILINE)


def definitions(script: str) -> dict[str, str]:
    return dict(DEFINITION.findall((SRC / script).read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_the_devices_limits_are_the_registrys(name):
    value = definitions(HOME).get(name, "").strip()
    assert value == str(REGISTRY[name]), f"{HOME} {name}: must be {REGISTRY[name]} (the Python registry's)"


def test_the_devices_request_limit_stays_within_the_daemons():
    assert int(definitions(HOME)["MAX_REQUEST_BYTES"]) <= api.MAX_REQUEST_BYTES


def test_other_scripts_take_the_limits_from_nudge_osc_never_a_number_of_their_own():
    for script in sorted(p.name for p in SRC.glob("*.js") if p.name != HOME):
        for name, value in definitions(script).items():
            if name in DEVICES_OWN:
                continue
            assert name in REGISTRY, f"{script} {name}: a daemon limit? add it to {HOME} and REGISTRY above"
            assert re.fullmatch(rf"[\w.()\"]*\.{name}", value.strip()), (
                f"{script} {name} = {value}: use {HOME}'s"
            )
