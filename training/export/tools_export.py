"""Export a tools checkpoint (``nudge-train fit-tools``): the generator it was trained from, unchanged (the
model's Generate graph, exactly as ``nudge-train export`` writes it), and its tools graph beside it,
``NAME.tools.onnx`` (contract: ``companion/runtime/tools_model.py``), tied to that generator by the SHA-256
of its metadata.

Both graphs are built and checked before anything is written: each float graph against torch on random
inputs (max |diff| <= ``PARITY_TOLERANCE``; the tools graph's inputs include unknown sliders and the
unknown style), with ``int8`` each quantised graph against its float graph (hit decisions agree on
``MIN_HIT_AGREEMENT`` of the cells), and the pair through the daemon's own loader (``load_model`` from a
temporary folder). Then the generator is written, then the tools graph (each atomically).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import N_VOICES
from companion.core.pattern import HIT, OFFSET, VELOCITY
from companion.runtime.model import ModelError, load_model
from companion.runtime.tools_model import (
    TASKS,
    TOOLS_METADATA_KEY,
    ToolsMeta,
    base_fingerprint,
    tools_path_for,
)
from training.export.export import (
    PARITY_TOLERANCE,
    ExportError,
    ExportResult,
    generator_bytes,
    module_to_onnx_bytes,
)
from training.export.quantize import MIN_HIT_AGREEMENT, Agreement, quantize_int8
from training.fitting.checkpoint import generator_from_checkpoint
from training.tools.model import ToolsGenerator
from training.tools.train import load_tools_checkpoint

INPUTS = ("z", "cond", "style", "known", "mask", "rhythm", "task")


@dataclass(frozen=True)
class ToolsExportResult:
    path: Path
    meta: ToolsMeta
    max_abs_diff: float
    size_bytes: int
    int8: Agreement | None = None


class _Graph(nn.Module):
    def __init__(self, tools: ToolsGenerator) -> None:
        super().__init__()
        self.tools = tools

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # the contract's inputs, in INPUTS order
        z, cond, style, known, mask, rhythm, task = inputs
        return self.tools(z, cond, style, known, mask, rhythm=rhythm, task=task, shared=True)


class _GraphWithoutStyle(_Graph):
    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # INPUTS without style
        z, cond, known, mask, rhythm, task = inputs
        return self.tools(z, cond, None, known, mask, rhythm=rhythm, task=task, shared=True)


def tools_from_checkpoint(state: dict) -> ToolsGenerator:
    """The tools generator of a tools checkpoint dict (eval mode)."""
    base, _ = generator_from_checkpoint(state["base"])
    config = state["config"]
    sizes = (int(config["enc_hidden"]), int(config["enc_dim"]), int(config.get("groove_hidden", 512)))
    tools = ToolsGenerator(base, len(state["tasks"]), *sizes)
    try:
        tools.load_state_dict(state["tools"])
    except RuntimeError as error:
        raise ExportError(
            f"the checkpoint's tools generator cannot be rebuilt ({str(error)[:300]})"
        ) from None
    return tools.float().eval()


def random_tool_feeds(tools: ToolsGenerator, n: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs of one call, as the daemon makes them: one given part (``known``, ``mask``,
    ``rhythm``, ``task``, which sliders are given) for every row, any mask; per row its own ``z``, slider
    values and style (known or unknown)."""
    rng = np.random.default_rng(seed)
    t = tools.bars * tools.steps
    cond = rng.random((n, tools.n_conditions)).astype(np.float32)
    cond[:, rng.random(tools.n_conditions) < 0.4] = -1.0
    feeds = {"z": rng.standard_normal((n, tools.base.latent_dim)).astype(np.float32), "cond": cond}
    if tools.n_styles:
        feeds["style"] = rng.integers(0, tools.n_styles + 1, n).astype(np.int64)
    known = np.zeros((1, 3, N_VOICES, t), np.float32)
    known[:, HIT] = rng.random((1, N_VOICES, t)) < 0.2
    known[:, VELOCITY] = known[:, HIT] * rng.random((1, N_VOICES, t))
    known[:, OFFSET] = known[:, HIT] * (rng.random((1, N_VOICES, t)) - 0.5) * 0.8
    one = {
        "known": known,
        "mask": (rng.random((1, 2, N_VOICES, t)) < 0.5).astype(np.float32),
        "rhythm": (rng.random((1, t)) < 0.3).astype(np.float32) * rng.random((1, t)).astype(np.float32),
        "task": np.eye(tools.n_tasks, dtype=np.float32)[rng.integers(0, tools.n_tasks, 1)],
    }
    return feeds | {k: np.repeat(v, n, axis=0) for k, v in one.items()}


def tools_to_onnx(tools: ToolsGenerator, meta: ToolsMeta) -> bytes:
    wrapper = (_Graph if tools.n_styles else _GraphWithoutStyle)(tools).eval()
    example = random_tool_feeds(tools, 2, 0)
    names = [k for k in INPUTS if k in example]
    return module_to_onnx_bytes(wrapper, example, names, {TOOLS_METADATA_KEY: meta.to_json()})


def _session(data: bytes):
    import onnxruntime as ort

    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def tools_parity(tools: ToolsGenerator, data: bytes, sizes: tuple[int, ...] = (1, 7, 64)) -> float:
    session, worst = _session(data), 0.0
    for seed, n in enumerate(sizes):
        feeds = random_tool_feeds(tools, n, seed + 1)
        got = session.run(["pattern"], feeds)[0]
        with torch.no_grad():
            args = {k: torch.from_numpy(v) for k, v in feeds.items()}
            want = tools(
                args["z"],
                args["cond"],
                args.get("style"),
                args["known"],
                args["mask"],
                rhythm=args["rhythm"],
                task=args["task"],
            ).numpy()
        if not (np.isfinite(got).all() and np.isfinite(want).all()):
            raise ExportError(
                f"the tools graph returns NaN or inf on random inputs (batch {n}): not exported"
            )
        worst = max(worst, float(np.abs(got - want).max()))
    return worst


