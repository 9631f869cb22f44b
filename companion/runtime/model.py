"""Load and validate an exported generator: the ONNX contract plus its ``nudge`` metadata.

The one ONNX loader of Nudge: the daemon, ``nudge generate``/``info``, and training's evaluation, export
parity and int8 check all open generators here. ``load_model(path)`` (``open_model(data, path)`` for bytes
already in memory) either returns a ready ``Model`` (checked graph, parsed metadata, one warm-up run) or
raises ``ModelError`` whose message names the file and what is wrong with it: missing, unreadable, not
ONNX, wrong inputs or outputs, missing or invalid metadata. The contract is described in
``companion/core/model_meta.py``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# onnxruntime's telemetry (a device id and an event store under ~/.cache/Microsoft, written on import) is
# off unless the user turns it on: a headless helper beside a DAW should neither phone home nor write there
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # (after the switch above: it is read when the library loads)

if os.environ["ORT_DISABLE_TELEMETRY"] not in ("", "0"):
    ort.disable_telemetry_events()

from companion.core.drum_map import N_VOICES
from companion.core.errors import ModelError
from companion.core.model_meta import METADATA_KEY, ModelMeta, ModelMetaError
from companion.runtime.tools_model import ToolsError, ToolsModel, open_tools, tools_path_for

log = logging.getLogger(__name__)
MAX_MODEL_BYTES = 256 * 1024 * 1024
MAX_BATCH = 4096


def session_options(threads: int = 1) -> ort.SessionOptions:
    """Latency-first settings: one thread (the daemon answers one request at a time; ``threads=0``: one per
    core, for batch work such as evaluation), full graph optimisation, sequential execution, memory arena
    and pattern reuse for repeated batch sizes."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.log_severity_level = 3  # errors only: a corrupt file is reported by ModelError, not by ORT spam
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@dataclass(frozen=True)
class _Port:
    name: str
    type: str
    shape: tuple


def _expected_inputs(meta: ModelMeta) -> list[_Port]:
    # name     ONNX type          shape (None: the dynamic batch dimension)
    ports = [
        _Port("z", "tensor(float)", (None, meta.latent_dim)),
        _Port("cond", "tensor(float)", (None, len(meta.conditions))),
    ]
    if meta.has_styles:
        ports.append(_Port("style", "tensor(int64)", (None,)))
    return ports


def _expected_output(meta: ModelMeta) -> _Port:
    return _Port("pattern", "tensor(float)", (None, 3, N_VOICES, meta.grid.n_steps))


