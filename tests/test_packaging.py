"""The shipped model reaches the wheel from the one copy in models/ (setup.py, MANIFEST.in), and the runtime
finds it inside an installed package first (the full check builds and installs the wheel:
scripts/wheel_check.sh, run by scripts/test.sh)."""

from __future__ import annotations

import ast
import importlib.resources
import re
import subprocess
from pathlib import Path

from companion.runtime import models_dir

ROOT = Path(__file__).resolve().parents[1]


def _shipped() -> tuple[str, ...]:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    [value] = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id == "SHIPPED"
    ]
    return tuple(ast.literal_eval(value))


def test_every_shipped_file_is_in_models_and_in_the_sdist():
    shipped = _shipped()
    assert "default.onnx" in shipped and "MODEL_CARD.md" in shipped  # the model and its data credit
    lines = [
        line for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines() if line[:1] != "#"
    ]
    manifest = set(re.findall(r"models/\S+", "\n".join(lines)))
    assert manifest == {f"models/{name}" for name in shipped}
    for name in shipped:
        assert (ROOT / "models" / name).is_file(), name


def test_models_a_user_exports_are_ignored_by_git_and_the_default_is_not(tmp_path):
    def ignored(path: str) -> bool:
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        return done.returncode == 0

    assert ignored("models/my_groove.onnx") and ignored("models/default.int8.onnx")
    assert not ignored("models/default.onnx") and not ignored("models/default.tools.onnx")


def test_the_package_data_wins_over_the_source_tree(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "companion"
    (package / "models").mkdir(parents=True)
    monkeypatch.setattr(importlib.resources, "files", lambda name: package)
    assert models_dir.shipped_models_dir() == ROOT / "models"  # no model in the package: the checkout's
    (package / "models" / "default.onnx").write_bytes(b"onnx")
    assert models_dir.shipped_models_dir() == package / "models"
    assert models_dir.default_model_path(tmp_path) == tmp_path / "default.onnx"