def tools_agreement(
    tools: ToolsGenerator, float_data: bytes, int8_data: bytes, calls: int = 64, rows: int = 64
) -> Agreement:
    sessions = [_session(d) for d in (float_data, int8_data)]
    feeds = [random_tool_feeds(tools, rows, 123 + k) for k in range(calls)]  # calls of every kind
    a, b = (np.concatenate([s.run(["pattern"], f)[0] for f in feeds]) for s in sessions)
    hits_a, hits_b = a[:, HIT] >= 0.5, b[:, HIT] >= 0.5
    both = hits_a & hits_b
    n = max(int(both.sum()), 1)
    mae = [float(np.abs(a[:, p] - b[:, p])[both].sum() / n) for p in (VELOCITY, OFFSET)]
    return Agreement(float(np.mean(hits_a == hits_b)), *mae)


def export_tools(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    name: str | None = None,
    int8: bool = False,
    tools_only: bool = False,
) -> tuple[ExportResult | None, ToolsExportResult]:
    """A tools checkpoint -> ``out`` (the generator) and ``NAME.tools.onnx`` beside it. ``tools_only``: the
    generator file ``out`` is there already (the one the tools were trained from: checked, its hits must
    agree with the checkpoint's generator on ``MIN_HIT_AGREEMENT`` of the cells); only the tools graph is
    written, tied to that file."""
    state = load_tools_checkpoint(checkpoint)
    tools = tools_from_checkpoint(state)
    if tools_only:
        gen_data, gen, base_json = None, None, _existing_generator(Path(out), state["base"])
    else:
        gen_data, gen = generator_bytes(state["base"], out, name, int8=int8)
        base_json = gen.meta.to_json()
    meta = ToolsMeta(
        tuple(state["tasks"]),
        base_fingerprint(base_json),
        tools.n_styles,
        {
            "config": {k: v for k, v in state["config"].items() if k not in ("out",)},
            "steps": int(state["step"]),
        }
        | {"date": str(state["date"])},
    )
    if tuple(state["tasks"]) != TASKS[: len(state["tasks"])]:
        raise ExportError(f"the checkpoint's tasks {state['tasks']} are not the runtime's {list(TASKS)}")
    data = tools_to_onnx(tools, meta)
    diff = tools_parity(tools, data)
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(
            f"the tools graph differs from torch by {diff:.3g} > {PARITY_TOLERANCE:g}; nothing written"
        )
    found = None
    if int8:
        quantised = quantize_int8(data, keys=(TOOLS_METADATA_KEY,))
        found = tools_agreement(tools, data, quantised)
        if found.hit_agreement < MIN_HIT_AGREEMENT:
            raise ExportError(
                f"int8 tools hits agree with the float graph on {found.hit_agreement:.4f} of the cells, "
                f"below {MIN_HIT_AGREEMENT}; nothing written (export without --int8)"
            )
        data = quantised
    with tempfile.TemporaryDirectory(prefix="nudge-export-") as folder:  # the daemon's loader, on the pair
        trial = Path(folder) / Path(out).name
        trial.write_bytes(Path(out).read_bytes() if gen_data is None else gen_data)
        tools_path_for(trial).write_bytes(data)
        try:
            served = load_model(trial)
        except ModelError as error:
            raise ExportError(f"the daemon would refuse the generator: {error}; nothing written") from error
        if served.tools is None:
            raise ExportError(
                f"the daemon would not use the tools graph: {served.tools_problem}; nothing written"
            )
    result = None
    if gen_data is not None and gen is not None:
        path = atomic_write_bytes(out, gen_data)
        result = ExportResult(path, gen.meta, gen.max_abs_diff, len(gen_data), gen.int8)
    tools_path = atomic_write_bytes(tools_path_for(out), data)
    return result, ToolsExportResult(tools_path, meta, diff, len(data), found)


def _existing_generator(path: Path, base_state: dict) -> str:
    """The metadata text of the generator file at ``path``, after checking that the tools were trained from
    it: its hits agree with the tools checkpoint's generator on random inputs."""
    try:
        existing = load_model(path, tools=False)
    except ModelError as error:
        raise ExportError(
            f"--tools-only needs the generator the tools were trained from at {path}: {error}"
        ) from error
    base, _ = generator_from_checkpoint(base_state)  # as trained from: the tools' copy trained on
    base.eval()
    rng = np.random.default_rng(7)
    n = 2048
    z = rng.standard_normal((n, base.latent_dim)).astype(np.float32)
    cond = rng.random((n, base.n_conditions)).astype(np.float32)
    style = rng.integers(0, max(1, base.n_styles), n).astype(np.int64) if base.n_styles else None
    got = existing.run(z, cond, style)[:, HIT] >= 0.5
    with torch.no_grad():
        want = base(
            torch.from_numpy(z), torch.from_numpy(cond), None if style is None else torch.from_numpy(style)
        )
    agreement = float(np.mean(got == (want[:, HIT].numpy() >= 0.5)))
    if agreement < MIN_HIT_AGREEMENT:
        raise ExportError(
            f"{path} is not the generator these tools were trained from (hits agree on {agreement:.3f} of "
            f"the cells, below {MIN_HIT_AGREEMENT}); nothing written"
        )
    return existing.meta_json
