"""Voice lock: kept voices stay bit for bit, the search fits the others to them, vary never touches them."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import VOICE_INDEX, voices_from_names
from companion.core.pattern import Grid, Pattern
from companion.runtime import candidates, engine, lock
from companion.runtime.model import load_model
from companion.runtime.search import SearchRequest, search
from tests.support.tiny_onnx import write_tiny_model

KICK_SNARE = (VOICE_INDEX["kick"], VOICE_INDEX["snare"])


def ask(model, **options):
    """These tests' search request: checked against the model, defaults resolved."""
    return SearchRequest.of(model.meta, **options)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    return load_model(write_tiny_model(path, grid=Grid(4, 4, 2), latent_dim=8))


def random_clip(bars: int, seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    grid = Grid(4, 4, bars)
    hits = rng.random((9, grid.n_steps)) < 0.25
    velocities = rng.uniform(0.1, 1.0, hits.shape).astype(np.float32)
    offsets = rng.uniform(-0.5, 0.5, hits.shape).astype(np.float32)
    return Pattern(grid, hits, velocities, offsets)


def same_voices(a: Pattern, b: Pattern, voices) -> bool:
    voices = list(voices)
    return (
        np.array_equal(a.hits[voices], b.hits[voices])
        and np.array_equal(a.velocities[voices], b.velocities[voices])
        and np.array_equal(a.offsets_steps[voices], b.offsets_steps[voices])
    )


def test_voice_names_aliases_and_errors():
    assert voices_from_names("kick, snare") == KICK_SNARE
    assert voices_from_names("snare,kick,kick") == KICK_SNARE
    assert voices_from_names("hats") == (2, 3) and voices_from_names("toms") == (4, 5, 6)
    assert voices_from_names("") == ()
    with pytest.raises(ValueError, match="keep: unknown voice 'cowbell'; allowed: kick, snare"):
        voices_from_names("kick,cowbell")


@pytest.mark.parametrize("bars", [1, 2, 3, 5])  # shorter than, as long as and longer than the model (2 bars)
def test_kept_voices_stay_bit_for_bit_and_the_others_are_generated(model, bars):
    clip = random_clip(bars, seed=bars)
    out = search(model, ask(model, seed=3, clip=clip, keep=KICK_SNARE, sliders={"density": 0.5}))
    assert out.grid == clip.grid
    assert same_voices(out, clip, KICK_SNARE)
    others = [v for v in range(9) if v not in KICK_SNARE]
    assert not np.array_equal(out.hits[others], clip.hits[others])  # generated, not the clip's


def test_same_seed_same_result_other_seed_other_voices(model):
    clip = random_clip(2, seed=1)
    a = search(model, ask(model, seed=4, clip=clip, keep=KICK_SNARE, style="funk"))
    b = search(model, ask(model, seed=4, clip=clip, keep=KICK_SNARE, style="funk"))
    c = search(model, ask(model, seed=5, clip=clip, keep=KICK_SNARE, style="funk"))
    assert a.same_as(b) and not a.same_as(c)


def test_the_search_finds_candidates_that_play_the_kept_voices_like_the_clip(model, monkeypatch):
    """Clips the generator itself played: the latent search finds samples whose own kick and snare are far
    nearer to the clip's than a single sample's, and more rounds get nearer than one. (The clips are each
    seed's nearest candidate to the sliders, TAKE_MARGIN 0: this tiny untrained model's random candidates
    are a harder target than any trained generator's takes.)"""
    monkeypatch.setattr(candidates, "TAKE_MARGIN", 0.0)
    cond = candidates.condition_vector(model, {})
    fits = {"one": [], "round": [], "search": []}
    for s in range(12):
        clip = engine.generate(model, ask(model, seed=100 + s, sliders={"density": 0.5}, bars=2))
        one = ask(model, seed=s, candidates=1, keep=KICK_SNARE, clip=clip)
        wide = ask(model, seed=s, keep=KICK_SNARE, clip=clip)
        fits["one"].append(lock.search_segment(model, one, cond, rounds=1)[1])
        fits["round"].append(lock.search_segment(model, wide, cond, rounds=1)[1])
        fits["search"].append(lock.search_segment(model, wide, cond, rounds=3)[1])
    one, first_round, searched = (np.mean(fits[k]) for k in ("one", "round", "search"))
    assert searched < first_round < one
    assert searched < 0.5 * one


def test_the_chosen_composite_is_the_best_scored_candidate(model):
    """Independently of the search's bookkeeping: with one round, re-run the generator on the same latents
    and check that no candidate's composite scores better than the one returned."""
    clip = random_clip(2, seed=7)
    cond = candidates.condition_vector(model, {"density": 0.4})
    request = ask(model, seed=11, candidates=32, keep=KICK_SNARE, clip=clip)
    chosen, fit = lock.search_segment(model, request, cond, rounds=1)
    z, styles = candidates.draw_latents(model, None, np.random.default_rng(11), 32)
    raw = candidates.run_generator(model, cond, z, styles)
    comps = lock.compose(raw, clip, list(KICK_SNARE))
    kept_hits = raw[:, 0][:, list(KICK_SNARE)] >= model.meta.hit_threshold
    hard = candidates.hit_change(kept_hits, clip.hits[list(KICK_SNARE)][None])
    score = hard + lock.SLIDER_WEIGHT * candidates.slider_distance(
        model, comps, clip.grid, candidates.slider_targets(model, cond)
    )
    at = int(np.flatnonzero([np.array_equal(c, chosen) for c in comps])[0])
    assert score[at] <= score.min() + 2e-3  # the 1e-3 soft tie-breaker aside
    assert fit == pytest.approx(hard[at], abs=1e-3)


@pytest.mark.parametrize("amount", [0.3, 0.7, 1.0])
def test_vary_never_changes_the_kept_voices(model, amount):
    clip = random_clip(2, seed=3)
    out = search(model, ask(model, seed=2, clip=clip, keep=KICK_SNARE, amount=amount))
    assert same_voices(out, clip, KICK_SNARE)
    assert not np.array_equal(out.hits, clip.hits)
    unlocked = engine.vary(
        model, ask(model, seed=2, clip=clip, amount=amount)
    )  # without the lock they do change
    assert not same_voices(unlocked, clip, KICK_SNARE)


def test_bars_loops_the_kept_voices(model):
    clip = random_clip(1, seed=9)
    out = search(model, ask(model, seed=1, clip=clip, keep=KICK_SNARE, bars=3))
    assert out.grid.bars == 3
    for bar in range(3):
        steps = slice(bar * 16, (bar + 1) * 16)
        np.testing.assert_array_equal(out.hits[list(KICK_SNARE), steps], clip.hits[list(KICK_SNARE)])


def test_bad_input_is_refused(model):
    clip = random_clip(2, seed=1)
    with pytest.raises(ValueError, match="keep names no voice"):
        search(model, ask(model, seed=1, clip=clip, keep=()))
    with pytest.raises(ValueError, match=r"keep must name voices 0\.\.8"):
        search(model, ask(model, seed=1, clip=clip, keep=(9,)))
    with pytest.raises(ValueError, match=r"rounds must be in 1\.\.8"):
        lock.generate_locked(model, ask(model, seed=1, clip=clip, keep=KICK_SNARE), rounds=0)
    three_four = Pattern.empty(Grid(4, 3, 2))
    with pytest.raises(ValueError, match="does not match the model's"):
        search(model, ask(model, seed=1, clip=three_four, keep=KICK_SNARE))
