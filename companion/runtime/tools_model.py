"""The tools graph beside a generator: ``NAME.tools.onnx`` next to ``NAME.onnx``.

The generator (``NAME.onnx``) draws whole patterns; its tools graph fills in what a request leaves open
(Groove, Drumify, Continue, Fill: ``companion.runtime.tools``). It is the same generator trained further to
complete masked patterns (``training/tools``), exported as a graph of its own so that the plain Generate
path stays exactly as small and fast as it was.

ONNX contract of a tools graph (checked here):

- inputs: ``z`` float32 [N, latent_dim], ``cond`` float32 [N, n_conditions] (the generator's),
  ``style`` int64 [N] in 0..n_styles (``n_styles`` = style unknown; only for models with styles),
  ``known`` float32 [N, 3, V, T] (the given planes: hit 0/1, velocity, offset; 0 where not given),
  ``mask`` float32 [N, 2, V, T] (1 where the hit / the velocity and offset of a cell are given),
  ``rhythm`` float32 [N, T] (onset strength 0..1 of a rhythm the hits must follow; 0 elsewhere),
  ``task`` float32 [N, n_tasks] (one-hot, in ``TASKS`` order);
- output: ``pattern`` float32 [N, 3, V, T], as the generator's.

One call is one request: the given part (``known``, ``mask``, ``rhythm``, ``task`` and which sliders are
given, ``cond`` >= 0) is the first row's for every row (the graph reads it once, so N candidates cost
little more than the generator's N samples); ``z``, the slider values and ``style`` are read per row.
``companion.runtime.completion.complete`` makes every call so.

Metadata: ``metadata_props["nudge_tools"]`` (``ToolsMeta``): format, the tasks in input order, the style
index that means "unknown", and ``base``: the SHA-256 of the generator's own ``nudge`` metadata, so a tools
graph is only ever used with the generator it was trained from.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.core.drum_map import N_VOICES
from companion.core.errors import ModelError, UsageError
from companion.core.model_meta import ModelMeta

if TYPE_CHECKING:
    import onnxruntime as ort

TOOLS_SUFFIX = ".tools.onnx"
TOOLS_METADATA_KEY = "nudge_tools"
TOOLS_FORMAT = 1
# task      what the graph is asked for
TASKS: tuple[str, ...] = (
    "generate",  # nothing given
    "groove",  # every hit given: velocities and micro-timing wanted
    "continue",  # the first bars given whole: the rest wanted
    "fill",  # every bar but the last given: a fill wanted in the last
    "drumify",  # a rhythm given: drums whose onsets follow it
)
MAX_TOOLS_BYTES = 64 * 1024 * 1024


class ToolsError(ModelError):
    """A tools graph cannot be used; the message names the file and the reason."""


def base_fingerprint(meta_json: str) -> str:
    """The SHA-256 (hex) of a generator's ``nudge`` metadata text: what ties a tools graph to it."""
    return hashlib.sha256(meta_json.encode("utf-8")).hexdigest()


def tools_path_for(model_path: str | os.PathLike) -> Path:
    """``models/x.onnx`` -> ``models/x.tools.onnx``."""
    path = Path(model_path)
    return path.with_name(path.stem + TOOLS_SUFFIX)


def is_tools_file(name: str) -> bool:
    return name.endswith(TOOLS_SUFFIX)


