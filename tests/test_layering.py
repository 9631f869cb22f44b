"""The data path reads one way: training imports companion, never the reverse; the daemon needs no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPANION_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "companion").rglob("*.py")
    if p.name != "__init__.py"
)


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_companion_never_imports_training_or_torch_in_source():
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            _imported_roots(p) & {"training", "torch", "spotipy", "tqdm", "matplotlib"}
        )
        for p in (ROOT / "companion").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}, f"companion must stay light (numpy + onnxruntime): {offenders}"


def test_importing_every_companion_module_loads_no_torch():
    code = (
        "import importlib, sys\n"
        f"for name in {COMPANION_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = sorted(m for m in ('torch', 'training', 'spotipy', 'matplotlib') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing companion pulled in: {result.stdout.strip()}"