class Model:
    """A loaded generator. ``run(z, cond, style)`` -> float32 [N, 3, V, T] (hit prob, velocity, offset)."""

    def __init__(self, session: ort.InferenceSession, meta: ModelMeta, path: Path, meta_json: str = ""):
        self.session = session
        self.meta = meta
        self.meta_json = meta_json  # the metadata text as stored (a tools graph names its SHA-256)
        self.path = path  # where it was read from (for bytes: where it will be written)
        self.name = path.stem
        self.signature: object = None  # the file's signature when it was read (models_dir.signature)
        self.tools: ToolsModel | None = None  # NAME.tools.onnx beside it (companion.runtime.tools_model)
        self.tools_problem = ""  # why a tools graph beside it could not be used ("": none, or none there)
        self._output_names = ["pattern"]
        self._has_styles = meta.has_styles

    def __repr__(self) -> str:
        return f"Model({self.name!r}, bars={self.meta.bars}, conditions={list(self.meta.condition_names)})"

    def run(self, z: np.ndarray, cond: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        """z float32 [N, latent_dim]; cond float32 [N, n_conditions] in 0..1; style int64 [N] if styled."""
        n = len(z)
        meta = self.meta
        if not 0 < n <= MAX_BATCH:
            raise ValueError(f"batch size must be in 1..{MAX_BATCH}, got {n}")
        if z.dtype != np.float32 or z.shape != (n, meta.latent_dim):
            raise ValueError(f"z must be float32 [N, {meta.latent_dim}], got {z.dtype} {z.shape}")
        if cond.dtype != np.float32 or cond.shape != (n, len(meta.conditions)):
            raise ValueError(
                f"cond must be float32 [N, {len(meta.conditions)}], got {cond.dtype} {cond.shape}"
            )
        feeds = {"z": z, "cond": cond}
        if self._has_styles:
            if style is None or style.dtype != np.int64 or style.shape != (n,):
                raise ValueError("style must be int64 [N] for a model with styles")
            feeds["style"] = style
        elif style is not None:
            raise ValueError("this model has no styles; style must be None")
        return self.session.run(self._output_names, feeds)[0]


def load_model(path: str | os.PathLike, threads: int = 1, tools: bool = True) -> Model:
    """Load, check and warm up the model at ``path``; raises ``ModelError`` naming what is wrong.

    With ``tools``, its tools graph ``NAME.tools.onnx`` beside it is loaded and checked too when there is
    one (``Model.tools``). One that fails a check (made for another generator: a new generator copied over
    an old one; a broken file) leaves the generator serving without it, the reason in ``Model.tools_problem``
    and the log: Generate and Nudge go on, the tools say why they cannot.

    onnxruntime reads the file by its path: from bytes, its Python binding holds the GIL while it copies
    and parses them (0.4 s for 250 MB, every other thread of the daemon stalled), from a path it does not.
    (External data files are refused by onnxruntime outside the model's folder.)
    """
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise ModelError(f"{where}: model file not found")
    if not path.is_file():
        raise ModelError(f"{where}: not a file")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ModelError(f"{where}: cannot read the file ({error.strerror or error})") from error
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{where}: file is {size} bytes, larger than the {MAX_MODEL_BYTES} allowed")
    if not size:
        raise ModelError(f"{where}: file is empty, not an ONNX model")
    if not _utf8(where):  # onnxruntime takes only UTF-8 paths: read such a file ourselves
        try:
            model = open_model(path.read_bytes(), path, threads)
        except OSError as error:
            raise ModelError(f"{where}: cannot read the file ({error.strerror or error})") from error
    else:
        model = _open(where, path, threads)
    if tools:
        try:
            model.tools = load_tools(model, threads)
        except ModelError as error:  # the generator serves on; the tools say why they cannot (tools_problem)
            model.tools_problem = str(error)
            log.warning("%s: served without its tools graph: %s", path, error)
    return model


def load_tools(model: Model, threads: int = 1) -> ToolsModel | None:
    """The tools graph beside ``model``'s file, checked against it; None when there is none."""
    path = tools_path_for(model.path)
    if not path.exists() and not path.is_symlink():
        return None
    where = str(path)
    try:
        inside = path.resolve(strict=True).parent == model.path.resolve(strict=True).parent
    except (OSError, RuntimeError):  # a dangling link or a loop of links
        inside = False
    if not inside or not path.is_file():
        raise ModelError(f"{where}: not a regular file in the model's folder (links out of it are refused)")
    try:
        size = path.stat().st_size
        if not 0 < size <= MAX_MODEL_BYTES:
            raise ModelError(f"{where}: file is {size} bytes; a tools graph is 1..{MAX_MODEL_BYTES}")
        source: str | bytes = where if _utf8(where) else path.read_bytes()
    except OSError as error:
        raise ModelError(f"{where}: cannot read the file ({error.strerror or error})") from error
    try:
        session = ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unparsable graphs
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ModelError(f"{where}: not a loadable ONNX tools graph ({reason})") from error
    try:
        return open_tools(session, path, model.meta, model.meta_json)
    except ToolsError as error:
        raise ModelError(str(error)) from error
    except Exception as error:  # a hostile file must end in ModelError, never in an internal error
        raise ModelError(f"{where}: cannot be used ({type(error).__name__}: {str(error)[:300]})") from error


def open_model(data: bytes, path: str | os.PathLike, threads: int = 1) -> Model:
    """``load_model`` for a graph already in memory; ``path`` names it (in errors, and ``Model.name``)."""
    if not data:
        raise ModelError(f"{path}: file is empty, not an ONNX model")
    return _open(data, Path(path), threads)


def _open(source: str | bytes, path: Path, threads: int) -> Model:
    """The session from a file name or the graph's bytes, then the checks and the warm-up."""
    where = str(path)
    try:
        session = ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unparsable graphs
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ModelError(f"{where}: not a loadable ONNX model ({reason})") from error
    try:
        meta, meta_json = _read_meta(session, where)
        _check_ports(session, meta, where)
        model = Model(session, meta, path, meta_json)
        _warm_up(model, where)
    except ModelError:
        raise
    except Exception as error:  # a hostile file must end in ModelError, never in an internal error
        raise ModelError(f"{where}: cannot be used ({type(error).__name__}: {str(error)[:300]})") from error
    return model


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name read with surrogate escapes
        return False
    return True


def _read_meta(session: ort.InferenceSession, where: str) -> tuple[ModelMeta, str]:
    try:
        props = session.get_modelmeta().custom_metadata_map
    except UnicodeDecodeError as error:
        raise ModelError(f"{where}: metadata_props are not UTF-8 text ({error.reason})") from error
    if METADATA_KEY not in props:
        raise ModelError(
            f"{where}: metadata_props has no '{METADATA_KEY}' entry (not exported by nudge-train?)"
        )
    try:
        meta = ModelMeta.from_json(props[METADATA_KEY])
    except ModelMetaError as error:
        raise ModelError(f"{where}: {error}") from error
    if len(meta.voices) != N_VOICES:
        raise ModelError(
            f"{where}: metadata field 'voices' must list {N_VOICES} voices, got {len(meta.voices)}"
        )
    return meta, props[METADATA_KEY]


def _describe(port: Any) -> str:  # an onnxruntime NodeArg
    return f"{port.name} {port.type} {list(port.shape)}"


def _shape_matches(actual: list, expected: tuple) -> bool:
    if len(actual) != len(expected):
        return False
    # the batch dimension must be dynamic (a name or None); the others must equal the contract
    return not isinstance(actual[0], int) and all(
        a == e for a, e in zip(actual[1:], expected[1:], strict=True)
    )


def _check_ports(session: ort.InferenceSession, meta: ModelMeta, where: str) -> None:
    actual = {port.name: port for port in session.get_inputs()}
    expected = _expected_inputs(meta)
    names = [p.name for p in expected]
    if sorted(actual) != sorted(names):
        raise ModelError(
            f"{where}: inputs must be {names} (style only for models with styles), got {sorted(actual)}"
        )
    for port in expected:
        got = actual[port.name]
        if got.type != port.type or not _shape_matches(list(got.shape), port.shape):
            want = f"{port.type} [N, {', '.join(str(d) for d in port.shape[1:])}]".replace(" [N, ]", " [N]")
            raise ModelError(f"{where}: input '{port.name}' must be {want}, got {_describe(got)}")
    outputs = session.get_outputs()
    contract = _expected_output(meta)
    if len(outputs) != 1 or outputs[0].name != contract.name:
        raise ModelError(f"{where}: must have exactly one output 'pattern', got {[o.name for o in outputs]}")
    output = outputs[0]
    shape = list(output.shape)
    static_ok = len(shape) == 4 and all(
        not isinstance(a, int) or a == e for a, e in zip(shape[1:], contract.shape[1:], strict=True)
    )
    if output.type != contract.type or not static_ok:
        raise ModelError(
            f"{where}: output 'pattern' must be tensor(float) [N, 3, {N_VOICES}, {contract.shape[3]}], "
            f"got {_describe(output)}"
        )


def warm_up_inputs(meta: ModelMeta) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A batch that covers every declared input range: each style index with the default sliders, then
    every slider at 0 and at 1 (all together and each alone), at z = 0 and z = +-3 (the far tails of the
    latent's normal). z float32 [N, latent_dim], cond float32 [N, n_conditions], style int64 [N] or None."""
    n_cond = len(meta.conditions)
    defaults = meta.defaults().astype(np.float32)
    conds = [defaults] * max(1, len(meta.styles))  # one row per style index
    styles = list(range(len(meta.styles))) or [0]
    corners = [np.zeros(n_cond, np.float32), np.ones(n_cond, np.float32)]
    for i in range(n_cond):
        for value in (0.0, 1.0):
            row = defaults.copy()
            row[i] = value
            corners.append(row)
    conds += corners
    styles += [k % max(1, len(meta.styles)) for k in range(len(corners))]
    n = len(conds)
    z = np.zeros((n, meta.latent_dim), np.float32)
    z[n - 2 :] = [[3.0], [-3.0]] if n >= 2 else 0.0
    style = np.asarray(styles, np.int64) if meta.has_styles else None
    return z, np.stack(conds).reshape(n, n_cond), style


def _warm_up(model: Model, where: str) -> None:
    """One batch over every declared input range (``warm_up_inputs``): proves the graph executes for every
    style and slider the metadata offers, and that its real output shape and values hold."""
    meta = model.meta
    z, cond, style = warm_up_inputs(meta)
    n = len(z)
    try:
        out = model.run(z, cond, style)
    except Exception as error:  # onnxruntime's runtime failures have no common public base class
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        styles = f"style indices 0..{len(meta.styles) - 1}, " if meta.has_styles else ""
        raise ModelError(
            f"{where}: the generator fails on its declared inputs ({styles}every slider at 0 and 1): {first}"
        ) from error
    want = (n, 3, N_VOICES, meta.grid.n_steps)
    if not isinstance(out, np.ndarray) or out.shape != want or out.dtype != np.float32:
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ModelError(f"{where}: output 'pattern' must be float32 {list(want)} for N={n}, got {got}")
    if not np.all(np.isfinite(out)):
        raise ModelError(f"{where}: the generator returns NaN or inf on a test input")


def random_feeds(meta: ModelMeta, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random inputs for the graph of ``meta``: z ~ N(0, 1), cond ~ U(0, 1), style uniform."""
    rng = np.random.default_rng(seed)
    feeds = {
        "z": rng.standard_normal((n, meta.latent_dim)).astype(np.float32),  # [N, L]
        "cond": rng.random((n, len(meta.conditions))).astype(np.float32),  # [N, C]
    }
    if meta.has_styles:
        feeds["style"] = rng.integers(0, len(meta.styles), n).astype(np.int64)  # [N]
    return feeds
