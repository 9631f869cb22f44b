"""Export a checkpoint's generator to ONNX with its ``nudge`` metadata — the contract with every consumer.

Graph: inputs ``z`` float32 [N, latent_dim], ``cond`` float32 [N, n_conditions], ``style`` int64 [N] (only
when the model has styles), dynamic N; output ``pattern`` float32 [N, 3, V, T]. ``metadata_props["nudge"]``
is ``companion.core.model_meta.ModelMeta.to_json()``. Before the file is written, onnxruntime's output is
compared with torch's on random inputs (max abs difference <= ``PARITY_TOLERANCE``); the write is atomic.

The graph computes the generator's function in a form that runs faster in onnxruntime (``_LeanGraph``); the
parity check is what proves it is the same function. ``int8=True`` then quantises the weights of every
matrix product (onnxruntime dynamic quantisation, ``training.export.quantize``): about a third less generator
time on CPU, at the price of a few flipped cells per pattern; the exporter refuses a quantised graph whose
hits agree with the float graph's on fewer than ``training.export.quantize.MIN_HIT_AGREEMENT`` of the cells.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from companion.core.atomic import atomic_write_bytes
from companion.core.drum_map import VOICE_TABLE
from companion.core.model_meta import METADATA_KEY, ModelMeta, ModelMetaError, VoiceMeta
from companion.core.pattern import MAX_OFFSET_STEPS, OFFSET, Grid
from companion.runtime.model import ModelError, open_model, random_feeds
from companion.runtime.model_info import model_info_problem
from training.conditions import ConditionSpace
from training.export.quantize import Agreement, QuantizeError, quantize_checked
from training.fitting.checkpoint import generator_from_checkpoint, load_checkpoint
from training.fitting.model import N_PLANES, Generator

PARITY_TOLERANCE = 1e-4
OPSET = 17


class ExportError(ModelError):
    """The exported graph does not reproduce the torch generator (or cannot be built)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    meta: ModelMeta
    max_abs_diff: float  # float graph (onnxruntime) vs torch
    size_bytes: int
    int8: Agreement | None = None  # quantised graph vs float graph, when exported with int8=True


