"""No public function or constructor of Nudge takes more than 5 positional parameters (issue 24): beyond
that a call reads as a row of unnamed values (``f(model, clip, keep, 0.3, {}, None, 7, 64, 2)``), so the
rest are keyword-only (``*``) or travel in a record (``companion.runtime.search_request.SearchRequest``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_POSITIONAL = 5


def _positional(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [a.arg for a in node.args.posonlyargs + node.args.args]
    return [n for n in names if n not in ("self", "cls")]


def offenders(source: str, where: str) -> list[str]:
    found = []
    tree = ast.parse(source)
    public_classes = {
        n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and not n.name.startswith("_")
    }
    for parent in ast.walk(tree):
        for node in ast.iter_child_nodes(parent):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            constructor = node.name == "__init__" and getattr(parent, "name", None) in public_classes
            if (node.name.startswith("_") and not constructor) or len(_positional(node)) <= MAX_POSITIONAL:
                continue
            found.append(
                f"{where}:{node.lineno} {node.name} takes {len(_positional(node))} positional parameters"
            )
    return found


def test_no_public_function_takes_more_than_five_positional_parameters():
    found = []
    for top in ("companion", "training"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found += offenders(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_the_check_counts_parameters_as_a_caller_sees_them():
    source = (
        "def six(a, b, c, d, e, f): ...\n"
        "def keywords(a, b, c, d, e, *, f, g): ...\n"
        "def _private(a, b, c, d, e, f): ...\n"
        "class Public:\n"
        "    def __init__(self, a, b, c, d, e, f): ...\n"
        "    def method(self, a, b, c, d, e): ...\n"
        "class _Hidden:\n"
        "    def __init__(self, a, b, c, d, e, f): ...\n"
    )
    assert [o.split(" ")[1] for o in offenders(source, "x.py")] == ["six", "__init__"]
