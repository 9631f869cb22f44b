"""Package docstrings are the map of a package: each names every module in it (issue 24: six were missing
and one named a module that had moved)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _packages() -> list[Path]:
    return sorted(p.parent for top in ("companion", "training") for p in (ROOT / top).rglob("__init__.py"))


def test_every_package_docstring_names_each_of_its_modules_and_packages():
    missing = []
    for package in _packages():
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        named = set(re.findall(r"``([a-z_]+)``", doc))
        members = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
        members |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
        missing += [f"{package.relative_to(ROOT)}: {name}" for name in sorted(members - named)]
    assert missing == []


def test_a_package_docstring_names_no_module_that_is_not_there():
    stale = []
    for package in _packages():
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        for name in re.findall(r"^- ``([a-z_]+)``", doc, flags=re.MULTILINE):
            if not (package / f"{name}.py").is_file() and not (package / name / "__init__.py").is_file():
                stale.append(f"{package.relative_to(ROOT)}: {name}")
    assert stale == []
