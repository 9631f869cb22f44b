"""The one search request: defaults and cost resolved once, every field checked against the model."""

from __future__ import annotations

import pytest

from companion.core.errors import UsageError
from companion.core.pattern import Grid, Pattern
from companion.runtime.search_request import DEFAULT_CANDIDATES, SearchRequest
from tests.support.tiny_onnx import tiny_meta

META = tiny_meta(grid=Grid(4, 4, 2))  # two bars; conditions density, syncopation; styles


def test_defaults_resolve_from_the_model_the_clip_or_the_request():
    plain = SearchRequest.of(META, seed=1)
    assert (plain.bars, plain.candidates, plain.cost) == (2, DEFAULT_CANDIDATES, 2 * DEFAULT_CANDIDATES)
    clip = Pattern.empty(Grid(4, 4, 3))
    assert SearchRequest.of(META, seed=1, clip=clip, amount=0.5).bars == 3  # the clip's
    assert SearchRequest.of(META, seed=1, clip_beats=4.5, amount=0.5).bars == 2  # any part of a bar counts
    wide = SearchRequest.of(META, seed=1, clip=clip, amount=0.5, bars=5, candidates=10)
    assert (wide.bars, wide.cost) == (5, 50)


def test_the_clip_as_it_is_costs_nothing():
    clip = Pattern.empty(Grid(4, 4, 1))
    assert SearchRequest.of(META, seed=1, clip=clip, amount=0.0).cost == 0
    assert SearchRequest.of(META, seed=1, clip=clip, amount=0.0, bars=2).cost == 2 * DEFAULT_CANDIDATES


def test_a_clip_given_later_keeps_the_counted_length():
    early = SearchRequest.of(META, seed=1, clip_beats=8.0, keep=(0,))
    clip = Pattern.empty(Grid(4, 4, 2))
    assert early.with_clip(clip).clip is clip and early.with_clip(clip).cost == early.cost


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"candidates": 0}, r"candidates must be an int in 1\.\.1024, got 0"),
        ({"bars": 9}, r"bars must be an int in 1\.\.8, got 9"),
        ({"bars": True}, r"bars must be an int"),
        ({"amount": 1.5, "clip_beats": 4.0}, r"amount must be a number in 0\.\.1"),
        ({"amount": float("nan"), "clip_beats": 4.0}, r"amount must be a number in 0\.\.1"),
        ({"keep": (9,), "clip_beats": 4.0}, r"keep must name voices 0\.\.8"),
        ({"clip_beats": 4.0}, "keep names no voice"),
        ({"amount": 0.5}, "need a clip"),
        ({"style": "polka"}, "unknown style 'polka'"),
        ({"sliders": {"swing": 0.5}}, "unknown condition 'swing'"),
        ({"sliders": {"density": 2.0}}, r"must be a number in 0\.\.1"),
    ],
)
def test_every_field_is_checked_with_a_message_naming_it(options, needle):
    with pytest.raises(UsageError, match=needle):
        SearchRequest.of(META, seed=1, **options)


def test_no_styles_model_refuses_a_style():
    meta = tiny_meta(styles=())
    with pytest.raises(UsageError, match="this model has no styles"):
        SearchRequest.of(meta, seed=1, style="funk")
