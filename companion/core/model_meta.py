"""The ``nudge`` metadata of an exported generator: the schema shared by export and loading.

The ONNX file carries this JSON object under ``metadata_props`` key ``nudge``. ``training.export.export``
builds it with ``ModelMeta.to_json``; the daemon reads it with ``ModelMeta.from_json``, which names the
field at fault for anything missing or out of range.

ONNX graph contract (checked by ``companion.runtime.model``):
- inputs: ``z`` float32 [N, latent_dim]; ``cond`` float32 [N, n_conditions] in 0..1; ``style`` int64 [N]
  only when ``styles`` is not empty.
- output: ``pattern`` float32 [N, 3, V, T]: hit probability, velocity 0..1, offset in steps -0.5..0.5.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from companion.core.errors import ModelError
from companion.core.midi_values import PITCH
from companion.core.normaliser import QuantileNormaliser
from companion.core.pattern import Grid

FORMAT_VERSION = 1
METADATA_KEY = "nudge"
STYLE_ANY = "any"  # not a style: any of the model's (a seeded draw per candidate)
MAX_NAME_CHARS = 64  # model, voice, condition and style names: they travel in OSC replies and label dials
MAX_DESCRIPTION_CHARS = 200
MAX_CONDITIONS = 32
MAX_STYLES = 64
MAX_METADATA_CHARS = 1 << 20  # the shipped model's metadata is 12 KB


class ModelMetaError(ModelError):
    """The model's metadata is missing, malformed or incompatible; the message names the field."""


@dataclass(frozen=True)
class VoiceMeta:
    name: str
    pitch: int


@dataclass(frozen=True)
class ConditionMeta:
    name: str
    description: str
    quantiles: tuple[float, ...]  # raw descriptor value at each of ModelMeta.quantile_probs
    default: float = 0.5
    unit: str = ""


