"""The tools on patterns (``companion.runtime.tools``, ``interpolate``): what each promises, with a tiny
generator and a tiny tools graph (real ONNX files), and the fallback search without a tools graph."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.pattern import Grid, Pattern
from companion.runtime import interpolate, tools
from companion.runtime.completion import segments, window_of
from companion.runtime.model import load_model
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import write_tiny_tools

GRID = Grid(4, 4, 2)  # the tiny model's: 2 bars of 4/4 in 16ths


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return load_model(write_tiny_model(tmp_path_factory.mktemp("plain") / "tiny.onnx", grid=GRID))


@pytest.fixture(scope="module")
def with_tools(tmp_path_factory):
    path = write_tiny_model(tmp_path_factory.mktemp("tools") / "tiny.onnx", grid=GRID)
    write_tiny_tools(path)
    return load_model(path)


def beat(bars: int = 2, seed: int = 0) -> Pattern:
    """A rock beat with human-ish dynamics: kick 1 and 3, snare 2 and 4, closed hat 8ths."""
    rng = np.random.default_rng(seed)
    grid = GRID.with_bars(bars)
    hits = np.zeros((9, grid.n_steps), dtype=bool)
    hits[0, ::8] = hits[1, 4::8] = hits[2, ::2] = True
    hits[1, 14::16] = True  # a ghost snare before each bar line: the bars differ from a pure loop
    velocities = np.where(hits, rng.uniform(0.3, 1.0, hits.shape), 0)
    offsets = np.where(hits, rng.uniform(-0.2, 0.2, hits.shape), 0)
    return Pattern(grid, hits, velocities, offsets)


@pytest.mark.parametrize("backend", ["plain", "with_tools"])
def test_groove_keeps_every_hit_and_changes_only_dynamics(backend, request):
    model = request.getfixturevalue(backend)
    clip = beat()
    out = tools.groove(model, clip, 1.0, seed=3)
    np.testing.assert_array_equal(out.hits, clip.hits)
    assert not np.allclose(out.velocities[clip.hits], clip.velocities[clip.hits])
    again = tools.groove(model, clip, 1.0, seed=3)
    assert again.same_as(out)  # seeded
    same = tools.groove(model, clip, 0.0, seed=3)
    assert same.same_as(clip)  # amount 0: the clip's own dynamics
    half = tools.groove(model, clip, 0.5, seed=3)
    np.testing.assert_allclose(half.velocities, (clip.velocities + out.velocities) / 2, atol=1e-6)


def test_groove_of_a_longer_clip_covers_every_bar(with_tools):
    clip = beat(bars=5)
    out = tools.groove(with_tools, clip, 1.0, seed=1)
    np.testing.assert_array_equal(out.hits, clip.hits)
    assert out.grid.bars == 5 and np.all(out.velocities[clip.hits] > 0)


def test_rhythm_from_onsets_takes_the_nearest_step_and_the_loudest():
    grid = Grid(4, 4, 1)
    rhythm = tools.rhythm_from_onsets(
        np.array([0.0, 0.26, 0.24, 3.95, 4.5, -1.0]), np.array([100, 50, 90, 127, 127, 127]), 4.0, grid
    )
    assert np.flatnonzero(rhythm.onsets).tolist() == [0, 1]  # 3.95 wraps to step 0; 4.5 and -1 are outside
    assert rhythm.strengths[1] == pytest.approx(90 / 127)  # the louder of 0.26 and 0.24
    assert rhythm.offsets_steps[1] == pytest.approx(-0.04, abs=1e-5)
    assert rhythm.strengths[0] == pytest.approx(1.0)  # 3.95 at 127 beats 0.0 at 100
    with pytest.raises(ValueError, match="same length"):
        tools.rhythm_from_onsets(np.zeros(2), np.zeros(3), 4.0, grid)


def test_drumify_follows_the_rhythm(with_tools, plain):
    onsets = np.zeros(GRID.n_steps)
    onsets[[0, 3, 6, 8, 10, 16, 19, 22, 24, 28]] = 0.8
    rhythm = tools.Rhythm(GRID, onsets.astype(np.float32), np.zeros(GRID.n_steps, np.float32))
    out = tools.drumify(with_tools, rhythm, {}, seed=2)
    assert tools.onset_f1(out.hits[None], rhythm.onsets)[0] >= 0.8  # the tiny graph plays onsets it is given
    grooved = tools.groove(with_tools, out, 1.0, seed=2)  # Drumify's hits are played as Groove plays them
    np.testing.assert_allclose(grooved.velocities[out.hits], out.velocities[out.hits], atol=1e-5)
    np.testing.assert_allclose(grooved.offsets_steps[out.hits], out.offsets_steps[out.hits], atol=1e-5)
    searched = tools.drumify(plain, rhythm, {}, seed=2)  # the fallback: a latent search
    assert searched.grid == GRID and searched.hits.any()
    with pytest.raises(ValueError, match="no onsets"):
        tools.drumify(with_tools, tools.Rhythm(GRID, np.zeros(32), np.zeros(32)), {})
    with pytest.raises(ValueError, match="unknown condition"):
        tools.drumify(with_tools, rhythm, {"loudness": 0.5})


@pytest.mark.parametrize("backend", ["plain", "with_tools"])
@pytest.mark.parametrize(("bars", "new"), [(1, 1), (1, 3), (2, 2), (3, 5)])
def test_continue_keeps_the_clip_and_adds_bars(backend, bars, new, request):
    model = request.getfixturevalue(backend)
    clip = beat(bars)
    out = tools.continue_pattern(model, clip, new, {}, seed=4)
    assert out.grid.bars == bars + new
    kept = slice(0, clip.grid.n_steps)
    np.testing.assert_array_equal(out.hits[:, kept], clip.hits)
    np.testing.assert_allclose(out.velocities[:, kept], clip.velocities)
    np.testing.assert_allclose(out.offsets_steps[:, kept], clip.offsets_steps)
    assert out.hits[:, clip.grid.n_steps :].any()


def test_continue_refuses_too_many_bars(with_tools):
    with pytest.raises(ValueError, match=r"bars must be 1\.\.5 for a clip of 3 bars"):
        tools.continue_pattern(with_tools, beat(3), 6, {})
    with pytest.raises(ValueError, match="bars must be"):
        tools.continue_pattern(with_tools, beat(3), 0, {})


@pytest.mark.parametrize("bars", [1, 2, 3, 6])
def test_fill_replaces_only_the_last_bar(with_tools, bars):
    clip = beat(bars)
    out = tools.fill(with_tools, clip, {}, seed=5)
    before = slice(0, (bars - 1) * GRID.steps_per_bar)
    np.testing.assert_array_equal(out.hits[:, before], clip.hits[:, before])
    np.testing.assert_allclose(out.velocities[:, before], clip.velocities[:, before])
    assert out.grid == clip.grid


def test_fill_needs_a_tools_graph(plain):
    with pytest.raises(ValueError, match="fill needs the model's tools graph"):
        tools.fill(plain, beat(), {})


def hamming(a: Pattern, b: Pattern) -> int:
    return int((a.hits ^ b.hits).sum())


@pytest.mark.parametrize("count", [3, 5, 9])
def test_interpolate_goes_from_a_to_b_monotonically(plain, count):
    a, b = (
        beat(2, seed=1),
        Pattern.from_array(
            plain.run(np.ones((1, 8), np.float32), np.full((1, 2), 0.6, np.float32), np.zeros(1, np.int64))[
                0
            ],
            GRID,
        ),
    )
    path = interpolate.interpolate(plain, a, b, count, seed=6)
    assert len(path) == count and path[0].same_as(a) and path[-1].same_as(b)
    to_a = [hamming(p, a) for p in path]
    to_b = [hamming(p, b) for p in path]
    assert to_a == sorted(to_a) and to_b == sorted(to_b, reverse=True)
    total = hamming(a, b)
    assert max(np.diff(to_a)) <= total / (count - 1) + 2  # the two kinds of change round separately
    assert path == path and interpolate.interpolate(plain, a, b, count, seed=6)[1].same_as(path[1])


def test_interpolate_refuses_bad_requests(plain):
    with pytest.raises(ValueError, match="same length"):
        interpolate.interpolate(plain, beat(2), beat(1), 3)
    for count in (2, 17, 3.0):
        with pytest.raises(ValueError, match=r"count must be an int in 3\.\.16"):
            interpolate.interpolate(plain, beat(2), beat(2), count)


def test_segments_cover_every_bar_once_with_model_length_windows():
    assert segments(2, 4) == [(0, 0, 2)]
    assert segments(4, 4) == [(0, 0, 4)]
    assert segments(6, 4) == [(0, 0, 4), (2, 4, 6)]
    assert segments(8, 4) == [(0, 0, 4), (4, 4, 8)]
    window = window_of(beat(3), 0, 4)  # a 3-bar clip loops to 4
    np.testing.assert_array_equal(window.hits[:, 48:], beat(3).hits[:, :16])