class _LeanGraph(nn.Module):
    """``training.fitting.model.Generator.forward`` rearranged for onnxruntime (the same function,
    parity-checked):

    - every Linear runs on 2-D rows and exports as one Gemm (bias fused; MatMul where there is no bias);
      reshapes use -1 for the batch, so the graph computes no shapes at run time;
    - ``bar_position`` is folded into the bias of the trunk's last layer (it is a per-column constant there);
    - the decoder's first layer is split by its input, ``W [code, ctx] = W_code code + W_ctx ctx``: the
      context part runs once per pattern on [N, K] instead of once per bar on [N*B, K], and the per-bar
      copies of the context (Expand + Concat) disappear;
    - one Sigmoid makes all three planes: ``m * tanh(x) = 2m * sigmoid(2x) - m``, so the offset rows of the
      last layer are scaled by 2 at export and, with m = ``MAX_OFFSET_STEPS`` = 0.5, the offset plane is
      ``sigmoid(.) - 0.5``: no multiply. The separate Sigmoid, Tanh, Mul, two Slices and the Concat of
      the training graph, each a pass over the [N, 3, V, T] output, become one Sigmoid and one Add.
    """

    trunk_bias: torch.Tensor  # buffers (register_buffer), typed here for the checker
    code_weight: torch.Tensor
    context_weight: torch.Tensor
    context_bias: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    shift: torch.Tensor

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = g = generator
        self.register_buffer(  # [B*E]: the trunk's last bias plus each bar's position code
            "trunk_bias", g.trunk_out.bias.detach() + g.bar_position.detach().reshape(-1)
        )
        first = g.decoder_in
        self.hidden = first.out_features  # H, a constant in the graph (not a Shape op)
        self.register_buffer("code_weight", first.weight.detach()[:, : g.bar_dim].clone())  # [H, E]
        self.register_buffer("context_weight", first.weight.detach()[:, g.bar_dim :].clone())  # [H, K]
        self.register_buffer("context_bias", first.bias.detach().clone())  # [H]
        plane = g.n_voices * g.steps_per_bar  # output rows per plane of the last decoder layer
        last = g.decoder_out
        scale = torch.ones(N_PLANES * plane)
        scale[OFFSET * plane : (OFFSET + 1) * plane] = 2.0
        self.register_buffer("weight", last.weight.detach() * scale[:, None])  # [3*V*S, H]
        self.register_buffer("bias", last.bias.detach() * scale)  # [3*V*S]
        shift = torch.zeros(N_PLANES * plane)
        shift[OFFSET * plane : (OFFSET + 1) * plane] = -MAX_OFFSET_STEPS
        self.register_buffer("shift", shift)  # [3*V*S]

    def forward(self, z: torch.Tensor, cond: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        g = self.generator
        lrelu = g.decoder_activation  # on the codes and on the context alike
        ctx = g.context(cond, style)  # [N, K]
        hidden = g.trunk_hidden(torch.cat([z, ctx], dim=1))  # [N, G]
        codes = lrelu(nn.functional.linear(hidden, g.trunk_out.weight, self.trunk_bias))  # [N, B*E]
        per_bar = nn.functional.linear(codes.reshape(-1, g.bar_dim), self.code_weight)  # [N*B, H]
        per_row = nn.functional.linear(lrelu(ctx), self.context_weight, self.context_bias)  # [N, H]
        hidden = per_bar.reshape(-1, g.bars, self.hidden) + per_row.unsqueeze(1)  # [N, B, H]
        hidden = g.decoder_hidden_activation(hidden)  # [N, B, H]
        hidden = hidden.reshape(-1, self.hidden)  # [N*B, H]
        planes = torch.sigmoid(nn.functional.linear(hidden, self.weight, self.bias))  # [N*B, 3*V*S]
        planes = planes + self.shift  # offset plane: 2m * sigmoid - m, with 2m = 1 (else parity fails)
        planes = planes.reshape(-1, g.bars, N_PLANES, g.n_voices, g.steps_per_bar).permute(0, 2, 3, 1, 4)
        return planes.reshape(-1, N_PLANES, g.n_voices, g.bars * g.steps_per_bar)  # [N, 3, V, T]


class _WithStyle(nn.Module):
    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.graph = _LeanGraph(generator)

    def forward(self, z: torch.Tensor, cond: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.graph(z, cond, style)


class _WithoutStyle(_WithStyle):
    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.graph(z, cond, None)


def build_meta(state: dict[str, Any], space: ConditionSpace, name: str) -> ModelMeta:
    grid = Grid(**state["grid"])
    config = state["config"]
    return ModelMeta(
        name=name,
        voices=tuple(VoiceMeta(voice, pitch) for voice, pitch, _ in VOICE_TABLE),
        steps_per_beat=grid.steps_per_beat,
        beats_per_bar=grid.beats_per_bar,
        bars=grid.bars,
        latent_dim=int(config["latent_dim"]),
        conditions=space.condition_metas(),
        quantile_probs=tuple(float(p) for p in space.normaliser.probs),
        styles=space.styles,
        hit_threshold=float(config["hit_threshold"]),
        dataset=dict(state["dataset"]),
        training={
            "config": {k: v for k, v in config.items() if k not in ("data", "out", "progress")},
            "steps": int(state["step"]),
            "date": str(state["date"]),
            "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )


def to_onnx_bytes(generator: Generator, meta: ModelMeta) -> bytes:
    """The generator as an ONNX model (TorchScript exporter) with the metadata attached."""
    wrapper = (_WithStyle if meta.has_styles else _WithoutStyle)(generator).eval()
    example = random_feeds(meta, 2)
    return module_to_onnx_bytes(wrapper, example, list(example), {METADATA_KEY: meta.to_json()})


def module_to_onnx_bytes(
    wrapper: torch.nn.Module, example: dict[str, np.ndarray], names: list[str], props: dict[str, str]
) -> bytes:
    """``wrapper`` (inputs ``names``, batch axis 0 named N; output "pattern") as a checked ONNX model with
    ``props`` in its metadata: the one export step of the generator and of the tools graph."""
    import onnx

    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # we choose the TorchScript exporter on purpose
        torch.onnx.export(
            wrapper,
            tuple(torch.from_numpy(example[k]) for k in names),
            buffer,  # type: ignore[arg-type]  # (torch's stub leaves out the file objects it takes)
            input_names=names,
            output_names=["pattern"],
            dynamic_axes={**{k: {0: "N"} for k in names}, "pattern": {0: "N"}},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(model, props)
    model.producer_name = "nudge-train"
    onnx.checker.check_model(model)
    return model.SerializeToString()


def parity(generator: Generator, data: bytes, meta: ModelMeta, sizes: tuple[int, ...] = (1, 7, 64)) -> float:
    """Max abs difference between onnxruntime and torch on random inputs of several batch sizes."""
    try:  # the daemon's loader: its checks, and a first run on a test input
        model = open_model(data, Path(f"{meta.name}.onnx"), threads=0)
    except ModelError as error:
        raise ExportError(f"{error}; nothing written") from error
    worst = 0.0
    for seed, n in enumerate(sizes):
        feeds = random_feeds(meta, n, seed=seed + 1)
        got = model.run(feeds["z"], feeds["cond"], feeds.get("style"))
        with torch.no_grad():
            want = generator(
                torch.from_numpy(feeds["z"]),
                torch.from_numpy(feeds["cond"]),
                torch.from_numpy(feeds["style"]) if "style" in feeds else None,
            ).numpy()
        if got.shape != want.shape:
            raise ExportError(f"onnxruntime output shape {got.shape} differs from torch's {want.shape}")
        if not (np.isfinite(got).all() and np.isfinite(want).all()):  # max(x, nan) would hide it
            raise ExportError(f"the generator returns NaN or inf on random inputs (batch {n}): not exported")
        worst = max(worst, float(np.abs(got - want).max()))
    return worst


def check_servable(meta: ModelMeta, file_stem: str) -> None:
    """``ExportError`` unless the daemon will load this metadata (its own checks) and its
    ``/nudge/model/info`` reply, under the name the file will be served as, fits one datagram."""
    try:
        ModelMeta.from_json(meta.to_json())
    except ModelMetaError as error:
        raise ExportError(f"nudge serve would refuse this model: {error}; nothing written") from None
    problem = model_info_problem(file_stem, meta)
    if problem:
        raise ExportError(f"nudge serve would refuse this model: {problem}; nothing written")


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    name: str | None = None,
    tolerance: float = PARITY_TOLERANCE,
    int8: bool = False,
) -> ExportResult:
    """Checkpoint (``last.pt``/``best.pt``) -> ONNX at ``out``; ``ExportError`` if parity fails.

    ``int8``: write the weight-quantised graph (``training.export.quantize``) once the float graph has passed
    parity.
    """
    state = load_checkpoint(checkpoint)
    data, result = generator_bytes(state, out, name, tolerance, int8)
    path = atomic_write_bytes(out, data)
    return ExportResult(path, result.meta, result.max_abs_diff, len(data), result.int8)


def generator_bytes(
    state: dict[str, Any],
    out: str | os.PathLike,
    name: str | None = None,
    tolerance: float = PARITY_TOLERANCE,
    int8: bool = False,
) -> tuple[bytes, ExportResult]:
    """A checkpoint dict's generator as checked ONNX bytes (nothing written), and what its file will be."""
    generator, space = generator_from_checkpoint(state)
    generator = generator.float().eval()
    meta = build_meta(state, space, name or Path(out).stem)
    check_servable(meta, Path(out).stem)  # before any work: a model nudge serve would refuse is not written
    data = to_onnx_bytes(generator, meta)
    diff = parity(generator, data, meta)
    if not diff <= tolerance:
        raise ExportError(f"onnxruntime differs from torch by {diff:.3g} > {tolerance:g}; nothing written")
    found = None
    if int8:
        try:
            data, meta, found = quantize_checked(data, meta)
        except QuantizeError as error:
            raise ExportError(str(error)) from error
    return data, ExportResult(Path(out), meta, diff, len(data), found)
