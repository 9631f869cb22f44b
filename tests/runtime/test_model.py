"""companion.runtime.model: a real ONNX generator loads; every broken file gives a ModelError naming it."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from companion.core.model_meta import METADATA_KEY
from companion.core.pattern import Grid
from companion.runtime.model import ModelError, load_model
from tests.support.tiny_onnx import tiny_meta, tiny_model_bytes, write_tiny_model


def _proto(**meta_kwargs) -> onnx.ModelProto:
    return onnx.load_from_string(tiny_model_bytes(tiny_meta(**meta_kwargs)))


def _set_meta(proto: onnx.ModelProto, data: str | None) -> None:
    del proto.metadata_props[:]
    if data is not None:
        onnx.helper.set_model_props(proto, {METADATA_KEY: data})


def _meta_dict(**kwargs) -> dict:
    return json.loads(tiny_meta(**kwargs).to_json())


def _write(tmp_path, proto: onnx.ModelProto, name: str = "broken.onnx"):
    path = tmp_path / name
    path.write_bytes(proto.SerializeToString())
    return path


def test_tiny_model_loads_and_runs(tmp_path):
    model = load_model(write_tiny_model(tmp_path / "groove.onnx", grid=Grid(4, 4, 2), latent_dim=8))
    assert model.name == "groove" and model.meta.latent_dim == 8 and model.meta.styles == ("funk", "rock")
    z = np.zeros((5, 8), dtype=np.float32)
    out = model.run(z, np.full((5, 2), 0.5, dtype=np.float32), np.array([0, 1, 0, 1, 0]))
    assert out.shape == (5, 3, 9, 32) and out.dtype == np.float32
    assert np.all((out[:, 0] >= 0) & (out[:, 0] <= 1)) and np.all(np.abs(out[:, 2]) <= 0.5)


def test_run_checks_shapes_and_dtypes(tmp_path):
    model = load_model(write_tiny_model(tmp_path / "m.onnx"))
    z, cond, style = np.zeros((2, 8), np.float32), np.zeros((2, 2), np.float32), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="z must be float32"):
        model.run(z.astype(np.float64), cond, style)
    with pytest.raises(ValueError, match=r"cond must be float32 \[N, 2\]"):
        model.run(z, np.zeros((2, 3), np.float32), style)
    with pytest.raises(ValueError, match="style must be int64"):
        model.run(z, cond, None)
    with pytest.raises(ValueError, match="batch size"):
        model.run(np.zeros((0, 8), np.float32), np.zeros((0, 2), np.float32), np.zeros(0, np.int64))


def test_model_without_styles_takes_no_style(tmp_path):
    model = load_model(write_tiny_model(tmp_path / "plain.onnx", styles=()))
    out = model.run(np.zeros((1, 8), np.float32), np.zeros((1, 2), np.float32))
    assert out.shape == (1, 3, 9, 32)
    with pytest.raises(ValueError, match="no styles"):
        model.run(np.zeros((1, 8), np.float32), np.zeros((1, 2), np.float32), np.zeros(1, np.int64))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "model file not found"),
        (b"", "file is empty"),
        (b"this is not a protobuf at all" * 10, "not a loadable ONNX model"),
        (b"\x08\x07" + b"\xff" * 64, "not a loadable ONNX model"),
    ],
)
def test_missing_empty_and_garbage_files(tmp_path, content, reason):
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=reason) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_folder_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="not a file"):
        load_model(tmp_path)


def test_metadata_missing(tmp_path):
    proto = _proto()
    _set_meta(proto, None)
    with pytest.raises(ModelError, match="metadata_props has no 'nudge' entry"):
        load_model(_write(tmp_path, proto))


def test_metadata_not_json(tmp_path):
    proto = _proto()
    _set_meta(proto, "{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(_write(tmp_path, proto))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("latent_dim"), "'latent_dim' is missing"),
        (lambda d: d.update(hit_threshold=2.0), "'hit_threshold' must be in 0..1"),
        (lambda d: d.update(bars=0), "'bars' must be an int in 1..8"),
        (
            lambda d: d["conditions"][0].update(quantiles=[1.0]),
            r"conditions\[0\].quantiles must have 11 values",
        ),
        (lambda d: d.update(voices=d["voices"][:8]), "'voices' must list 9 voices"),
        (lambda d: d.update(format=2), "format 2 is not supported"),
    ],
)
def test_invalid_metadata_names_the_field(tmp_path, change, field):
    data = _meta_dict()
    change(data)
    proto = _proto()
    _set_meta(proto, json.dumps(data))
    with pytest.raises(ModelError, match=field):
        load_model(_write(tmp_path, proto))


def test_metadata_that_disagrees_with_the_graph(tmp_path):
    proto = _proto(latent_dim=8)
    _set_meta(proto, tiny_meta(latent_dim=16).to_json())
    with pytest.raises(
        ModelError, match=r"input 'z' must be tensor\(float\) \[N, 16\], got z tensor\(float\)"
    ):
        load_model(_write(tmp_path, proto, "a.onnx"))
    proto = _proto()
    _set_meta(proto, tiny_meta(styles=()).to_json())
    with pytest.raises(ModelError, match=r"inputs must be \['z', 'cond'\]"):
        load_model(_write(tmp_path, proto, "b.onnx"))
    proto = _proto(grid=Grid(4, 4, 2))
    _set_meta(proto, tiny_meta(grid=Grid(4, 4, 4)).to_json())
    with pytest.raises(ModelError, match=r"output 'pattern' must be tensor\(float\) \[N, 3, 9, 64\]"):
        load_model(_write(tmp_path, proto, "c.onnx"))


def test_renamed_input_is_named(tmp_path):
    proto = _proto()
    proto.graph.input[0].name = "noise"
    for node in proto.graph.node:
        node.input[:] = ["noise" if name == "z" else name for name in node.input]
    with pytest.raises(
        ModelError, match=r"inputs must be \['z', 'cond', 'style'\].*got \['cond', 'noise', 'style'\]"
    ):
        load_model(_write(tmp_path, proto))


def test_generator_returning_nan_is_refused(tmp_path):
    proto = _proto()
    for index, init in enumerate(proto.graph.initializer):
        if init.name == "B":
            proto.graph.initializer[index].CopyFrom(
                numpy_helper.from_array(np.full(numpy_helper.to_array(init).shape, np.nan, np.float32), "B")
            )
    with pytest.raises(ModelError, match="NaN or inf"):
        load_model(_write(tmp_path, proto))


# -- a bad model never passes the checks (issue 17, findings 4 and 5) ------------------------------------


def test_metadata_listing_more_styles_than_the_network_has_is_refused(tmp_path):
    proto = _proto(styles=("funk", "rock"))  # the network's one-hot table has two rows
    _set_meta(proto, tiny_meta(styles=("funk", "rock", "jazz")).to_json())
    with pytest.raises(
        ModelError, match=r"fails on its declared inputs \(style indices 0\.\.2, every slider"
    ):
        load_model(_write(tmp_path, proto))


def test_a_generator_that_breaks_at_a_slider_end_is_refused(tmp_path):
    """pattern + 0 * sum(log(1 - cond)): fine at the default sliders, NaN once a slider is at 1."""
    proto = _proto()
    graph = proto.graph
    for node in graph.node:
        node.output[:] = ["pattern_ok" if name == "pattern" else name for name in node.output]
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1.0, np.float32), "one_f"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero_f"),
        ]
    )
    graph.node.extend(
        [
            onnx.helper.make_node("Sub", ["one_f", "cond"], ["headroom"]),
            onnx.helper.make_node("Log", ["headroom"], ["log_headroom"]),
            onnx.helper.make_node("ReduceSum", ["log_headroom"], ["total"], keepdims=0),
            onnx.helper.make_node("Mul", ["total", "zero_f"], ["nothing"]),
            onnx.helper.make_node("Add", ["pattern_ok", "nothing"], ["pattern"]),
        ]
    )
    with pytest.raises(ModelError, match="NaN or inf"):
        load_model(_write(tmp_path, proto))


def test_metadata_nested_too_deeply_or_not_utf8_is_a_model_error(tmp_path):
    proto = _proto()
    _set_meta(proto, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match="nested too deeply"):
        load_model(_write(tmp_path, proto, "deep.onnx"))
    _set_meta(proto, "Q" * 16)
    data = proto.SerializeToString().replace(b"Q" * 16, b"\xff\xfe" * 8)  # protobuf would refuse to write it
    (tmp_path / "latin.onnx").write_bytes(data)
    with pytest.raises(ModelError, match="metadata_props are not UTF-8"):
        load_model(tmp_path / "latin.onnx")
    _set_meta(proto, " " * (1 << 20) + "{}")
    with pytest.raises(ModelError, match="more than 1048576"):
        load_model(_write(tmp_path, proto, "long.onnx"))


def test_loading_a_model_writes_nothing_in_the_home_folder(tmp_path):
    """onnxruntime's telemetry stays off (issue 17, finding 14): no ~/.cache/Microsoft device id."""
    import os
    import subprocess
    import sys

    model = write_tiny_model(tmp_path / "tiny.onnx")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    code = f"from companion.runtime.model import load_model; load_model({str(model)!r})"
    subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(home)}, check=True, timeout=60)
    assert [str(p.relative_to(home)) for p in home.rglob("*")] == []
