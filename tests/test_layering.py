"""The layers of Nudge, read from the import statements of every file (top-level and inside functions).

    companion.core      <- companion.runtime <- companion.osc  <- companion.commands, companion.cli
    companion.core      <- companion.live
    companion.core      <- companion.audio   (the audio extra's libraries imported inside functions only)
    companion.core, companion.runtime, companion.audio <- training  (never the OSC protocol, live MIDI or
                                                                     the commands)

inside companion.runtime, the search (each may import only the runtime modules named):

    search_request, model <- candidates <- engine, lock <- search   (engine and lock never import each other)

and inside training, its rooms (each may also import companion.core and companion.runtime):

    training.dataset <- training.conditions <- training.evaluation <- training.fitting <- training.tools
        <- training.export
    training.dataset <- training.ingest, training.spotify (the data sources)
    training.spotify <- training.audio (local-audio records, GMD renders, the beat model, its evaluation)
    all of them <- training.commands, training.cli

Each layer imports only the layers it builds on (a test per rule fails naming file and import); no module
takes part in an import circle; the daemon needs no torch.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPANION_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "companion").rglob("*.py")
    if p.name != "__init__.py"
)

# layer (a module-name prefix) -> the Nudge layers its files may import
ALLOWED: dict[str, tuple[str, ...]] = {
    "companion.core": ("companion.core",),
    "companion.runtime": ("companion.core", "companion.runtime"),
    "companion.osc": ("companion", "companion.core", "companion.runtime", "companion.osc"),
    "companion.live": ("companion.core", "companion.live"),
    "companion.audio": ("companion.core", "companion.audio"),
    "training.dataset": ("companion.core", "companion.runtime", "training.dataset"),
    "training.conditions": ("companion.core", "companion.runtime", "training.dataset", "training.conditions"),
    "training.ingest": (
        "companion.core",
        "companion.runtime",
        "training.dataset",
        "training.ingest",
        "training.spotify",
    ),
    "training.spotify": ("companion.core", "companion.runtime", "training.dataset", "training.spotify"),
    "training.audio": (
        "companion.core",
        "companion.audio",
        "training.dataset",
        "training.spotify",
        "training.audio",
    ),
    "training.evaluation": (
        "companion.core",
        "companion.runtime",
        "training.dataset",
        "training.conditions",
        "training.evaluation",
    ),
    "training.fitting": (
        "companion.core",
        "companion.runtime",
        "training.dataset",
        "training.conditions",
        "training.evaluation",
        "training.fitting",
    ),
    "training.tools": (
        "companion.core",
        "companion.runtime",
        "training.dataset",
        "training.conditions",
        "training.evaluation",
        "training.fitting",
        "training.tools",
    ),
    "training.export": (
        "companion.core",
        "companion.runtime",
        "training.conditions",
        "training.evaluation",  # the model card's figure tables (training/export/card.py)
        "training.fitting",
        "training.tools",
        "training.export",
    ),
}
ALLOWED["training"] = (  # training.cli and training.commands: the top of training, any room
    "companion.core",
    "companion.runtime",
    "companion.audio",
    *(layer for layer in ALLOWED if layer.startswith("training")),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source_files() -> list[Path]:
    return sorted(p for top in ("companion", "training") for p in (ROOT / top).rglob("*.py"))


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every Nudge module ``path`` imports, anywhere in the file (``from pkg import mod``: ``pkg.mod``)."""
    found = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base)
    return {name for name in found if name.split(".")[0] in ("companion", "training")}