@dataclass(frozen=True)
class ModelMeta:
    name: str
    voices: tuple[VoiceMeta, ...]
    steps_per_beat: int
    beats_per_bar: int
    bars: int
    latent_dim: int
    conditions: tuple[ConditionMeta, ...]
    quantile_probs: tuple[float, ...]
    styles: tuple[str, ...] = ()
    hit_threshold: float = 0.5
    dataset: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def grid(self) -> Grid:
        return Grid(self.steps_per_beat, self.beats_per_bar, self.bars)

    @property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.conditions)

    @property
    def output_pitches(self) -> tuple[int, ...]:
        return tuple(v.pitch for v in self.voices)

    @property
    def has_styles(self) -> bool:
        return bool(self.styles)

    def normaliser(self) -> QuantileNormaliser:
        return QuantileNormaliser(
            self.condition_names,
            np.array([c.quantiles for c in self.conditions]),
            np.array(self.quantile_probs),
        )

    def defaults(self) -> np.ndarray:
        return np.array([c.default for c in self.conditions], dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["voices"] = [asdict(v) for v in self.voices]
        data["conditions"] = [{**asdict(c), "quantiles": list(c.quantiles)} for c in self.conditions]
        data["quantile_probs"] = list(self.quantile_probs)
        data["styles"] = list(self.styles)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMeta:
        if len(text) > MAX_METADATA_CHARS:
            raise ModelMetaError(
                f"metadata '{METADATA_KEY}' is {len(text)} characters long, more than {MAX_METADATA_CHARS}"
            )
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ModelMetaError(f"metadata '{METADATA_KEY}' is not valid JSON: {error}") from error
        except RecursionError as error:  # e.g. [[[[...]]]] nested deeper than Python's stack
            raise ModelMetaError(f"metadata '{METADATA_KEY}' is nested too deeply to read") from error
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ModelMeta:
        if not isinstance(data, dict):
            raise ModelMetaError(f"metadata '{METADATA_KEY}' must be a JSON object")
        fmt = _int(data, "format", 1, 1000)
        if fmt != FORMAT_VERSION:
            raise ModelMetaError(
                f"metadata format {fmt} is not supported (this Nudge reads format {FORMAT_VERSION})"
            )
        voices_raw = _list(data, "voices")
        voices = tuple(
            VoiceMeta(
                _str(v, f"voices[{i}].name"), _int(v, "pitch", PITCH.low, PITCH.high, f"voices[{i}].pitch")
            )
            for i, v in enumerate(voices_raw)
        )
        probs = tuple(
            _float(p, f"quantile_probs[{i}]", 0, 1) for i, p in enumerate(_list(data, "quantile_probs"))
        )
        if len(probs) < 2 or any(b <= a for a, b in pairwise(probs)):
            raise ModelMetaError("quantile_probs must hold at least 2 strictly increasing values in 0..1")
        conditions = []
        for i, c in enumerate(_list(data, "conditions")):
            where = f"conditions[{i}]"
            quantiles = tuple(
                _float(q, f"{where}.quantiles[{j}]") for j, q in enumerate(_list(c, "quantiles", where))
            )
            if len(quantiles) != len(probs):
                raise ModelMetaError(
                    f"{where}.quantiles must have {len(probs)} values (one per quantile_probs)"
                )
            if any(b < a for a, b in pairwise(quantiles)):
                raise ModelMetaError(f"{where}.quantiles must be non-decreasing")
            conditions.append(
                ConditionMeta(
                    name=_str(c, f"{where}.name"),
                    description=_str(
                        c, f"{where}.description", True, "description", max_chars=MAX_DESCRIPTION_CHARS
                    ),
                    quantiles=quantiles,
                    default=_float(c.get("default", 0.5), f"{where}.default", 0, 1),
                    unit=_str(c.get("unit", ""), f"{where}.unit", allow_empty=True, raw=True),
                )
            )
        names = [c.name for c in conditions]
        if len(set(names)) != len(names):
            raise ModelMetaError(f"conditions has duplicate names: {names}")
        if len(conditions) > MAX_CONDITIONS:
            raise ModelMetaError(f"conditions must hold at most {MAX_CONDITIONS}, got {len(conditions)}")
        styles_raw = data.get("styles", [])
        if not isinstance(styles_raw, list) or len(styles_raw) > MAX_STYLES:
            raise ModelMetaError(f"metadata field 'styles' must be a list of at most {MAX_STYLES} names")
        styles = tuple(_str(s, f"styles[{i}]", raw=True) for i, s in enumerate(styles_raw))
        if len(set(styles)) != len(styles):
            raise ModelMetaError("styles has duplicate names")
        meta = cls(
            name=_str(data, "name"),
            voices=voices,
            steps_per_beat=_int(data, "steps_per_beat", 1, 12),
            beats_per_bar=_int(data, "beats_per_bar", 2, 7),
            bars=_int(data, "bars", 1, 8),
            latent_dim=_int(data, "latent_dim", 1, 4096),
            conditions=tuple(conditions),
            quantile_probs=probs,
            styles=styles,
            hit_threshold=_float(data.get("hit_threshold", 0.5), "hit_threshold", 0, 1),
            dataset=_dict(data, "dataset"),
            training=_dict(data, "training"),
            format=fmt,
        )
        if not meta.voices:
            raise ModelMetaError("voices must not be empty")
        return meta


def _field(data: Any, key: str, where: str | None = None) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ModelMetaError(f"metadata field '{where or key}' is missing")
    return data[key]


def _str(
    data: Any,
    where: str,
    allow_empty: bool = False,
    key: str | None = None,
    raw: bool = False,
    max_chars: int = MAX_NAME_CHARS,
) -> str:
    value = data if raw else _field(data, key or where.rsplit(".", 1)[-1], where)
    if (
        not isinstance(value, str)
        or (not allow_empty and not value)
        or len(value) > max_chars
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)  # NUL cannot travel in OSC; no control chars
        or not _encodes(value)  # a lone surrogate (JSON "\ud800") has no UTF-8
    ):
        raise ModelMetaError(
            f"metadata field '{where}' must be a {'' if allow_empty else 'non-empty '}string of at most "
            f"{max_chars} characters without control characters, got {value!r:.80}"
        )
    return value


def _int(data: Any, key: str, low: int, high: int, where: str | None = None) -> int:
    value = _field(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelMetaError(
            f"metadata field '{where or key}' must be an int in {low}..{high}, got {value!r}"
        )
    return value


def _float(value: Any, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelMetaError(f"metadata field '{where}' must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise ModelMetaError(f"metadata field '{where}' must be in {low}..{high}, got {value!r}")
    return float(value)


def _list(data: Any, key: str, where: str | None = None) -> list:
    value = _field(data, key, f"{where}.{key}" if where else key)
    if not isinstance(value, list):
        raise ModelMetaError(f"metadata field '{f'{where}.{key}' if where else key}' must be a list")
    return value


def _dict(data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ModelMetaError(f"metadata field '{key}' must be an object")
    return value


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
