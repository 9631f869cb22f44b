"""A tiny tools graph (``NAME.tools.onnx``) beside a tiny generator, built with onnx.helper (no torch).

It honours the tools contract (``companion/runtime/tools_model.py``): a random linear map from every input
to the pattern, plus two terms that make it behave like a tools graph should, so tests can see it used:
given hits are played (hit logit +6 where the mask gives a hit, -3 where it gives a rest) and a rhythm's
onsets are played by kick, snare and closed hat (+6).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import N_VOICES
from companion.core.model_meta import METADATA_KEY, ModelMeta
from companion.runtime.tools_model import (
    TASKS,
    TOOLS_METADATA_KEY,
    ToolsMeta,
    base_fingerprint,
    tools_path_for,
)


def base_json(model_path: str | os.PathLike) -> str:
    import onnx

    model = onnx.load(os.fspath(model_path))
    return next(p.value for p in model.metadata_props if p.key == METADATA_KEY)


def tiny_tools_bytes(
    meta_json: str, seed: int = 0, tasks: tuple[str, ...] = TASKS, base: str | None = None
) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    meta = ModelMeta.from_json(meta_json)
    rng = np.random.default_rng(seed)
    n_cond, n_styles, t, k = len(meta.conditions), len(meta.styles), meta.grid.n_steps, len(tasks)
    cells = N_VOICES * t
    width = meta.latent_dim + n_cond + (n_styles + 1 if n_styles else 0) + 5 * cells + t + k
    weight = rng.normal(0, 0.3, (width, 3 * cells)).astype(np.float32)
    bias = np.concatenate([np.full(cells, -2.0), np.zeros(2 * cells)]).astype(np.float32)
    voices = np.zeros((1, 1, N_VOICES, 1), np.float32)
    voices[0, 0, :3] = 1
    inits = [
        numpy_helper.from_array(weight, "W"),
        numpy_helper.from_array(bias, "B"),
        numpy_helper.from_array(np.array([-1, 3, N_VOICES, t], dtype=np.int64), "shape"),
        numpy_helper.from_array(np.array([-1, 3 * cells], dtype=np.int64), "flat3"),
        numpy_helper.from_array(np.array([-1, 2 * cells], dtype=np.int64), "flat2"),
        numpy_helper.from_array(np.array([-1, 1, 1, t], dtype=np.int64), "rshape"),
        numpy_helper.from_array(voices, "voices"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "s0"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "s1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "s2"),
        numpy_helper.from_array(np.array([3], dtype=np.int64), "s3"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
        numpy_helper.from_array(np.array(6.0, dtype=np.float32), "six"),
        numpy_helper.from_array(np.array(3.0, dtype=np.float32), "three"),
    ]
    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("z", f, ["N", meta.latent_dim]),
        helper.make_tensor_value_info("cond", f, ["N", n_cond]),
        helper.make_tensor_value_info("known", f, ["N", 3, N_VOICES, t]),
        helper.make_tensor_value_info("mask", f, ["N", 2, N_VOICES, t]),
        helper.make_tensor_value_info("rhythm", f, ["N", t]),
        helper.make_tensor_value_info("task", f, ["N", k]),
    ]
    concat = ["z", "cond"]
    nodes = []
    if n_styles:
        inits.append(numpy_helper.from_array(np.eye(n_styles + 1, dtype=np.float32), "eye"))
        inputs.append(helper.make_tensor_value_info("style", TensorProto.INT64, ["N"]))
        nodes.append(helper.make_node("Gather", ["eye", "style"], ["onehot"], axis=0))
        concat.append("onehot")
    nodes += [
        helper.make_node("Reshape", ["known", "flat3"], ["known_flat"]),
        helper.make_node("Reshape", ["mask", "flat2"], ["mask_flat"]),
        helper.make_node("Concat", [*concat, "known_flat", "mask_flat", "rhythm", "task"], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["logits"]),
        helper.make_node("Reshape", ["logits", "shape"], ["planes"]),
        # given hits played, given rests kept: +6 * known_hit * mask_hit - 3 * mask_hit
        helper.make_node("Slice", ["known", "s0", "s1", "axis1"], ["known_hit"]),
        helper.make_node("Slice", ["mask", "s0", "s1", "axis1"], ["mask_hit"]),
        helper.make_node("Mul", ["known_hit", "mask_hit"], ["given_hit"]),
        helper.make_node("Mul", ["given_hit", "six"], ["plus"]),
        helper.make_node("Mul", ["mask_hit", "three"], ["minus"]),
        helper.make_node("Sub", ["plus", "minus"], ["given_term"]),
        # a rhythm's onsets played by kick, snare and closed hat
        helper.make_node("Reshape", ["rhythm", "rshape"], ["rhythm4"]),
        helper.make_node("Mul", ["rhythm4", "voices"], ["rhythm_voices"]),
        helper.make_node("Mul", ["rhythm_voices", "six"], ["rhythm_term"]),
        helper.make_node("Slice", ["planes", "s0", "s1", "axis1"], ["hit_logits"]),
        helper.make_node("Add", ["hit_logits", "given_term"], ["hit_a"]),
        helper.make_node("Add", ["hit_a", "rhythm_term"], ["hit_b"]),
        helper.make_node("Slice", ["planes", "s1", "s2", "axis1"], ["vel_logits"]),
        helper.make_node("Concat", ["hit_b", "vel_logits"], ["hv_logits"], axis=1),
        helper.make_node("Slice", ["planes", "s2", "s3", "axis1"], ["off_logits"]),
        helper.make_node("Sigmoid", ["hv_logits"], ["hv"]),
        helper.make_node("Tanh", ["off_logits"], ["off_tanh"]),
        helper.make_node("Mul", ["off_tanh", "half"], ["off"]),
        helper.make_node("Concat", ["hv", "off"], ["pattern"], axis=1),
    ]
    output = helper.make_tensor_value_info("pattern", f, ["N", 3, N_VOICES, t])
    graph = helper.make_graph(nodes, "tiny_nudge_tools", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nudge-tests")
    model.ir_version = 8
    tools = ToolsMeta(
        tasks, base or base_fingerprint(meta_json), n_styles, {"kind": "tiny onnx.helper graph"}
    )
    helper.set_model_props(model, {TOOLS_METADATA_KEY: tools.to_json()})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_tiny_tools(model_path: str | os.PathLike, seed: int = 0, **kwargs) -> Path:
    """Write a tiny tools graph beside the generator at ``model_path`` (``NAME.tools.onnx``)."""
    return atomic_write_bytes(
        tools_path_for(model_path), tiny_tools_bytes(base_json(model_path), seed, **kwargs)
    )
