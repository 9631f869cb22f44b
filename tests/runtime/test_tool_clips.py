"""The tools on a clip's notes (``companion.runtime.tool_clips``): every note they promise to keep comes back
exactly; bad clips get one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.notes import rows_to_notes
from companion.core.pattern import Grid
from companion.runtime import tool_clips as notes_tools
from companion.runtime.model import load_model
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

# kick on 35 (GM's acoustic bass drum) slightly late, snare with a long note, hats, a cowbell (56 is a drum
# pitch only in General MIDI's percussion map beyond the model's voices: it passes through), an early
# downbeat of the second bar (3.97: its nearest step is bar 2's first) and one of the first bar (7.97: the
# clip loops, so its nearest step is bar 1's first)
CLIP = np.array(
    [
        [35, 0.02, 0.37, 101],
        [42, 0.5, 0.1, 50],
        [38, 1.0, 0.9, 90],
        [42, 1.5, 0.1, 51],
        [35, 2.49, 0.11, 77],
        [38, 3.0, 0.25, 64],
        [56, 3.75, 0.5, 127],
        [36, 3.97, 0.1, 45],
        [36, 4.0, 0.1, 99],
        [38, 5.0, 0.1, 99],
        [38, 7.97, 0.1, 40],
    ]
)


def as_rows(notes: np.ndarray) -> np.ndarray:
    return np.stack(
        [notes[k].astype(float) for k in ("pitch", "start_beats", "duration_beats", "velocity")], 1
    )


class _OnRows:
    """``tool_clips`` on note rows [M, 4] (pitch, start, duration, velocity): easier to write and compare."""

    def __getattr__(self, name):
        function = getattr(notes_tools, name)

        def call(model, *args, **kwargs):
            args = [rows_to_notes(a) if isinstance(a, np.ndarray) and a.ndim == 2 else a for a in args]
            out = function(model, *args, **kwargs)
            if isinstance(out, tuple):
                return (as_rows(out[0]), *out[1:])
            return [as_rows(o) for o in out] if isinstance(out, list) else as_rows(out)

        return call


tool_clips = _OnRows()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = write_tiny_model(tmp_path_factory.mktemp("m") / "tiny.onnx", grid=Grid(4, 4, 2))
    write_tiny_tools(path)
    return load_model(path)


def steps(rows):
    return np.floor(rows[:, 1] * 4 + 0.5).astype(int) % 32


def test_groove_returns_every_note_same_pitch_step_and_length(model):
    out = tool_clips.groove_clip(model, CLIP, 8.0, 1.0, style=None, seed=1, n=64)
    assert len(out) == len(CLIP)
    order = np.lexsort((steps(out), out[:, 0]))
    mine = np.lexsort((steps(CLIP), CLIP[:, 0]))
    np.testing.assert_array_equal(out[order, 0], CLIP[mine, 0])  # pitch
    np.testing.assert_array_equal(steps(out)[order], steps(CLIP)[mine])  # 16th step
    np.testing.assert_array_equal(out[order, 2], CLIP[mine, 2])  # length
    assert not np.array_equal(out[order, 3], CLIP[mine, 3])  # velocities changed
    assert [56, 3.75, 0.5, 127] in out.tolist()  # a pitch the model does not play: as sent
    assert np.all((out[:, 1] >= 0) & (out[:, 1] < 8.0))
    untouched = tool_clips.groove_clip(model, CLIP, 8.0, 0.0, style=None, seed=1, n=64)
    np.testing.assert_allclose(
        untouched[np.lexsort((untouched[:, 0], untouched[:, 1]))], CLIP[np.lexsort((CLIP[:, 0], CLIP[:, 1]))]
    )


def test_continue_and_fill_keep_the_notes_they_promise(model):
    rows, length = tool_clips.continue_clip(model, CLIP, 8.0, 2, sliders={}, style=None, seed=2, n=64)
    assert length == 16.0
    assert all(row in rows.tolist() for row in CLIP.tolist())  # every note of the clip, exactly
    assert len(rows) > len(CLIP) and rows[:, 1].max() >= 8.0
    filled = tool_clips.fill_clip(model, CLIP, 8.0, style=None, seed=3, n=64)
    first_bar = CLIP[steps(CLIP) < 16]
    assert all(row in filled.tolist() for row in first_bar.tolist())  # bar 1: every note as sent
    assert [36, 3.97, 0.1, 45] not in filled.tolist()  # bar 2's early downbeat belongs to the fill bar
    assert [38, 7.97, 0.1, 40] in filled.tolist()  # bar 1's early downbeat (the clip loops) is kept
    assert all(row not in filled.tolist() for row in CLIP[steps(CLIP) >= 16].tolist())


def test_drumify_takes_any_pitch(model):
    bass = np.array([[40, 0.0, 0.5, 100], [40, 0.75, 0.25, 90], [43, 1.5, 0.5, 80], [47, 3.0, 1.0, 100]])
    out = tool_clips.drumify_clip(model, bass, 4.0, {}, style=None, seed=1, n=64)
    assert len(out) and set(out[:, 0].astype(int)) <= set(model.meta.output_pitches)
    assert out[:, 1].max() < 4.0


def test_interpolate_ends_are_a_and_b_as_sent(model):
    b = CLIP.copy()
    b[:, 3] = 60
    path = tool_clips.interpolate_clips(model, CLIP, 8.0, b[:6], 8.0, count=4, seed=1, n=64)
    assert len(path) == 4
    np.testing.assert_array_equal(path[0], CLIP[np.lexsort((CLIP[:, 3], CLIP[:, 2], CLIP[:, 0], CLIP[:, 1]))])
    assert sorted(map(tuple, path[-1].tolist())) == sorted(map(tuple, b[:6].tolist()))


@pytest.mark.parametrize(
    ("rows", "length", "message"),
    [
        (CLIP[:0], 8.0, "has no notes"),
        (CLIP, 3.0, "shorter than one bar"),
        (CLIP, 36.5, "10 bars long; the tools take at most 8"),
        (np.array([[60, 0.0, 1.0, 100]]), 4.0, "no notes of drum pitches"),
    ],
)
def test_bad_clips_are_refused_with_one_line(model, rows, length, message):
    with pytest.raises(ValueError, match=message):
        tool_clips.groove_clip(model, rows, length, 1.0, style=None, seed=1, n=64)


def test_interpolate_refuses_clips_of_different_lengths(model):
    with pytest.raises(ValueError, match="A and B must have the same length: A is 2 bars, B 1"):
        tool_clips.interpolate_clips(model, CLIP, 8.0, CLIP[:3], 4.0, count=3, seed=1, n=64)