@dataclass(frozen=True)
class ToolsMeta:
    tasks: tuple[str, ...]
    base: str  # base_fingerprint of the generator's metadata
    unknown_style: int  # the style index meaning "unknown" (n_styles), 0 for a model without styles
    training: dict[str, Any] = field(default_factory=dict)
    format: int = TOOLS_FORMAT

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "tasks": list(self.tasks),
            "base": self.base,
            "unknown_style": self.unknown_style,
            "training": self.training,
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ToolsMeta:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"metadata '{TOOLS_METADATA_KEY}' is not valid JSON ({error})") from error
        if not isinstance(data, dict):
            raise ValueError(f"metadata '{TOOLS_METADATA_KEY}' must be a JSON object")
        if data.get("format") != TOOLS_FORMAT:
            raise ValueError(
                f"tools format {data.get('format')!r} is not supported (this Nudge reads {TOOLS_FORMAT})"
            )
        tasks = data.get("tasks")
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
            raise ValueError("metadata field 'tasks' must be a non-empty list of task names")
        if list(tasks) != list(TASKS[: len(tasks)]):
            raise ValueError(f"metadata field 'tasks' must be {list(TASKS)} (or a start of it), got {tasks}")
        base, unknown = data.get("base"), data.get("unknown_style")
        if not isinstance(base, str) or len(base) != 64:
            raise ValueError("metadata field 'base' must be the generator's SHA-256 (64 hex digits)")
        if isinstance(unknown, bool) or not isinstance(unknown, int) or not 0 <= unknown <= 4096:
            raise ValueError("metadata field 'unknown_style' must be an int in 0..4096")
        training = data.get("training", {})
        if not isinstance(training, dict):
            raise ValueError("metadata field 'training' must be an object")
        return cls(tuple(tasks), base, unknown, training)


class ToolsModel:
    """A loaded tools graph. ``run(...)`` -> float32 [N, 3, V, T]."""

    def __init__(self, session: ort.InferenceSession, meta: ToolsMeta, base: ModelMeta, path: Path) -> None:
        self.session = session
        self.meta = meta
        self.base = base
        self.path = path

    def task_vector(self, task: str, n: int) -> np.ndarray:
        """One-hot [N, n_tasks] for ``task``."""
        if task not in self.meta.tasks:
            raise UsageError(f"this tools graph has no task {task!r}; it has {list(self.meta.tasks)}")
        onehot = np.zeros((n, len(self.meta.tasks)), dtype=np.float32)
        onehot[:, self.meta.tasks.index(task)] = 1
        return onehot

    def run(
        self,
        z: np.ndarray,
        cond: np.ndarray,
        style: np.ndarray | None,
        known: np.ndarray,
        mask: np.ndarray,
        *,
        rhythm: np.ndarray,
        task: np.ndarray,
    ) -> np.ndarray:
        """Every input batched over N (shapes in the module docstring)."""
        n, t = len(z), self.base.grid.n_steps
        expected = {
            "z": (z, (n, self.base.latent_dim)),
            "cond": (cond, (n, len(self.base.conditions))),
            "known": (known, (n, 3, N_VOICES, t)),
            "mask": (mask, (n, 2, N_VOICES, t)),
            "rhythm": (rhythm, (n, t)),
            "task": (task, (n, len(self.meta.tasks))),
        }
        feeds = {}
        for name, (array, shape) in expected.items():
            if array.dtype != np.float32 or array.shape != shape:
                raise ValueError(f"{name} must be float32 {list(shape)}, got {array.dtype} {array.shape}")
            feeds[name] = array
        if self.base.has_styles:
            if style is None or style.dtype != np.int64 or style.shape != (n,):
                raise ValueError("style must be int64 [N] for a model with styles")
            feeds["style"] = style
        return self.session.run(["pattern"], feeds)[0]


def _expected_inputs(base: ModelMeta, n_tasks: int) -> dict[str, tuple[str, tuple]]:
    t = base.grid.n_steps
    ports = {
        "z": ("tensor(float)", (base.latent_dim,)),
        "cond": ("tensor(float)", (len(base.conditions),)),
        "known": ("tensor(float)", (3, N_VOICES, t)),
        "mask": ("tensor(float)", (2, N_VOICES, t)),
        "rhythm": ("tensor(float)", (t,)),
        "task": ("tensor(float)", (n_tasks,)),
    }
    if base.has_styles:
        ports["style"] = ("tensor(int64)", ())
    return ports


