"""fit-tools end to end on tiny data: train a few steps, export the pair, serve it; the test split is never
seen; the generator the tools were made from stays the model's Generate graph, bit for bit."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from companion.core.model_meta import METADATA_KEY
from companion.core.pattern import Pattern
from companion.runtime import tools
from companion.runtime.model import load_model
from companion.runtime.tools_model import TASKS, base_fingerprint, tools_path_for
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tools_data import GRID, tiny_base, write_tools_data
from training.cli import main as cli_main
from training.export.export import export_checkpoint
from training.export.tools_export import export_tools, tools_from_checkpoint
from training.tools.config import ToolsConfig
from training.tools.train import ToolsTrainer, fit_tools, is_tools_checkpoint, load_tools_checkpoint

SMALL = dict(
    groove_warmup_steps=2,
    enc_hidden=16,
    enc_dim=8,
    groove_hidden=16,
    batch_size=16,
    steps=3,
    val_every=3,
    checkpoint_every=3,
    drumify_descriptor_weight=1.0,
    progress=False,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tools")
    beats, fills = write_tools_data(root)
    base = tiny_base(root, beats)
    config = ToolsConfig(base=str(base), data=str(beats), fills=str(fills), out=str(root / "tools"), **SMALL)
    return root, base, fit_tools(config)


def test_a_run_writes_checkpoints_and_metrics(run):
    root, _, best = run
    assert best.exists() and (root / "tools" / "last.pt").exists() and is_tools_checkpoint(best)
    state = load_tools_checkpoint(best)
    assert state["tasks"] == list(TASKS) and state["step"] == 3
    lines = (root / "tools" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"warmup_l1"' in lines[0]  # the Groove head's warm-up, then the run
    assert '"val_drumify_f1"' in lines[1] and '"score"' in lines[1]
    assert '"loss_drumify_desc"' in lines[1] and '"groove_calibrated"' in lines[1]


def test_the_export_writes_the_unchanged_generator_and_its_tools_graph(run, tmp_path):
    _, base, best = run
    generator, tool = export_tools(best, tmp_path / "m.onnx")
    plain = export_checkpoint(base, tmp_path / "plain.onnx")
    served = load_model(generator.path)
    assert served.tools is not None and tool.path == tools_path_for(generator.path)
    stored = next(p.value for p in onnx.load(generator.path).metadata_props if p.key == METADATA_KEY)
    assert served.tools.meta.base == base_fingerprint(stored)
    feeds = {
        "z": np.ones((4, 8), np.float32),
        "cond": np.full((4, 2), 0.3, np.float32),
        "style": np.arange(4) % 2,
    }
    np.testing.assert_array_equal(  # Generate: the base generator, exactly
        served.run(feeds["z"], feeds["cond"], feeds["style"]),
        load_model(plain.path).run(feeds["z"], feeds["cond"], feeds["style"]),
    )
    clip = Pattern.from_array(_clip(), GRID)
    out = tools.fill(served, clip, {}, seed=1)
    np.testing.assert_array_equal(out.hits[:, :16], clip.hits[:, :16])


def test_one_call_reads_the_given_part_once_from_its_first_row(run, tmp_path):
    _, _, best = run
    _, tool = export_tools(best, tmp_path / "s.onnx")
    served = load_model(tools_path_for(tool.path).with_name("s.onnx")).tools
    assert served is not None
    rng = np.random.default_rng(0)
    n, t = 3, GRID.n_steps
    z, cond = rng.standard_normal((n, 8)).astype(np.float32), np.full((n, 2), 0.4, np.float32)
    style = np.array([0, 1, 2])
    known = np.zeros((n, 3, 9, t), np.float32)
    known[0, 0, 0, ::4] = known[0, 1, 0, ::4] = 1
    mask = np.ones((n, 2, 9, t), np.float32)
    rhythm = np.zeros((n, t), np.float32)
    fill = served.task_vector("fill", n)
    same = served.run(z, cond, style, known[[0, 0, 0]], mask, rhythm=rhythm, task=fill)
    other = served.run(z, cond, style, known, mask, rhythm=rhythm, task=fill)
    np.testing.assert_allclose(other, same, atol=1e-6)  # rows 1 and 2 gave nothing: row 0's given counts
    state = load_tools_checkpoint(best)
    model = tools_from_checkpoint(state)
    with torch.no_grad():
        args = [torch.from_numpy(a) for a in (z, cond, style, known[[0, 0, 0]], mask)]
        task = torch.from_numpy(fill)
        whole = model(*args, rhythm=torch.from_numpy(rhythm), task=task)
        once = model(*args, rhythm=torch.from_numpy(rhythm), task=task, shared=True)
    torch.testing.assert_close(once, whole, atol=1e-5, rtol=0)  # the same given part: the same answer
    np.testing.assert_allclose(same, whole.numpy(), atol=1e-4)


def _clip() -> np.ndarray:
    out = np.zeros((3, 9, 32), np.float32)
    out[0, 0, ::8] = out[0, 1, 4::8] = out[0, 2, ::2] = 1
    out[1] = out[0] * 0.8
    return out


def test_the_int8_export_and_the_command(run, tmp_path, capsys):
    _, _, best = run
    assert cli_main(["export", str(best), "-o", str(tmp_path / "x.onnx"), "--int8"]) == 0
    out = capsys.readouterr().out
    assert "x.tools.onnx" in out and "int8 hits agree" in out
    assert load_model(tmp_path / "x.onnx").tools is not None


def test_training_never_sees_the_test_split(run, monkeypatch):
    root, base, _ = run
    config = ToolsConfig(
        base=str(base),
        data=str(root / "beats.npz"),
        fills=str(root / "fills.npz"),
        out=str(root / "t2"),
        **SMALL,
    )
    trainer = ToolsTrainer(config)
    seen = set()
    original = trainer.batch

    def spy():
        real, cond, style, task = original()
        seen.update(map(bytes, real.numpy().astype(np.float32).reshape(len(real), -1)))
        return real, cond, style, task

    monkeypatch.setattr(trainer, "batch", spy)
    for _ in range(3):
        trainer.train_step()
    from tests.support.tools_data import make_tools_data

    beats, fills = make_tools_data()
    test_windows = {bytes(w.astype(np.float32).reshape(-1)) for w in beats.of_split("test").patterns}
    assert seen and not (seen & test_windows)
    assert torch.is_tensor(trainer.beats) and len(trainer.beats) == int((beats.split == "train").sum())
    assert len(trainer.fill_bars) == int((fills.split == "train").sum())  # fills: the train split only


def test_tools_only_writes_the_tools_graph_beside_the_generator_they_were_made_from(run, tmp_path, capsys):
    _, base, best = run
    generator = export_checkpoint(base, tmp_path / "g.onnx").path
    before = generator.read_bytes()
    assert cli_main(["export", str(best), "-o", str(generator), "--tools-only"]) == 0
    assert generator.read_bytes() == before  # the generator file stays as it was
    assert load_model(generator).tools is not None
    other = write_tiny_model(tmp_path / "o.onnx", grid=GRID)  # another generator of the same shape
    assert cli_main(["export", str(best), "-o", str(other), "--tools-only"]) == 2  # not the tools' generator
    assert "is not the generator these tools were trained from" in capsys.readouterr().err
    assert not tools_path_for(other).exists()


def test_fit_tools_refuses_bad_options_in_one_line_with_exit_2(capsys):
    """A missing --base, a non-number in --task-weights: ``nudge-train fit-tools: reason``, exit 2."""
    from training.cli import main

    assert main(["fit-tools", "--data", "d.npz", "--fills", "f.npz"]) == 2
    assert "fit-tools: --base is required" in capsys.readouterr().err
    assert main(["fit-tools", "--task-weights", "1,x"]) == 2
    assert "--task-weights takes comma-separated numbers, got '1,x'" in capsys.readouterr().err
