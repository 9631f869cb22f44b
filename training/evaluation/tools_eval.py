"""``nudge-train evaluate-tools``: Groove, Drumify, Continue, Interpolate and Fill measured on the GMD test
split in 4-bar windows, each against its baselines in the same run (definitions: ``docs/evaluation.md``).

Every repeat draws the inputs afresh, one window of every test source (``evaluate.one_window_per_source``),
and an independent reference for the realism figures (another draw of one window per test source), and
runs every tool the way the daemon runs it (``companion.runtime.tools``, ``interpolate``) on the ONNX model,
its tools graph included. Rows are kept per repeat and reported as mean and standard deviation over the
repeats (``Figure``). Nothing is learnt from or drawn for the model's requests from the test split
(the groove template, the nearest-onset baseline and the fill classifier learn from the train split).
The tasks: ``training.evaluation.tools_rows``; the report: ``training.evaluation.tools_report``.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from companion.core.errors import UsageError
from companion.runtime.model import load_model
from training.dataset import RhythmDataset
from training.evaluation import tools_rows
from training.evaluation.evaluate import one_window_per_source
from training.evaluation.fill_classifier import FillClassifier, every_bar, fit_fill_classifier
from training.evaluation.tools_context import Context, ToolsEvalConfig, ToolsEvaluation

STREAMS = ("inputs", "reference", "requests", "seeds", "pairs", "baselines", "generate")


def fill_classifier(dataset: RhythmDataset, fills: RhythmDataset) -> tuple[FillClassifier, dict[str, float]]:
    """The classifier (train split) and its test figures: balanced accuracy, the share of test fills it
    calls fills, the share of test beat bars it calls fills."""
    grid = dataset.grid

    def beat_bars(split: str) -> np.ndarray:
        part = dataset.of_split(split)
        return every_bar(part.patterns[part.start_bar % grid.bars == 0], grid.steps_per_bar)  # no bar twice

    classifier = fit_fill_classifier(fills.of_split("train").patterns, beat_bars("train"))
    test_fills, test_beats = fills.of_split("test").patterns, beat_bars("test")
    return classifier, {
        "test_accuracy": classifier.balanced_accuracy(test_fills, test_beats),
        "test_fills_called_fill": float(classifier.is_fill(test_fills).mean()),
        "test_beats_called_fill": float(classifier.is_fill(test_beats).mean()),
        "test_fill_bars": len(test_fills),
        "test_beat_bars": len(test_beats),
        "train_fill_bars": len(fills.of_split("train")),
    }


def evaluate_tools(
    model_path: str, dataset: RhythmDataset, fills: RhythmDataset, config: ToolsEvalConfig | None = None
) -> ToolsEvaluation:
    started = time.perf_counter()
    config = config or ToolsEvalConfig()
    model = load_model(model_path, threads=1)
    if model.meta.grid != dataset.grid:
        raise UsageError(f"model grid {model.meta.grid} differs from the dataset's {dataset.grid}")
    if fills.grid.bars != 1 or fills.grid.steps_per_bar != dataset.grid.steps_per_bar:
        raise UsageError(f"the fill windows must be 1 bar of the dataset's grid, got {fills.grid}")
    if not 1 <= config.repeats <= 100:
        raise UsageError(f"repeats must be in 1..100, got {config.repeats}")
    seeds = np.random.SeedSequence(config.seed).spawn(len(STREAMS))
    rngs = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
    classifier, figures = fill_classifier(dataset, fills)
    plain = None
    if config.search and model.tools is not None:
        plain = copy.copy(model)  # the same generator, served without its tools graph: the search fallback
        plain.tools = None
    elif config.search:
        plain = model
    train, test = dataset.of_split("train"), dataset.of_split("test")
    result = ToolsEvaluation(
        model.name,
        model.tools is not None,
        config,
        {"train": len(train), "test": len(test)},
        classifier=figures,
    )
    ctx = Context(model, plain, train, classifier, config, rngs, result)
    tasks = tools_rows.Tasks(ctx)
    for _ in range(config.repeats):
        clips = one_window_per_source(test, rngs["inputs"]).patterns  # [N, 3, V, T]
        reference = one_window_per_source(test, rngs["reference"]).patterns
        result.counts["clips_per_repeat"] = len(clips)
        tasks.run_all(clips, reference)
    result.seconds = {**tasks.seconds, "total": time.perf_counter() - started}
    return result
