"""The models folder: listing, loading by name, polling for new and changed files."""

from __future__ import annotations

import os

import pytest

from companion.runtime.model import ModelError
from companion.runtime.models_dir import ModelsDir
from tests.support.tiny_onnx import write_tiny_model


def test_lists_onnx_files_by_name_and_skips_the_rest(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    write_tiny_model(tmp_path / "funk-2.onnx")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".default.onnx.abc.tmp").write_bytes(b"half")  # an atomic write in progress
    (tmp_path / "sub.onnx").mkdir()
    assert ModelsDir(tmp_path).names() == ["default", "funk-2"]


def test_missing_folder_lists_nothing(tmp_path):
    assert ModelsDir(tmp_path / "nope").names() == []


def test_load_by_name_and_errors(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    models = ModelsDir(tmp_path)
    assert models.load("default").name == "default"
    with pytest.raises(ModelError, match=r"no model 'other' in .* \(available: default\)"):
        models.load("other")
    with pytest.raises(ModelError, match="is not a model name"):
        models.load("../default")
    (tmp_path / "bad.onnx").write_bytes(b"nonsense")
    with pytest.raises(ModelError, match=r"bad\.onnx: not a loadable ONNX model"):
        models.load("bad")


def test_poll_reports_new_and_changed_files_once(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    models = ModelsDir(tmp_path)
    assert models.poll() == []
    write_tiny_model(tmp_path / "new.onnx")
    assert models.poll() == ["new"]
    assert models.poll() == []
    path = tmp_path / "default.onnx"
    stat = path.stat()
    write_tiny_model(path, seed=3)  # same size, different content: the mtime tells
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert models.poll() == ["default"]
    (tmp_path / "new.onnx").unlink()
    assert models.poll() == []
    assert models.names() == ["default"]


# -- links, names and quiet replacements (issue 17, finding 7) -------------------------------------------


def test_links_out_of_the_folder_are_not_models_and_never_opened(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    write_tiny_model(folder / "default.onnx")
    write_tiny_model(tmp_path / "outside.onnx")  # a loadable model, but not in the folder
    (folder / "passwd.onnx").symlink_to("/etc/passwd")
    (folder / "away.onnx").symlink_to(tmp_path / "outside.onnx")
    (folder / "alias.onnx").symlink_to(folder / "default.onnx")  # inside: fine
    models = ModelsDir(folder)
    assert models.names() == ["alias", "default"]
    for name in ("passwd", "away"):
        with pytest.raises(ModelError, match=r"a symbolic link out of .*models; only files in it are models"):
            models.load(name)
    assert models.load("alias").name == "alias"


def test_a_name_with_a_trailing_newline_is_not_a_model_name(tmp_path):
    write_tiny_model(tmp_path / "default.onnx")
    models = ModelsDir(tmp_path)
    with pytest.raises(ModelError, match="is not a model name"):
        models.load("default\n")
    write_tiny_model(tmp_path / "odd\n.onnx")
    assert models.names() == ["default"]


def test_a_same_size_copy_that_keeps_the_modification_time_is_noticed(tmp_path):
    path = tmp_path / "default.onnx"
    write_tiny_model(path)
    models = ModelsDir(tmp_path)
    before = path.stat()
    write_tiny_model(tmp_path / "other.onnx", seed=3)
    replacement = (tmp_path / "other.onnx").read_bytes()
    (tmp_path / "other.onnx").unlink()
    assert models.poll() == []
    assert len(replacement) == before.st_size
    with open(path, "r+b") as handle:  # what `cp -p other.onnx default.onnx` does: in place, then utime
        handle.write(replacement)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == before.st_size
    assert models.poll() == ["default"]
