"""companion.core.model_meta: the metadata contract between export and every consumer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.core.model_meta import FORMAT_VERSION, ModelMeta, ModelMetaError
from companion.core.pattern import Grid
from tests.support.tiny_onnx import tiny_meta


def meta_dict() -> dict:
    return json.loads(tiny_meta(conditions=("density", "syncopation"), styles=("funk", "rock")).to_json())


def test_json_round_trip_keeps_everything():
    meta = tiny_meta(grid=Grid(4, 3, 2), latent_dim=12)
    again = ModelMeta.from_json(meta.to_json())
    assert again == meta
    assert again.grid == Grid(4, 3, 2) and again.condition_names == ("density", "syncopation")
    assert again.output_pitches[:3] == (36, 38, 42) and again.has_styles


def test_normaliser_and_defaults_come_from_the_conditions():
    meta = tiny_meta()
    normaliser = meta.normaliser()
    assert normaliser.names == meta.condition_names
    # tiny_meta's density quantiles run 0..10 over probabilities 0..1: raw 5 is the median
    assert normaliser.transform(np.array([[5.0, 10.0]]))[0].tolist() == pytest.approx([0.5, 0.5])
    assert meta.defaults().tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("latent_dim"), "latent_dim"),
        (lambda d: d.update(format=FORMAT_VERSION + 1), "format"),
        (lambda d: d.update(bars=9), "bars"),
        (lambda d: d.update(steps_per_beat="4"), "steps_per_beat"),
        (lambda d: d.update(hit_threshold=float("nan")), "hit_threshold"),
        (lambda d: d.update(voices=[]), "voices"),
        (lambda d: d["voices"][0].update(pitch=128), "voices[0].pitch"),
        (lambda d: d["conditions"][1].update(default=1.5), "conditions[1].default"),
        (lambda d: d["conditions"][0]["quantiles"].pop(), "conditions[0].quantiles"),
        (lambda d: d["conditions"][0]["quantiles"].reverse(), "conditions[0].quantiles"),
        (lambda d: d["conditions"][1].update(name="density"), "duplicate"),
        (lambda d: d.update(quantile_probs=[0.5, 0.2]), "quantile_probs"),
        (lambda d: d.update(styles=["funk", "funk"]), "styles"),
        (lambda d: d.update(dataset=[1]), "dataset"),
        (lambda d: d.update(styles=5), "styles"),
        (lambda d: d.update(styles="rock"), "styles"),  # a string is not a list of one-letter styles
        (lambda d: d.update(styles=["fu\0nk"]), "styles[0]"),  # NUL cannot travel in an OSC string
        (lambda d: d.update(styles=["x" * 65]), "styles[0]"),
        (lambda d: d["conditions"][0].update(description="d" * 201), "conditions[0].description"),
        (lambda d: d["conditions"][0].update(unit=3), "conditions[0].unit"),
        (lambda d: d.update(name="line\nbreak"), "name"),
        (lambda d: d.update(styles=["\ud800"]), "styles[0]"),  # a lone surrogate: no UTF-8 for OSC
        (
            lambda d: d.update(conditions=[dict(d["conditions"][0], name=f"c{i}") for i in range(33)]),
            "at most 32",
        ),
    ],
)
def test_every_bad_field_is_named(change, field):
    data = meta_dict()
    change(data)
    with pytest.raises(ModelMetaError, match=field.replace("[", r"\[").replace("]", r"\]")):
        ModelMeta.from_dict(data)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null", b"\xff\xfe"])
def test_not_an_object_is_refused_clearly(text):
    with pytest.raises(ModelMetaError, match="JSON"):
        ModelMeta.from_json(text)


def test_models_without_styles_are_valid():
    data = meta_dict()
    data["styles"] = []
    meta = ModelMeta.from_dict(data)
    assert not meta.has_styles and meta.styles == ()
