"""``/nudge/drumify`` of an audio clip: the keys that name an audio file (and the part of it) in place of a
note clip, their checks, and the clip they become (``companion.audio.rhythm``: the onsets on the bar grid).

A Max for Live device drumifies a selected audio clip by sending its file path, its start and end and, for
a warped clip, its warp markers (the marker ``warp`` and ``sample_time beat_time`` pairs end the message,
where a note clip's ``notes`` would); the daemon reads the file (it must be on the daemon's machine). The
audio extra (``pip install 'nudge[audio]'``) is imported only when such a request runs, so the daemon's own
dependencies do not change; without it the request answers ``/nudge/error`` naming the extra.

- warped (``warp`` given): ``audio_start_beats`` / ``audio_end_beats`` are the clip's start and end markers
  in clip beats (default: 0, and 8 bars on); the markers map them to seconds in the file, and bar 1 of the
  answer is the clip's start;
- unwarped: ``audio_start_s`` / ``audio_end_s`` in seconds of the file (default: 0, and 60 s on);
  bar 1 of the answer is the first downbeat tracked from the start, and the tempo is tracked.

At most ``MAX_AUDIO_SECONDS`` of the file are read, and at most 8 bars answered.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from companion.core.errors import UsageError
from companion.core.model_meta import ModelMeta
from companion.core.pattern import MAX_BARS

AUDIO_KEY = "audio"
WARP_MARKER = "warp"
AUDIO_KEYS = (
    "audio",
    "audio_start_s",
    "audio_end_s",
    "audio_start_beats",
    "audio_end_beats",
    "beats_per_bar",
)
MAX_AUDIO_SECONDS = 60.0  # read from the start: 8 bars down to 32 BPM
MAX_WARP_MARKERS = 1024
MAX_PATH_CHARS = 4096
MIN_BEATS_PER_BAR, MAX_BEATS_PER_BAR = 2, 7

# the keys as companion.osc.api.Option rows: key, type tag, description, low, high
AUDIO_OPTIONS: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    ("audio", "s", "drumify: an audio file's absolute path on the daemon's machine (no clip)", None, None),
    ("audio_start_s", "f", "unwarped: where the part starts, seconds into the file (default 0)", 0, None),
    (
        "audio_end_s",
        "f",
        f"unwarped: where it ends, seconds into the file (default, at most: start + {MAX_AUDIO_SECONDS:g})",
        0,
        None,
    ),
    ("audio_start_beats", "f", f"with `{WARP_MARKER}`: its start marker, clip beats (default 0)", None, None),
    ("audio_end_beats", "f", f"with `{WARP_MARKER}`: the end marker, clip beats (+8 bars)", None, None),
    (
        "beats_per_bar",
        "i",
        "with `audio`: the clip's beats per bar (Live's signature_numerator; default: the model's)",
        MIN_BEATS_PER_BAR,
        MAX_BEATS_PER_BAR,
    ),
)


def check_path(path: str) -> str:
    """An absolute path whose suffix is an audio format Nudge reads (the file itself is read later)."""
    from companion.audio.decode import AUDIO_EXTENSIONS  # (numpy only: the extra is not imported here)

    if not path or len(path) > MAX_PATH_CHARS or "\x00" in path:
        raise UsageError(f"audio must be a file path of 1..{MAX_PATH_CHARS} characters")
    if not os.path.isabs(path):
        raise UsageError(f"audio must be an absolute path (the daemon reads it), got {path!r}")
    if os.path.splitext(path)[1].lower() not in AUDIO_EXTENSIONS:
        raise UsageError(f"audio must be an audio file ({' '.join(AUDIO_EXTENSIONS)}), got {path!r}")
    return path


def check_audio_request(options: Mapping[str, Any], has_clip: bool) -> None:
    """The audio keys make sense together (called once every key is read)."""
    given = [k for k in AUDIO_KEYS if k in options]
    warped = WARP_MARKER in options
    if AUDIO_KEY not in options:
        if given or warped:
            raise UsageError(f"{', '.join(given) or WARP_MARKER} without `audio` (the audio file's path)")
        return
    if has_clip:
        raise UsageError("send either `audio` or the clip (`notes ...`), not both")
    if "parts" in options:
        raise UsageError("`parts` is for a note clip, not for `audio`")
    unit, other = ("beats", "s") if warped else ("s", "beats")
    wrong = [k for k in ("audio_start_" + other, "audio_end_" + other) if k in options]
    if wrong:
        why = "a warped clip's start and end are in clip beats" if warped else "needs the `warp` markers"
        raise UsageError(f"{', '.join(wrong)}: {why} (audio_start_{unit}, audio_end_{unit})")
    start, end = options.get(f"audio_start_{unit}", 0.0), options.get(f"audio_end_{unit}")
    if end is not None and end <= start:
        raise UsageError(f"audio_end_{unit} ({end:g}) must come after audio_start_{unit} ({start:g})")


def check_warp(pairs: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Warp markers (``sample_time`` seconds, ``beat_time`` clip beats; each number already checked): at
    least 2, at most ``MAX_WARP_MARKERS``, both rising."""
    if not 2 <= len(pairs) <= MAX_WARP_MARKERS:
        raise UsageError(f"'{WARP_MARKER}' takes 2..{MAX_WARP_MARKERS} markers, got {len(pairs)}")
    if any(b[0] <= a[0] or b[1] <= a[1] for a, b in itertools.pairwise(pairs)):
        raise UsageError("warp markers: sample_time and beat_time must both rise from marker to marker")
    return pairs


def audio_clip(options: Mapping[str, Any], meta: ModelMeta) -> tuple[float, np.ndarray, str]:
    """The request's audio part as a note clip: (length_beats, notes [M] of ``NOTE_DTYPE``, a name for the
    reply that says where bar 1 is and at which tempo). ``NudgeError`` for what the file or part lacks."""
    from companion.audio.rhythm import WarpMarker, audio_to_rhythm, clip_beats_to_seconds

    meter = int(options.get("beats_per_bar", meta.beats_per_bar))
    markers: list[WarpMarker] | None = None
    if WARP_MARKER in options:
        markers = [WarpMarker(s, b) for s, b in options[WARP_MARKER]]
        start_beats = float(options.get("audio_start_beats", 0.0))
        end_beats = float(options.get("audio_end_beats", start_beats + MAX_BARS * meter))
        start_s, end_s = clip_beats_to_seconds(markers, [start_beats, end_beats])
        if start_s < 0:
            raise UsageError(f"audio_start_beats {start_beats:g}: before the file starts ({start_s:.2f} s)")
    else:
        start_s = float(options.get("audio_start_s", 0.0))
        end_s = float(options.get("audio_end_s", start_s + MAX_AUDIO_SECONDS))
    end_s = min(end_s, start_s + MAX_AUDIO_SECONDS)
    rhythm = audio_to_rhythm(options[AUDIO_KEY], start_s, end_s, warp_markers=markers, beats_per_bar=meter)
    where = f"{rhythm.bars} bars {rhythm.bpm:.1f} bpm from {rhythm.downbeat_s:.2f} s"
    return float(rhythm.bars * rhythm.beats_per_bar), rhythm.take.notes.copy(), f"audio {where}"
