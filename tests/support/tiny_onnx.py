"""A tiny generator that honours the ONNX contract, built with onnx.helper (no torch).

A real ONNX file for tests of everything downstream of export: a random linear map from
[z, cond, one-hot(style)] to the [N, 3, V, T] pattern, with sigmoid hit/velocity and 0.5*tanh offsets.
The first condition pushes every hit logit up, so "density" (or whatever comes first) is controllable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.descriptors import DESCRIPTOR_TABLE
from companion.core.drum_map import N_VOICES, VOICE_TABLE
from companion.core.model_meta import METADATA_KEY, ConditionMeta, ModelMeta, VoiceMeta
from companion.core.pattern import Grid

TINY_GRID = Grid(4, 4, 2)
DESCRIPTIONS = {name: text for name, _, text in DESCRIPTOR_TABLE}


def tiny_meta(
    name: str = "tiny",
    conditions: Sequence[str] = ("density", "syncopation"),
    styles: Sequence[str] = ("funk", "rock"),
    grid: Grid = TINY_GRID,
    latent_dim: int = 8,
) -> ModelMeta:
    probs = tuple(float(p) for p in np.linspace(0, 1, 11))
    return ModelMeta(
        name=name,
        voices=tuple(VoiceMeta(v, p) for v, p, _ in VOICE_TABLE),
        steps_per_beat=grid.steps_per_beat,
        beats_per_bar=grid.beats_per_bar,
        bars=grid.bars,
        latent_dim=latent_dim,
        conditions=tuple(
            ConditionMeta(
                c, DESCRIPTIONS.get(c, c), tuple(float(x) for x in np.linspace(0, 10 * (i + 1), 11))
            )
            for i, c in enumerate(conditions)
        ),
        quantile_probs=probs,
        styles=tuple(styles),
        hit_threshold=0.5,
        dataset={"source": "synthetic test data", "licence": "none", "counts": {"train": 0}},
        training={"config": {"kind": "tiny onnx.helper graph"}, "steps": 0, "date": "2026-01-01"},
    )


def tiny_model_bytes(meta: ModelMeta, seed: int = 0, z_scale: float = 1.0) -> bytes:
    """``z_scale`` scales the noise's weights: 0 gives a generator that ignores its noise (one pattern per
    setting: a conditional mode collapse)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    n_cond, n_styles = len(meta.conditions), len(meta.styles)
    t = meta.grid.n_steps
    width = meta.latent_dim + n_cond + n_styles
    out = 3 * N_VOICES * t
    weight = rng.normal(0, 0.6, (width, out)).astype(np.float32)
    weight[: meta.latent_dim] *= z_scale
    if n_cond:
        weight[meta.latent_dim, : N_VOICES * t] = 4.0  # first condition raises every hit logit
    bias = np.concatenate([np.full(N_VOICES * t, -2.0), np.zeros(2 * N_VOICES * t)]).astype(np.float32)
    inits = [
        numpy_helper.from_array(weight, "W"),
        numpy_helper.from_array(bias, "B"),
        numpy_helper.from_array(np.array([-1, 3, N_VOICES, t], dtype=np.int64), "shape"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "s0"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "s2"),
        numpy_helper.from_array(np.array([3], dtype=np.int64), "s3"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
    ]
    inputs = [
        helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", meta.latent_dim]),
        helper.make_tensor_value_info("cond", TensorProto.FLOAT, ["N", n_cond]),
    ]
    concat_inputs = ["z", "cond"]
    nodes = []
    if n_styles:
        inits.append(numpy_helper.from_array(np.eye(n_styles, dtype=np.float32), "eye"))
        inputs.append(helper.make_tensor_value_info("style", TensorProto.INT64, ["N"]))
        nodes.append(helper.make_node("Gather", ["eye", "style"], ["onehot"], axis=0))
        concat_inputs.append("onehot")
    nodes += [
        helper.make_node("Concat", concat_inputs, ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["logits"]),
        helper.make_node("Reshape", ["logits", "shape"], ["planes"]),
        helper.make_node("Slice", ["planes", "s0", "s2", "axis1"], ["hv_logits"]),
        helper.make_node("Slice", ["planes", "s2", "s3", "axis1"], ["off_logits"]),
        helper.make_node("Sigmoid", ["hv_logits"], ["hv"]),
        helper.make_node("Tanh", ["off_logits"], ["off_tanh"]),
        helper.make_node("Mul", ["off_tanh", "half"], ["off"]),
        helper.make_node("Concat", ["hv", "off"], ["pattern"], axis=1),
    ]
    output = helper.make_tensor_value_info("pattern", TensorProto.FLOAT, ["N", 3, N_VOICES, t])
    graph = helper.make_graph(nodes, "tiny_nudge_generator", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nudge-tests")
    model.ir_version = 8
    helper.set_model_props(model, {METADATA_KEY: meta.to_json()})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_tiny_model(path: str | os.PathLike, seed: int = 0, z_scale: float = 1.0, **meta_kwargs) -> Path:
    """Write a contract-conforming tiny generator to ``path`` (atomically); kwargs go to ``tiny_meta``."""
    return atomic_write_bytes(path, tiny_model_bytes(tiny_meta(**meta_kwargs), seed=seed, z_scale=z_scale))
