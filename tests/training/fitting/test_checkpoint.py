"""Reading training checkpoints back (training.fitting.checkpoint)."""

import pytest
import torch

from tests.support.rhythm_data import train_tiny_checkpoint
from training.fitting.checkpoint import CHECKPOINT_FORMAT, generator_from_checkpoint, load_checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return train_tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"))


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=r"bad\.pt: not a readable Nudge checkpoint"):
        load_checkpoint(bad)
    torch.save({"something": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match=r"foreign\.pt: not a Nudge checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_a_checkpoint_of_another_format_is_refused(tmp_path):
    torch.save({"format": CHECKPOINT_FORMAT + 1, "generator": {}}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match=f"format {CHECKPOINT_FORMAT} with a generator"):
        load_checkpoint(tmp_path / "future.pt")


def test_a_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.pt")


def test_the_generator_comes_back_with_its_trained_weights(tiny_checkpoint):
    state = load_checkpoint(tiny_checkpoint)
    generator, space = generator_from_checkpoint(state)
    assert not generator.training
    assert space.to_dict() == state["conditions"]
    for name, tensor in generator.state_dict().items():
        assert torch.equal(tensor, state["generator"][name])


def test_a_checkpoint_missing_a_key_or_with_foreign_weights_is_a_clear_error(tiny_checkpoint, tmp_path):
    state = load_checkpoint(tiny_checkpoint)
    del state["grid"]
    torch.save(state, tmp_path / "no_grid.pt")
    with pytest.raises(ValueError, match="the checkpoint lacks grid"):
        load_checkpoint(tmp_path / "no_grid.pt")
    state = load_checkpoint(tiny_checkpoint)
    state["generator"] = {k: v[..., :1] for k, v in state["generator"].items()}  # weights of other shapes
    with pytest.raises(ValueError, match="the checkpoint's generator cannot be rebuilt"):
        generator_from_checkpoint(state)


def _save_as_on_a_gpu(state, path):
    """``torch.save`` as on a GPU machine: every storage is written with the location tag ``cuda:0``.

    torch asks its registered taggers where each storage lives; one that answers ``cuda:0`` first writes
    the file a CUDA run writes (the tensors' bytes are the same; only the tag differs)."""

    def on_gpu(storage):
        return "cuda:0"

    registry = torch.serialization._package_registry
    torch.serialization.register_package(-1000, on_gpu, lambda storage, location: None)
    try:
        torch.save(state, path)
    finally:
        registry[:] = [entry for entry in registry if entry[1] is not on_gpu]


def test_a_checkpoint_saved_on_a_gpu_loads_and_exports_on_a_cpu_only_machine(tiny_checkpoint, tmp_path):
    from training.export.export import export_checkpoint

    cuda_file = tmp_path / "trained_on_cuda.pt"
    _save_as_on_a_gpu(torch.load(tiny_checkpoint, weights_only=True), cuda_file)
    if not torch.cuda.is_available():  # the file really asks for a GPU: a plain load fails here
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(cuda_file, weights_only=True)
    state = load_checkpoint(cuda_file)
    assert all(t.device.type == "cpu" for t in state["generator"].values())
    result = export_checkpoint(cuda_file, tmp_path / "from_cuda.onnx")
    assert result.path.exists() and result.max_abs_diff <= 1e-4
