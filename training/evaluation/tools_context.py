"""What the tasks of ``nudge-train evaluate-tools`` share: the run's configuration, its results (a figure
per task, row and repeat) and context, and the realism measure every task uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from companion.core.descriptors import describe_batch
from companion.core.pattern import HIT
from companion.runtime.model import Model
from training.dataset import RhythmDataset
from training.evaluation import metrics
from training.evaluation.fill_classifier import FillClassifier


@dataclass(frozen=True)
class ToolsEvalConfig:
    seed: int = 0
    repeats: int = 5
    candidates: int = 64
    count: int = 5  # interpolate: patterns from A to B, both ends included
    search: bool = True  # also the plain generator's latent search (the fallback without a tools graph)


@dataclass
class Figure:
    """One figure of one row over the repeats."""

    values: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        finite = [v for v in self.values if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    @property
    def sd(self) -> float:
        finite = [v for v in self.values if np.isfinite(v)]
        return float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0

    def to_dict(self) -> dict[str, float | list[float]]:
        return {"mean": self.mean, "sd": self.sd, "values": list(self.values)}


Rows = dict[str, dict[str, Figure]]  # row -> figure name -> Figure


@dataclass
class ToolsEvaluation:
    model_name: str
    has_tools: bool
    config: ToolsEvalConfig
    counts: dict[str, int]
    tasks: dict[str, Rows] = field(default_factory=dict)  # task -> rows
    classifier: dict[str, float] = field(default_factory=dict)  # fill classifier's test figures
    examples: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # task -> name -> patterns
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, task: str, row: str, name: str, value: float) -> None:
        self.tasks.setdefault(task, {}).setdefault(row, {}).setdefault(name, Figure()).values.append(
            float(value)
        )

    def figure(self, task: str, row: str, name: str) -> Figure:
        return self.tasks[task][row][name]

    def to_dict(self) -> dict:
        return {
            "model": self.model_name,
            "tools_graph": self.has_tools,
            "config": self.config.__dict__,
            "counts": self.counts,
            "classifier": self.classifier,
            "tasks": {
                t: {r: {n: f.to_dict() for n, f in fs.items()} for r, fs in rows.items()}
                for t, rows in self.tasks.items()
            },
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


@dataclass
class Context:
    """What every task of one run shares."""

    model: Model
    plain: Model | None  # the model without its tools graph (the search rows), or None
    train: RhythmDataset
    classifier: FillClassifier
    config: ToolsEvalConfig
    rngs: dict[str, np.random.Generator]
    result: ToolsEvaluation

    def seeds(self, n: int) -> np.ndarray:
        return self.rngs["seeds"].integers(0, 2**31 - 1, n)


def realism(patterns: np.ndarray, reference: np.ndarray, grid) -> tuple[float, float]:
    """(1-NN accuracy, Fréchet distance) of ``patterns`` against ``reference`` on z-scored descriptors (as
    ``nudge-train evaluate``), on balanced sets: the larger set is cut to the smaller's size."""
    n = min(len(patterns), len(reference))
    a, b = describe_batch(patterns[:n], grid), describe_batch(reference[:n], grid)
    stats = metrics.zscore_stats(b)
    za, zb = metrics.zscore(a, stats), metrics.zscore(b, stats)
    return metrics.one_nn_accuracy(za, zb), metrics.frechet_distance(za, zb)


def hits_of(patterns: np.ndarray) -> np.ndarray:
    return np.asarray(patterns)[:, HIT] > 0.5
