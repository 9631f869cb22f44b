"""The device's copy of the voices (max_for_live/src/nudge_drum_rack.js) is the daemon's VOICE_TABLE."""

from __future__ import annotations

import re
from pathlib import Path

from companion.core.drum_map import VOICE_TABLE

ROOT = Path(__file__).resolve().parents[2]


def test_drum_rack_voices_are_the_daemons():
    source = (ROOT / "max_for_live" / "src" / "nudge_drum_rack.js").read_text(encoding="utf-8")
    block = re.search(r"exports\.VOICES = \[(.*?)\];", source, re.S).group(1)
    js_voices = [(name, int(pitch)) for name, pitch in re.findall(r'\["(\w+)", (\d+)\]', block)]
    assert js_voices == [(name, pitch) for name, pitch, _ in VOICE_TABLE]
