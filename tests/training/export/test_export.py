import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from companion.core.drum_map import N_VOICES, VOICES
from companion.core.model_meta import METADATA_KEY, ModelMeta
from companion.runtime.model import random_feeds
from tests.support.rhythm_data import TINY_ARCH, TINY_GRID, write_rhythm_dataset
from training.cli import main as cli_main
from training.export.export import ExportError, export_checkpoint
from training.fitting.checkpoint import generator_from_checkpoint, load_checkpoint
from training.fitting.config import TrainConfig
from training.fitting.train import train

TINY = dict(
    **TINY_ARCH,
    batch_size=16,
    progress=False,
    val_rows=0,
    conditions=("density", "syncopation", "swing"),
)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    data = write_rhythm_dataset(root / "tiny.npz", n_train=40, n_val=8, n_test=8)
    styled = train(TrainConfig(data=str(data), out=str(root / "styled"), steps=4, **TINY)).last
    plain = train(TrainConfig(data=str(data), out=str(root / "plain"), steps=2, styles=False, **TINY)).last
    return styled, plain


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_export_honours_the_onnx_contract(checkpoints, tmp_path):
    result = export_checkpoint(checkpoints[0], tmp_path / "tiny.onnx")
    assert result.max_abs_diff <= 1e-4
    session = _session(result.path)
    inputs = {i.name: i for i in session.get_inputs()}
    assert list(inputs) == ["z", "cond", "style"]
    assert inputs["z"].type == "tensor(float)" and inputs["z"].shape[1] == 8
    assert inputs["cond"].type == "tensor(float)" and inputs["cond"].shape[1] == 3
    assert inputs["style"].type == "tensor(int64)"
    assert [o.name for o in session.get_outputs()] == ["pattern"]
    for n in (1, 5, 64):  # dynamic N
        feeds = random_feeds(result.meta, n, seed=n)
        (pattern,) = session.run(["pattern"], feeds)
        assert pattern.shape == (n, 3, N_VOICES, TINY_GRID.n_steps) and pattern.dtype == np.float32
        assert pattern[:, :2].min() >= 0 and pattern[:, :2].max() <= 1 and np.abs(pattern[:, 2]).max() <= 0.5


def test_onnxruntime_matches_torch(checkpoints, tmp_path):
    path = export_checkpoint(checkpoints[0], tmp_path / "m.onnx").path
    generator, _ = generator_from_checkpoint(load_checkpoint(checkpoints[0]))
    meta = ModelMeta.from_json(_session(path).get_modelmeta().custom_metadata_map[METADATA_KEY])
    feeds = random_feeds(meta, 33, seed=99)
    (got,) = _session(path).run(["pattern"], feeds)
    with torch.no_grad():
        want = generator(*(torch.from_numpy(feeds[k]) for k in ("z", "cond", "style"))).numpy()
    assert np.abs(got - want).max() <= 1e-4


def test_metadata_follows_the_schema(checkpoints, tmp_path):
    path = export_checkpoint(checkpoints[0], tmp_path / "meta.onnx", name="groove").path
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = ModelMeta.from_json(props[METADATA_KEY])
    assert meta.format == 1 and meta.name == "groove"
    assert [v.name for v in meta.voices] == list(VOICES) and meta.voices[0].pitch == 36
    assert (meta.steps_per_beat, meta.beats_per_bar, meta.bars) == (4, 4, 2)
    assert meta.latent_dim == 8
    assert meta.condition_names == ("density", "syncopation", "swing")
    assert all(c.description and len(c.quantiles) == len(meta.quantile_probs) for c in meta.conditions)
    # the default is the training median's slider: 0.5 on a plain quantile table; swing's starts at straight
    density, syncopation, swing = meta.conditions
    assert density.default == syncopation.default == 0.5 and 0 <= swing.default < 0.5
    assert swing.quantiles[0] == 0.0 and "0 = straight" in swing.description
    assert meta.styles == ("funk", "rock")
    assert meta.hit_threshold == 0.5
    assert meta.dataset["source"] == "synthetic test grooves" and meta.dataset["counts"]["train"] == 40
    assert meta.training["steps"] == 4 and meta.training["date"]
    assert meta.training["config"]["loss"] == "hinge"


def test_model_without_styles_has_no_style_input(checkpoints, tmp_path):
    result = export_checkpoint(checkpoints[1], tmp_path / "plain.onnx")
    assert [i.name for i in _session(result.path).get_inputs()] == ["z", "cond"]
    assert result.meta.styles == ()


def test_the_graph_is_the_lean_form(checkpoints, tmp_path):
    """What the lean form promises, independent of how many layers the recipe has or how an exporter
    version spells them: one Sigmoid makes all three planes (no Tanh, no Slice), every matrix product runs
    on 2-D rows, and no shape is computed at run time (no Shape, Expand or ConstantOfShape)."""
    model = onnx.load(export_checkpoint(checkpoints[0], tmp_path / "lean.onnx").path)
    inferred = onnx.shape_inference.infer_shapes(model).graph
    ops = [node.op_type for node in inferred.node]
    assert ops.count("Sigmoid") == 1 and "Tanh" not in ops and "Slice" not in ops
    assert not {"Shape", "Expand", "ConstantOfShape"} & set(ops)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in [*inferred.value_info, *inferred.input]}
    ranks |= {init.name: len(init.dims) for init in inferred.initializer}
    products = [node for node in inferred.node if node.op_type in ("Gemm", "MatMul")]
    assert products and all(ranks.get(name) == 2 for node in products for name in node.input[:2]), [
        (node.op_type, [ranks.get(name) for name in node.input[:2]]) for node in products
    ]


def test_failed_parity_writes_nothing_and_keeps_the_old_file(checkpoints, tmp_path):
    target = tmp_path / "keep.onnx"
    target.write_bytes(b"previous model")
    with pytest.raises(ExportError, match="nothing written"):
        export_checkpoint(checkpoints[0], target, tolerance=-1.0)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable Nudge checkpoint"):
        export_checkpoint(bad, tmp_path / "x.onnx")
    torch.save({"something": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a Nudge checkpoint"):
        export_checkpoint(tmp_path / "foreign.pt", tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_export_command(checkpoints, tmp_path, capsys):
    out = tmp_path / "cli.onnx"
    assert cli_main(["export", str(checkpoints[0]), "-o", str(out)]) == 0
    assert "max |diff|" in capsys.readouterr().out and out.exists()
    assert cli_main(["export", str(tmp_path / "missing.pt"), "-o", str(out)]) == 2  # one line, no traceback
    assert (
        capsys.readouterr().err
        == f"nudge-train export: checkpoint {tmp_path / 'missing.pt'} does not exist\n"
    )
    assert cli_main(["export", str(checkpoints[0]), "-o", str(tmp_path / "x.bin")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err


def test_tiny_model_helper_for_other_tests(tmp_path):
    from companion.core.model_meta import ModelMeta as Meta
    from tests.support.rhythm_data import train_tiny_model

    path = train_tiny_model(tmp_path, styles=False)
    meta = Meta.from_json(_session(path).get_modelmeta().custom_metadata_map[METADATA_KEY])
    assert meta.condition_names == ("density", "syncopation") and meta.styles == ()


def test_a_generator_that_returns_nan_is_not_exported(checkpoints, tmp_path):
    state = load_checkpoint(checkpoints[0])
    state["generator"] = {
        k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
        for k, v in state["generator"].items()
    }
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(ExportError, match="NaN or inf"):
        export_checkpoint(tmp_path / "nan.pt", tmp_path / "nan.onnx")
    assert not (tmp_path / "nan.onnx").exists()
