"""Int8 export: the daemon loads it, it stays close to the float graph, and a failed check writes nothing."""

import numpy as np
import onnx
import pytest

from companion.core.model_meta import METADATA_KEY, ModelMeta
from companion.runtime.model import load_model, random_feeds
from companion.runtime.search import SearchRequest, search
from tests.support.rhythm_data import TINY_ARCH, write_rhythm_dataset
from training.cli import main as cli_main
from training.export import quantize
from training.export.export import ExportError, build_meta, export_checkpoint, to_onnx_bytes
from training.fitting.checkpoint import generator_from_checkpoint, load_checkpoint
from training.fitting.config import TrainConfig
from training.fitting.train import train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8")
    data = write_rhythm_dataset(root / "tiny.npz", n_train=40, n_val=8, n_test=8)
    config = TrainConfig(
        data=str(data), out=str(root / "run"), steps=4, batch_size=16, progress=False, val_rows=0, **TINY_ARCH
    )
    return train(config).last


def test_int8_export_is_quantised_and_served_by_the_daemon(checkpoint, tmp_path):
    result = export_checkpoint(checkpoint, tmp_path / "q.onnx", int8=True)
    graph = onnx.load(result.path)
    ops = {node.op_type for node in graph.graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops and "Gemm" not in ops
    assert [p.key for p in graph.metadata_props] == [METADATA_KEY]  # the quantiser's own entries dropped
    stored = ModelMeta.from_json(graph.metadata_props[0].value).training["quantization"]
    assert stored["method"] == quantize.METHOD
    assert stored["hit_agreement"] == pytest.approx(result.int8.hit_agreement, abs=1e-6)
    assert result.int8.hit_agreement >= quantize.MIN_HIT_AGREEMENT
    model = load_model(result.path)  # the daemon's loader and its contract checks
    assert model.meta.training["quantization"]["method"] == quantize.METHOD
    request = SearchRequest.of(model.meta, seed=3, sliders={"density": 0.7})
    first, again = search(model, request), search(model, request)
    assert first.same_as(again)


def test_int8_output_stays_in_the_contract_ranges(checkpoint, tmp_path):
    import onnxruntime as ort

    result = export_checkpoint(checkpoint, tmp_path / "q.onnx", int8=True)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["pattern"], random_feeds(result.meta, 257, seed=5))
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert out[:, :2].min() >= 0 and out[:, :2].max() <= 1 and np.abs(out[:, 2]).max() <= 0.5


def test_agreement_of_a_graph_with_itself_is_perfect_and_with_int8_close(checkpoint):
    generator, _ = generator_from_checkpoint(load_checkpoint(checkpoint))
    meta = build_meta(load_checkpoint(checkpoint), _space(checkpoint), "m")
    data = to_onnx_bytes(generator.eval(), meta)
    same = quantize.agreement(data, data, meta, rows=64)
    assert same.hit_agreement == 1.0 and same.velocity_mae == 0.0 and same.offset_mae == 0.0
    int8 = quantize.agreement(data, quantize.quantize_int8(data), meta, rows=256)
    assert 0.9 < int8.hit_agreement <= 1.0 and int8.velocity_mae < 0.05 and int8.offset_mae < 0.05


def _space(checkpoint):
    return generator_from_checkpoint(load_checkpoint(checkpoint))[1]


def test_agreement_below_the_bar_writes_nothing(checkpoint, tmp_path, monkeypatch):
    target = tmp_path / "keep.onnx"
    target.write_bytes(b"previous model")
    monkeypatch.setattr(quantize, "MIN_HIT_AGREEMENT", 1.01)  # no real graph can pass this bar
    with pytest.raises(ExportError, match=r"agree with the float graph on .* below the 1\.01 required"):
        export_checkpoint(checkpoint, target, int8=True)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]


def test_export_command_with_int8(checkpoint, tmp_path, capsys):
    out = tmp_path / "cli.onnx"
    assert cli_main(["export", str(checkpoint), "-o", str(out), "--int8"]) == 0
    printed = capsys.readouterr().out
    assert "int8 weights: hits agree with the float graph on" in printed
    assert load_model(out).meta.training["quantization"]["method"] == quantize.METHOD