def open_tools(session: ort.InferenceSession, path: Path, base: ModelMeta, base_json: str) -> ToolsModel:
    """Check an onnxruntime session of a tools graph against the generator it should belong to."""
    where = str(path)
    props = session.get_modelmeta().custom_metadata_map
    if TOOLS_METADATA_KEY not in props:
        raise ToolsError(f"{where}: metadata_props has no '{TOOLS_METADATA_KEY}' entry (not a tools graph)")
    try:
        meta = ToolsMeta.from_json(props[TOOLS_METADATA_KEY])
    except ValueError as error:
        raise ToolsError(f"{where}: {error}") from error
    if meta.base != base_fingerprint(base_json):
        raise ToolsError(
            f"{where}: made for another generator than {path.name.removesuffix(TOOLS_SUFFIX)}.onnx "
            "(export the model and its tools graph together: nudge-train export --tools)"
        )
    if meta.unknown_style != len(base.styles):
        raise ToolsError(f"{where}: unknown_style must be {len(base.styles)} (the generator's style count)")
    expected = _expected_inputs(base, len(meta.tasks))
    actual = {port.name: port for port in session.get_inputs()}
    if sorted(actual) != sorted(expected):
        raise ToolsError(f"{where}: inputs must be {sorted(expected)}, got {sorted(actual)}")
    for name, (kind, dims) in expected.items():
        port = actual[name]
        shape = list(port.shape)
        if port.type != kind or len(shape) != 1 + len(dims) or isinstance(shape[0], int):
            raise ToolsError(f"{where}: input '{name}' must be {kind} [N, {', '.join(map(str, dims))}]")
        if any(a != e for a, e in zip(shape[1:], dims, strict=True)):
            raise ToolsError(f"{where}: input '{name}' must be {kind} [N, {', '.join(map(str, dims))}]")
    outputs = session.get_outputs()
    if len(outputs) != 1 or outputs[0].name != "pattern":
        raise ToolsError(f"{where}: must have exactly one output 'pattern'")
    tools = ToolsModel(session, meta, base, path)
    _warm_up(tools, where)
    return tools


def _warm_up(tools: ToolsModel, where: str) -> None:
    """Every task once, with every style index (the unknown one too): the graph runs and stays finite."""
    base = tools.base
    n_styles = len(base.styles)
    k = len(tools.meta.tasks)
    rows = k * (n_styles + 1)
    t = base.grid.n_steps
    rng = np.random.default_rng(0)
    z = rng.standard_normal((rows, base.latent_dim)).astype(np.float32)
    cond = np.tile(base.defaults(), (rows, 1)).astype(np.float32)
    style = np.tile(np.arange(n_styles + 1, dtype=np.int64), len(tools.meta.tasks)) if n_styles else None
    known = np.zeros((rows, 3, N_VOICES, t), np.float32)
    known[:, 0, :, ::4] = 1
    known[:, 1, :, ::4] = 0.7
    mask = np.ones((rows, 2, N_VOICES, t), np.float32)
    rhythm = np.zeros((rows, t), np.float32)
    rhythm[:, ::2] = 1
    try:  # one call per task (a call is one request: its given part is the first row's)
        out = np.concatenate(
            [
                tools.run(
                    z[i::k],
                    cond[i::k],
                    None if style is None else style[i::k],
                    known[i::k],
                    mask[i::k],
                    rhythm=rhythm[i::k],
                    task=tools.task_vector(task, len(z[i::k])),
                )
                for i, task in enumerate(tools.meta.tasks)
            ]
        )
    except Exception as error:  # onnxruntime's failures have no common public base class
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ToolsError(f"{where}: the tools graph fails on its declared inputs: {first}") from error
    if out.shape != (rows, 3, N_VOICES, t) or out.dtype != np.float32 or not np.isfinite(out).all():
        raise ToolsError(f"{where}: output 'pattern' must be finite float32 {[rows, 3, N_VOICES, t]}")