def _layer(module: str, layers) -> str | None:
    matches = [layer for layer in layers if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


GRAPH = {_module_name(p): _imports(p) for p in _source_files()}


def _offenders(graph: dict[str, set[str]]) -> list[str]:
    offenders = []
    for module, imported in sorted(graph.items()):
        layer = _layer(module, ALLOWED)
        if layer is None:  # companion.commands, companion.cli, the package itself: the top, anything goes
            continue
        for name in sorted(imported):
            target = _layer(name, ("companion", *ALLOWED, "companion.commands", "companion.cli"))
            if target not in ALLOWED[layer]:
                offenders.append(f"{module} imports {name} ({layer} may import {', '.join(ALLOWED[layer])})")
    return offenders


def _circles(graph: dict[str, set[str]]) -> list[str]:
    """Depth-first search over module -> imported modules; every back edge closes a circle."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(graph.get(module, ())):
            if name not in graph or name == module:
                continue
            if state.get(name) == 1:
                circles.append(" -> ".join([*path[path.index(name) :], name]))
            elif name not in state:
                visit(name, [*path, name])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return circles


def test_every_layer_imports_only_the_layers_below_it():
    assert _offenders(GRAPH) == []


def test_no_import_circles():
    assert _circles(GRAPH) == []


# companion.runtime's search: module -> the runtime modules it may import
SEARCH_MODULES: dict[str, tuple[str, ...]] = {
    "companion.runtime.search_request": (),
    "companion.runtime.candidates": ("companion.runtime.model",),
    "companion.runtime.engine": (
        "companion.runtime.model",
        "companion.runtime.candidates",
        "companion.runtime.search_request",
    ),
    "companion.runtime.lock": (
        "companion.runtime.model",
        "companion.runtime.candidates",
        "companion.runtime.search_request",
    ),
    "companion.runtime.search": (
        "companion.runtime.model",
        "companion.runtime.candidates",
        "companion.runtime.search_request",
        "companion.runtime.engine",
        "companion.runtime.lock",
    ),
}


def _search_offenders(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {name}"
        for module, allowed in SEARCH_MODULES.items()
        for name in sorted(graph.get(module, ()))
        if name.startswith("companion.runtime.") and name not in allowed
    ]


def test_the_search_and_the_voice_lock_share_primitives_and_never_import_each_other():
    assert set(SEARCH_MODULES) <= set(GRAPH), "a module of the table is gone: update SEARCH_MODULES"
    assert _search_offenders(GRAPH) == []
    back_and_forth = {"companion.runtime.engine": {"companion.runtime.lock"}, "companion.runtime.lock": set()}
    assert _search_offenders(back_and_forth) == ["companion.runtime.engine imports companion.runtime.lock"]


def test_the_checks_find_upward_imports_and_circles():
    graph = {
        "companion.core.notes": {"companion.core.pattern", "companion.osc.replies"},
        "companion.runtime.models_dir": {"companion.osc.api"},
        "companion.osc.dispatch": {"companion.runtime.model", "companion.core.notes"},
        "training.export.export": {
            "companion.core.pattern",
            "companion.runtime.model",
            "companion.live.player",
        },
        "training.evaluation.evaluate": {"companion.osc.replies"},
        "companion.commands.serve": {"companion.osc.dispatch", "companion.live.options"},
        "companion.osc.api": {"companion.osc.api_doc"},
        "companion.osc.api_doc": {"companion.osc.api"},
    }
    assert [o.split(" (")[0] for o in _offenders(graph)] == [
        "companion.core.notes imports companion.osc.replies",
        "companion.runtime.models_dir imports companion.osc.api",
        "training.evaluation.evaluate imports companion.osc.replies",
        "training.export.export imports companion.live.player",
    ]
    assert _circles(graph) == ["companion.osc.api -> companion.osc.api_doc -> companion.osc.api"]


def test_training_names_the_generator_parts_instead_of_indexing_its_layers():
    indexing = re.compile(r"\.(trunk|decoder)\[")
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "training").rglob("*.py")
        if p.name != "model.py" and indexing.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"use the Generator's named parts (training/fitting/model.py): {offenders}"


def _top_level_roots(path: Path) -> set[str]:
    """Packages imported at module level (not inside a function)."""
    roots = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_optional_extras_in_companion_are_imported_lazily():
    for rel, extras in OPTIONAL_IN_COMPANION.items():
        assert not _top_level_roots(ROOT / rel) & extras, f"{rel} must import {extras} inside functions"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


# optional extras a companion module may import lazily (inside a function, never at module level)
AUDIO_EXTRA = {"soundfile", "soxr", "audioread"}  # the [audio] extra, as companion/audio imports it
OPTIONAL_IN_COMPANION = {
    "companion/core/piano_roll.py": {"matplotlib"},  # nudge generate --png ([png])
    **{f"companion/audio/{p.name}": AUDIO_EXTRA for p in sorted((ROOT / "companion" / "audio").glob("*.py"))},
}


def test_companion_never_imports_training_or_torch_in_source():
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            _imported_roots(p)
            & {"training", "torch", "spotipy", "tqdm", "matplotlib"}
            - OPTIONAL_IN_COMPANION.get(p.relative_to(ROOT).as_posix(), set())
        )
        for p in (ROOT / "companion").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}, f"companion must stay light (numpy + onnxruntime): {offenders}"


def test_the_daemon_imports_only_its_runtime_dependencies():
    """What pyproject lists for the runtime is what companion imports (python-osc is for tests and bench);
    optional extras only where ``OPTIONAL_IN_COMPANION`` allows them, inside functions."""
    third_party = set()
    for p in (ROOT / "companion").rglob("*.py"):
        third_party |= _imported_roots(p) - set(sys.stdlib_module_names) - {"companion", "__future__"}
        third_party -= OPTIONAL_IN_COMPANION.get(p.relative_to(ROOT).as_posix(), set())
    assert third_party == {"numpy", "onnxruntime", "mido", "rtmidi", "jack"}  # jack: JACK-Client


def test_importing_every_companion_module_loads_no_torch():
    code = (
        "import importlib, sys\n"
        f"for name in {COMPANION_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = sorted(m for m in ('torch', 'training', 'spotipy', 'matplotlib', 'librosa', 'soundfile',"
        " 'numba') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing companion pulled in: {result.stdout.strip()}"


def test_the_tests_are_laid_out_like_the_package():
    """tests/<room>/ mirrors companion/<room>/, tests/training/<room>/ mirrors training/<room>/."""
    packages = {"max_for_live": ROOT / "max_for_live", "training": ROOT / "training"}
    for folder in sorted(p for p in (ROOT / "tests").rglob("*") if p.is_dir() and p.name != "__pycache__"):
        rel = folder.relative_to(ROOT / "tests")
        if rel.parts[0] == "support":
            continue
        top = packages.get(rel.parts[0], ROOT / "companion" / rel.parts[0])
        source = top.joinpath(*rel.parts[1:])
        assert source.is_dir(), f"tests/{rel.as_posix()} mirrors no package folder (looked for {source})"
