"""Int8 weights for an exported generator: onnxruntime dynamic quantisation, checked against the float graph.

Every MatMul/Gemm weight becomes int8 per output channel with a 7-bit range (``reduce_range``); activations
are quantised per call (``DynamicQuantizeLinear``). Why these settings: on AVX2 CPUs without VNNI (this
machine, many laptops) onnxruntime's u8 x s8 kernel adds pairs of products in 16 bits and saturates with
full 8-bit weights, so 7-bit weights keep every CPU computing the same numbers; per-channel scales win back
the precision the lost bit costs. The daemon's generator call gets about a third faster on CPU.

A quantised generator is not the float generator to 1e-4: a logit near the threshold flips its cell. The
check here is that hits agree on at least ``MIN_HIT_AGREEMENT`` of the cells over random inputs; whether the
patterns are as good is ``nudge-train evaluate``'s job (the default model card reports both).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from companion.core.model_meta import METADATA_KEY, ModelMeta
from companion.core.pattern import HIT, OFFSET, VELOCITY
from companion.runtime.model import ModelError, open_model, random_feeds

MIN_HIT_AGREEMENT = 0.98  # share of cells whose hit decision matches the float graph's
CHECK_ROWS = 4096  # random inputs for the agreement check
METHOD = "onnxruntime dynamic int8: weights per channel, 7-bit range; activations per call"


class QuantizeError(ModelError):
    """The quantised graph strays too far from the float one (or cannot be built)."""


@dataclass(frozen=True)
class Agreement:
    hit_agreement: float  # share of cells with the same hit decision
    velocity_mae: float  # mean |difference| of velocity where both have a hit
    offset_mae: float  # mean |difference| of offset (steps) where both have a hit

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in vars(self).items()}


def quantize_int8(data: bytes, keys: tuple[str, ...] = (METADATA_KEY,)) -> bytes:
    """Float ONNX model bytes -> the same graph with int8 weights (the metadata entries ``keys`` kept)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="nudge-int8-") as folder:
        source, target = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(data)
        with _quiet_root_logger():  # it suggests a shape pre-pass that changes nothing for these graphs
            quantize_dynamic(
                source,
                target,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
                op_types_to_quantize=["MatMul", "Gemm"],
            )
        model = onnx.load(target)
    props = {p.key: p.value for p in model.metadata_props if p.key in keys}
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)  # drop the quantiser's own entries
    onnx.checker.check_model(model)
    return model.SerializeToString()


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def agreement(float_data: bytes, int8_data: bytes, meta: ModelMeta, rows: int = CHECK_ROWS) -> Agreement:
    """Compare the two graphs' outputs on ``rows`` seeded random inputs."""
    feeds = random_feeds(meta, rows, seed=123)
    outputs = []  # 2 x [rows, 3, V, T]
    for label, data in (("float", float_data), ("int8", int8_data)):
        try:  # the daemon's loader: its checks, and a first run on a test input
            model = open_model(data, Path(f"{meta.name}.{label}.onnx"), threads=0)
        except ModelError as error:
            raise QuantizeError(f"the {label} graph: {error}") from error
        outputs.append(model.run(feeds["z"], feeds["cond"], feeds.get("style")))
    for label, out in zip(("float", "int8"), outputs, strict=True):
        if not np.isfinite(out).all():
            raise QuantizeError(f"the {label} graph returns NaN or inf on the check inputs")
    hits = [out[:, HIT] >= meta.hit_threshold for out in outputs]
    both = hits[0] & hits[1]
    n_both = max(int(both.sum()), 1)

    def mae(plane: int) -> float:
        return float(np.abs(outputs[0][:, plane] - outputs[1][:, plane])[both].sum() / n_both)

    return Agreement(float(np.mean(hits[0] == hits[1])), mae(VELOCITY), mae(OFFSET))


def quantize_checked(float_data: bytes, meta: ModelMeta) -> tuple[bytes, ModelMeta, Agreement]:
    """Quantise, check agreement, record the method in the metadata; ``QuantizeError`` below the bar."""
    import onnx

    int8 = quantize_int8(float_data)
    found = agreement(float_data, int8, meta)
    if not found.hit_agreement >= MIN_HIT_AGREEMENT:
        raise QuantizeError(
            f"int8 hits agree with the float graph on {found.hit_agreement:.4f} of the cells, "
            f"below the {MIN_HIT_AGREEMENT} required; nothing written (export without --int8)"
        )
    meta = replace(meta, training={**meta.training, "quantization": {"method": METHOD, **found.to_dict()}})
    model = onnx.load_from_string(int8)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {METADATA_KEY: meta.to_json()})
    return model.SerializeToString(), meta, found
