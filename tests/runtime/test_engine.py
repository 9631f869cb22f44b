"""The generation search: determinism, slider control, lengths, vary's change measure and its guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.descriptors import describe
from companion.core.pattern import Grid, Pattern
from companion.runtime import candidates, engine
from companion.runtime.model import Model, load_model
from companion.runtime.search import SearchRequest
from tests.support.tiny_onnx import write_tiny_model


def ask(model, **options):
    """These tests' search request: checked against the model, defaults resolved."""
    return SearchRequest.of(model.meta, **options)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    return load_model(write_tiny_model(path, grid=Grid(4, 4, 2), latent_dim=8))


@pytest.fixture(scope="module")
def spotify_like(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "dance.onnx"
    return load_model(write_tiny_model(path, conditions=("danceability", "density"), styles=()))


def test_same_seed_same_pattern_other_seed_other_pattern(model):
    a = engine.generate(model, ask(model, seed=5, sliders={"density": 0.6}, style="funk", bars=2))
    b = engine.generate(model, ask(model, seed=5, sliders={"density": 0.6}, style="funk", bars=2))
    c = engine.generate(model, ask(model, seed=6, sliders={"density": 0.6}, style="funk", bars=2))
    assert a.same_as(b)
    assert not a.same_as(c)


def test_density_slider_steers_the_result(model):
    hits = [
        np.mean(
            [
                engine.generate(model, ask(model, seed=s, sliders={"density": d}, bars=2)).n_hits
                for s in range(6)
            ]
        )
        for d in (0.1, 0.5, 0.9)
    ]
    assert hits[0] < hits[1] < hits[2]


def _distances(model, sliders, seed):
    """Every candidate generate() draws for ``seed`` and its distance to ``sliders``, measured here
    independently of the engine: ``describe()`` through the model's own quantile normaliser (the metadata's
    table), then the mean squared difference."""
    cond = candidates.condition_vector(model, sliders)
    raw = candidates.sample(model, cond, "rock", seed, 64)  # the batch generate() draws for this seed
    grid, threshold = model.meta.grid, model.meta.hit_threshold
    patterns = [Pattern.from_array(r, grid, threshold) for r in raw]
    names = list(sliders)
    described = np.array([[describe(c)[n] for n in names] for c in patterns])  # [64, 2] raw values
    normalised = model.meta.normaliser().subset(names).transform(described)  # [64, 2] in 0..1
    return patterns, ((normalised - np.array([sliders[n] for n in names])) ** 2).mean(axis=1)


def test_picks_a_candidate_that_meets_the_sliders(model):
    """The returned pattern is one of the candidates whose RMS slider error is within TAKE_MARGIN of the
    nearest; with a margin of 0 it is the nearest itself."""
    sliders = {"density": 0.3, "syncopation": 0.8}
    for seed in range(6):
        patterns, distance = _distances(model, sliders, seed)
        chosen = engine.generate(model, ask(model, seed=seed, sliders=sliders, style="rock", bars=2))
        at = next(i for i, c in enumerate(patterns) if c.same_as(chosen))
        assert np.sqrt(distance[at]) <= np.sqrt(distance.min()) + candidates.TAKE_MARGIN + 1e-6


def test_margin_zero_picks_the_nearest(model, monkeypatch):
    monkeypatch.setattr(candidates, "TAKE_MARGIN", 0.0)
    sliders = {"density": 0.3, "syncopation": 0.8}
    patterns, distance = _distances(model, sliders, 9)
    chosen = engine.generate(model, ask(model, seed=9, sliders=sliders, style="rock", bars=2))
    at = next(i for i, c in enumerate(patterns) if c.same_as(chosen))
    assert distance[at] == pytest.approx(distance.min(), abs=1e-6)  # the nearest (ties: any of them)
    assert distance[at] < np.median(distance)


def test_other_seeds_other_takes_among_near_equals(model):
    """Seeds whose nearest candidates would be the same pattern give different takes."""
    takes = [engine.generate(model, ask(model, seed=s, style="rock", bars=2)).hits for s in range(8)]
    assert len({t.tobytes() for t in takes}) == 8


def test_choose_take_is_seeded_and_uniform_among_those_that_meet_the_sliders():
    score = np.array([0.04, 0.0025, 0.01, 0.2, 0.0036])  # RMS 0.2, 0.05, 0.1, 0.45, 0.06
    picks = [candidates.choose_take(score, seed, margin=0.06) for seed in range(400)]
    assert picks == [candidates.choose_take(score, seed, margin=0.06) for seed in range(400)]  # seeded
    assert set(picks) == {1, 2, 4}  # RMS within 0.05 + 0.06 of the best; never 0 or 3
    counts = np.bincount(picks, minlength=5)[[1, 2, 4]]
    assert counts.min() > 400 / 3 * 0.7  # about uniform
    assert {candidates.choose_take(score, seed, margin=0.0) for seed in range(50)} == {1}


def test_shorter_and_longer_than_the_model(model):
    one = engine.generate(model, ask(model, seed=1, bars=1))
    assert one.grid == Grid(4, 4, 1)
    five = engine.generate(model, ask(model, seed=1, bars=5))
    assert five.grid == Grid(4, 4, 5) and five.n_hits > 0
    with pytest.raises(ValueError, match=r"bars must be an int in 1\.\.8"):
        engine.generate(model, ask(model, seed=1, bars=9))


def test_unknown_condition_style_and_out_of_range(model, spotify_like):
    with pytest.raises(ValueError, match="unknown condition 'swing'"):
        engine.generate(model, ask(model, seed=1, sliders={"swing": 0.5}, bars=2))
    with pytest.raises(ValueError, match="unknown style 'jazz'"):
        engine.generate(model, ask(model, seed=1, style="jazz", bars=2))
    with pytest.raises(ValueError, match=r"must be a number in 0\.\.1"):
        engine.generate(model, ask(model, seed=1, sliders={"density": float("nan")}, bars=2))
    with pytest.raises(ValueError, match="no styles"):
        engine.generate(spotify_like, ask(spotify_like, seed=1, style="funk", bars=2))


def test_conditions_that_are_not_descriptors_are_inputs_only(spotify_like):
    a = engine.generate(
        spotify_like, ask(spotify_like, seed=3, sliders={"danceability": 0.9, "density": 0.5}, bars=2)
    )
    assert a.grid.bars == 2
    search = candidates.model_search(spotify_like)
    assert search.measured == (1,)  # only density is measured


def test_hit_change_definition():
    a = np.zeros((9, 16), bool)
    b = a.copy()
    assert candidates.hit_change(a, b) == 0.0  # two empty patterns: no change
    a[0, [0, 4, 8, 12]] = True
    b[0, [0, 4, 8, 12]] = True
    assert candidates.hit_change(a, b) == 0.0
    b[0, 2] = True  # one added: 1 / (4 + 5)
    assert candidates.hit_change(a, b) == pytest.approx(1 / 9)
    c = np.zeros_like(a)
    c[1, [1, 3]] = True  # nothing shared
    assert candidates.hit_change(a, c) == 1.0
    assert candidates.hit_change(np.stack([a, a]), np.stack([b, c])).tolist() == pytest.approx([1 / 9, 1.0])


def test_top_k_mask_matches_a_stable_sort():
    rng = np.random.default_rng(0)
    priority = rng.random((20, 50)).astype(np.float32)
    allowed = rng.random((20, 50)) >= 0.4
    allowed[3] = False  # a row with nothing to flip
    k = np.minimum(rng.integers(0, 30, 20), allowed.sum(axis=1))
    mask = engine.top_k_mask(priority, allowed, k)
    assert mask.sum(axis=1).tolist() == k.tolist() and not (mask & ~allowed).any()
    for row, ok, kk, chosen in zip(priority, allowed, k, mask, strict=True):
        ranked = np.where(ok, row, -1)
        assert set(np.flatnonzero(chosen)) == set(np.argsort(-ranked, kind="stable")[:kk])


def test_position_factors_put_bar_lines_last():
    factors = engine.position_factors(Grid(4, 4, 1))
    assert factors[0] == min(factors) and factors[1] == max(factors)
    assert factors[0] < factors[8] < factors[4] < factors[2] < factors[1]


def test_vary_amount_zero_returns_the_clip_itself(model):
    clip = engine.generate(model, ask(model, seed=2, style="funk", bars=2))
    assert engine.vary(model, ask(model, seed=4, clip=clip, amount=0.0, sliders={"density": 0.9})) is clip


def test_vary_small_amount_changes_few_hits_and_keeps_the_feel(model):
    clip = engine.generate(model, ask(model, seed=2, sliders={"density": 0.4}, style="funk", bars=2))
    varied = engine.vary(model, ask(model, seed=4, clip=clip, amount=0.1))
    change = float(candidates.hit_change(clip.hits, varied.hits))
    assert 0 < change <= 0.12
    kept = clip.hits & varied.hits
    np.testing.assert_array_equal(varied.velocities[kept], clip.velocities[kept])
    np.testing.assert_array_equal(varied.offsets_steps[kept], clip.offsets_steps[kept])
    # the bar lines' kicks and snares are the last thing a small nudge touches
    strong = np.zeros_like(clip.hits)
    strong[:, ::16] = True
    assert np.array_equal(clip.hits & strong, varied.hits & strong)


def test_vary_change_grows_with_amount(model):
    clip = engine.generate(model, ask(model, seed=8, sliders={"density": 0.5}, style="rock", bars=2))
    changes = [
        np.mean(
            [
                candidates.hit_change(
                    clip.hits, engine.vary(model, ask(model, seed=s, clip=clip, amount=a)).hits
                )
                for s in range(4)
            ]
        )
        for a in (0.05, 0.3, 0.7)
    ]
    assert changes[0] < changes[1] < changes[2]


def test_vary_amount_one_is_a_fresh_pattern_and_vary_is_deterministic(model):
    clip = engine.generate(model, ask(model, seed=1, bars=2))
    fresh = engine.vary(
        model, ask(model, seed=3, clip=clip, amount=1.0, sliders={"density": 0.5, "syncopation": 0.5})
    )
    assert fresh.same_as(
        engine.generate(model, ask(model, seed=3, sliders={"density": 0.5, "syncopation": 0.5}, bars=2))
    )
    a = engine.vary(model, ask(model, seed=3, clip=clip, amount=0.3, sliders={"density": 0.8}, style="funk"))
    b = engine.vary(model, ask(model, seed=3, clip=clip, amount=0.3, sliders={"density": 0.8}, style="funk"))
    assert a.same_as(b)


def test_vary_bars_and_grid_checks(model):
    clip = engine.generate(model, ask(model, seed=1, bars=1))
    longer = engine.vary(model, ask(model, seed=1, clip=clip, amount=0.2, bars=3))
    assert longer.grid.bars == 3
    looped = engine.vary(model, ask(model, seed=1, clip=clip, amount=0.0, bars=2))
    np.testing.assert_array_equal(looped.hits, np.tile(clip.hits, (1, 2)))
    waltz = Pattern.empty(Grid(4, 3, 2))
    with pytest.raises(ValueError, match="does not match the model's"):
        engine.vary(model, ask(model, seed=1, clip=waltz, amount=0.5))
    with pytest.raises(ValueError, match="amount must be"):
        engine.vary(model, ask(model, seed=1, clip=clip, amount=1.5))


def test_vary_keeps_the_clip_character_when_no_slider_is_sent(model):
    sparse = engine.generate(model, ask(model, seed=1, sliders={"density": 0.05}, bars=2))
    dense = engine.generate(model, ask(model, seed=1, sliders={"density": 0.95}, bars=2))
    assert describe(sparse)["density"] < describe(dense)["density"]
    a = engine.vary(model, ask(model, seed=2, clip=sparse, amount=0.9))
    b = engine.vary(model, ask(model, seed=2, clip=dense, amount=0.9))
    assert a.n_hits < b.n_hits


class _NaNVelocities(Model):
    """The real tiny generator with its velocity plane poisoned: what a broken model would return."""

    def run(self, z, cond, style=None):
        out = super().run(z, cond, style)
        out[:, 1] = np.nan
        return out


def test_a_generator_returning_nan_is_an_error_not_a_pattern(model):
    poisoned = _NaNVelocities(model.session, model.meta, model.path)
    with pytest.raises(ValueError, match="finite"):
        engine.generate(poisoned, ask(poisoned, seed=1, sliders={"density": 0.8}, bars=2))
    with pytest.raises(ValueError, match="NaN or inf"):
        engine.vary(
            poisoned,
            ask(poisoned, seed=1, clip=Pattern.empty(Grid(4, 4, 2)), amount=0.5, sliders={"density": 0.8}),
        )


def test_blend_measures_change_exactly_as_hit_change(model):
    """blend's matrix-product change measure against the documented hit_change, on the nearest candidates
    at least VARY_REACH away (then the nearer ones)."""
    cond = candidates.condition_vector(model, {})
    raw = candidates.sample(model, cond, None, 4, 64)
    clip = engine.generate(model, ask(model, seed=8, sliders={"density": 0.3}, bars=2))
    _, changes = engine.blend(clip, raw, 0.3, model.meta.hit_threshold)
    every = candidates.hit_change(clip.hits[None], raw[:, 0] >= model.meta.hit_threshold)
    far, near = np.sort(every[every >= engine.VARY_REACH]), np.sort(every[every < engine.VARY_REACH])
    expected = np.concatenate([far, near])[: engine.VARY_BLENDS]
    assert np.array_equal(changes, expected)
