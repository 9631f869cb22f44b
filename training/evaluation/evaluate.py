"""Evaluate a generator .onnx against held-out real patterns: realism, novelty, diversity and control.

Held-out reference: the dataset's ``test`` split, one window per source file (chosen at random under the
seed). "Real" row: the ``validation`` split, one window per source, against the same reference (when the
dataset has no validation windows: the test sources are halved, one half the reference, the other "real").
Everything the model's requests and the baselines learn from is the ``train`` split. Metric definitions:
``docs/evaluation.md``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from companion.core.descriptors import DESCRIPTOR_NAMES, describe_batch
from companion.core.errors import DataError, UsageError
from companion.core.pattern import HIT, Grid
from companion.runtime.search_request import DEFAULT_CANDIDATES
from training.dataset import RhythmDataset
from training.evaluation import baselines, control, diversity, metrics
from training.evaluation.diversity import Diversity, DiversityConfig
from training.evaluation.dynamics import Dynamics, dynamics, merge_dynamics
from training.evaluation.sampling import (
    OnnxGenerator,
    condition_values,
    draw_requests,
    style_frequencies,
    style_indices,
)
from training.evaluation.vary_eval import VaryResult, vary_calibration

MIN_REFERENCE = 4
STREAMS = (  # one random stream each; a new one goes at the end, so the others draw what they drew before
    *("reference", "requests", "model", "bernoulli", "shuffled", "retrieval", "sweep", "search"),
    *("dynamics", "diversity", "vary"),
)


@dataclass(frozen=True)
class EvalConfig:
    seed: int = 0
    n_samples: int | None = None  # generated patterns per set; default: as many as the reference has
    sweep_levels: int = 11
    sweep_samples: int = 32  # samples per level of each control sweep
    search: bool = True  # also sweep through companion.runtime.engine (generator + candidate search)
    n_candidates: int = DEFAULT_CANDIDATES
    repeats: int = 10  # repeats per row: each draws a fresh reference (one window per source) and fresh sets
    beat_type: str | None = None  # keep only windows of this beat_type ("beat", "fill"); None: all
    diversity: DiversityConfig = field(default_factory=DiversityConfig)  # takes at one fixed setting
    vary_clips: int = 48  # clips per kind (real, made) and repeat of the vary calibration; 0: skip it


@dataclass
class SetResult:
    name: str
    n: int
    one_nn: float
    frechet: float
    oa: dict[str, float]  # per descriptor: overlap of the set's and the reference's distributions
    oa_intra_inter: dict[str, float]  # per descriptor: Yang & Lerch intra-set (reference) vs inter-set
    drum_pattern: float
    hits_per_bar: float
    nn_hamming: float  # mean over the set of the Hamming distance to the nearest training window
    exact_copies: int
    diversity: float  # mean pairwise Hamming distance within the set
    repeats: int = 1  # generated sets drawn; the figures are means over them (copies: total)
    sd: dict[str, float] = field(default_factory=dict)  # standard deviation over repeats

    @property
    def oa_mean(self) -> float:
        return float(np.mean(list(self.oa.values())))

    @property
    def oa_intra_inter_mean(self) -> float:
        return float(np.mean(list(self.oa_intra_inter.values())))

    def to_dict(self) -> dict:
        return {**self.__dict__, "oa_mean": self.oa_mean, "oa_intra_inter_mean": self.oa_intra_inter_mean}


@dataclass
class Evaluation:
    model_name: str
    model_path: str
    grid: Grid
    config: EvalConfig
    counts: dict[str, int]  # windows: train, reference, real
    reference_label: str
    rows: list[SetResult] = field(default_factory=list)
    control: list[control.ControlResult] = field(default_factory=list)
    control_notes: list[str] = field(default_factory=list)
    dynamics: list[Dynamics] = field(default_factory=list)  # hit-level figures vs the whole test split
    dynamics_sets: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [N, 3, V, T], for the plot
    diversity: Diversity | None = None  # takes at one fixed style and slider setting vs real neighbours
    vary: VaryResult | None = None  # how much vary changes real and Nudge-made clips per amount
    descriptors: dict[str, np.ndarray] = field(default_factory=dict)  # set name -> [N, D] (reference too)
    examples: dict[str, np.ndarray] = field(default_factory=dict)  # set name -> [k, 3, V, T]
    seconds: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # date, machine, command (for cards and docs)
    compared: dict[str, dict] = field(default_factory=dict)  # other models' to_dict(), same data and config

    def row(self, name: str) -> SetResult:
        return next(r for r in self.rows if r.name == name)

    def to_dict(self) -> dict:
        return {
            "model": self.model_name,
            "model_path": self.model_path,
            "grid": self.grid.__dict__,
            "config": {**self.config.__dict__, "diversity": self.config.diversity.__dict__},
            "counts": self.counts,
            "reference": self.reference_label,
            "sets": [r.to_dict() for r in self.rows],
            "control": [c.to_dict() for c in self.control],
            "control_notes": self.control_notes,
            "diversity": self.diversity.to_dict() if self.diversity else None,
            "vary": self.vary.to_dict() if self.vary else None,
            "dynamics": [d.to_dict() for d in self.dynamics],
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "provenance": self.provenance,
            "compared": self.compared,
        }


def one_window_per_source(data: RhythmDataset, rng: np.random.Generator) -> RhythmDataset:
    """One randomly chosen window of every source file, in a random order."""
    if len(data) == 0:
        return data
    _, groups = np.unique(data.source, return_inverse=True)
    order = rng.permutation(len(data))
    _, first = np.unique(groups[order], return_index=True)  # first shuffled window of each source
    return data.select(rng.permutation(order[first]))


def held_out_sets(
    dataset: RhythmDataset, rng: np.random.Generator
) -> tuple[RhythmDataset, RhythmDataset, str]:
    """(reference, real comparison set, label) from the test and validation splits."""
    test = one_window_per_source(dataset.of_split("test"), rng)
    validation = one_window_per_source(dataset.of_split("validation"), rng)
    if len(validation) >= MIN_REFERENCE and len(test) >= MIN_REFERENCE:
        return test, validation, "test split, one window per source; real = validation split, one per source"
    if len(test) < 2 * MIN_REFERENCE:
        raise DataError(
            f"need >= {MIN_REFERENCE} test sources and >= {MIN_REFERENCE} validation sources, or >= "
            f"{2 * MIN_REFERENCE} test sources; the dataset has {len(test)} and {len(validation)}"
        )
    half = len(test) // 2
    label = "half of the test split's sources (one window each); real = the other half"
    return test.select(np.arange(half)), test.select(np.arange(half, len(test))), label


def set_metrics(
    name: str, patterns: np.ndarray, reference: np.ndarray, train_hits: np.ndarray, grid: Grid
) -> SetResult:
    """Every set metric of ``patterns`` [N, 3, V, T] against ``reference`` (and the training hits)."""
    described, ref_described = describe_batch(patterns, grid), describe_batch(reference, grid)
    stats = metrics.zscore_stats(ref_described)
    z, z_ref = metrics.zscore(described, stats), metrics.zscore(ref_described, stats)
    hits = patterns[:, HIT] > 0.5
    return SetResult(
        name=name,
        n=len(patterns),
        one_nn=metrics.one_nn_accuracy(z, z_ref),
        frechet=metrics.frechet_distance(z, z_ref),
        oa={
            d: metrics.overlap_area(described[:, i], ref_described[:, i])
            for i, d in enumerate(DESCRIPTOR_NAMES)
        },
        oa_intra_inter={
            d: metrics.intra_inter_overlap(ref_described[:, i], described[:, i])
            for i, d in enumerate(DESCRIPTOR_NAMES)
        },
        drum_pattern=metrics.drum_pattern_score(hits, grid),
        hits_per_bar=float(hits.sum(axis=(1, 2)).mean() / grid.bars),
        nn_hamming=float(metrics.hamming_to_set(hits, train_hits).mean()),
        exact_copies=metrics.count_exact_copies(hits, train_hits),
        diversity=metrics.mean_pairwise_hamming(hits),
    )


def merge_repeats(results: list[SetResult]) -> SetResult:
    """One row from repeated draws: means (copies: the total), the spread of 1-NN and Fréchet in ``sd``."""
    first = results[0]
    if len(results) == 1:
        return first
    mean = lambda attr: float(np.mean([getattr(r, attr) for r in results]))  # noqa: E731
    return SetResult(
        name=first.name,
        n=first.n,
        one_nn=mean("one_nn"),
        frechet=mean("frechet"),
        oa={d: float(np.mean([r.oa[d] for r in results])) for d in first.oa},
        oa_intra_inter={d: float(np.mean([r.oa_intra_inter[d] for r in results])) for d in first.oa},
        drum_pattern=mean("drum_pattern"),
        hits_per_bar=mean("hits_per_bar"),
        nn_hamming=mean("nn_hamming"),
        exact_copies=sum(r.exact_copies for r in results),
        diversity=mean("diversity"),
        repeats=len(results),
        sd={a: float(np.std([getattr(r, a) for r in results], ddof=1)) for a in ("one_nn", "frechet")},
    )


def dynamics_rows(
    dataset: RhythmDataset,
    train: RhythmDataset,
    generator: OnnxGenerator,
    repeats: int,
    rng: np.random.Generator,
) -> tuple[list[Dynamics], dict[str, np.ndarray]]:
    """Velocities and offsets of the hits, against every window of the test split: the reference's own
    shares, the floors (validation and train split, every window), and the model (as many generated windows
    as the test split has, conditions and styles of random train windows, ``repeats`` fresh draws)."""
    test = dataset.of_split("test")
    grid = generator.grid
    sets = {"reference": test.patterns, "train": train.patterns}
    validation = dataset.of_split("validation")
    if len(validation):
        sets["real"] = validation.patterns
    rows = [dynamics(name, patterns, test.patterns, grid) for name, patterns in sets.items()]
    drawn = []
    for r in range(repeats):
        requests = draw_requests(train, generator.meta, len(test), rng)
        patterns = generator.sample(requests.cond, requests.style, rng)  # [N, 3, V, T]
        drawn.append(dynamics("model", patterns, test.patterns, grid))
        if r == 0:
            sets["model"] = patterns
    return [*rows, merge_dynamics(drawn)], sets


def evaluate(
    model_path: str | os.PathLike, dataset: RhythmDataset, config: EvalConfig = EvalConfig()
) -> Evaluation:
    started = time.perf_counter()
    rngs = dict(
        zip(
            STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(len(STREAMS))),
            strict=True,
        )
    )
    generator = OnnxGenerator(model_path)
    meta, grid = generator.meta, generator.grid
    if grid != dataset.grid:
        raise UsageError(f"model grid {grid} differs from the dataset's {dataset.grid}")
    if config.beat_type is not None:
        dataset = dataset.select(dataset.beat_type == config.beat_type)
    train = dataset.of_split("train")
    if len(train) < 2:
        raise DataError(f"the dataset has {len(train)} train windows; need >= 2")
    reference, real, label = held_out_sets(dataset, rngs["reference"])
    n = config.n_samples or len(reference)
    result = Evaluation(
        meta.name,
        os.fspath(model_path),
        grid,
        config,
        {"train": len(train), "reference": len(reference), "real": len(real), "generated": n},
        label,
    )

    tick = time.perf_counter()
    train_cond = condition_values(train, meta)  # [M, C]
    train_style = style_indices(train, meta) if meta.has_styles else None
    retrieval = baselines.Retrieval(train.patterns, train_cond, train_style, rngs["retrieval"])
    train_hits = train.patterns[:, HIT] > 0.5
    repeats: dict[str, list[SetResult]] = {}
    first_reference = reference
    for r in range(config.repeats):  # fresh reference windows and fresh sets each time; repeat 0 is plotted
        if r > 0:  # which window of each held-out source is drawn moves 1-NN as much as the model's samples
            reference, real, _ = held_out_sets(dataset, rngs["reference"])
        requests = draw_requests(train, meta, n, rngs["requests"])
        sets = {
            "real": real.patterns,
            "model": generator.sample(requests.cond, requests.style, rngs["model"]),
            "bernoulli": baselines.bernoulli(train.patterns, n, rngs["bernoulli"]),
            "shuffled bars": baselines.shuffled_bars(train.patterns, grid, n, rngs["shuffled"]),
            "retrieval": retrieval.generate(requests.cond, requests.style),
        }
        for name, patterns in sets.items():
            repeats.setdefault(name, []).append(
                set_metrics(name, patterns, reference.patterns, train_hits, grid)
            )
            if r == 0:
                result.descriptors[name] = describe_batch(patterns, grid)
                result.examples[name] = patterns[:4]
    result.rows = [merge_repeats(results) for results in repeats.values()]
    reference = first_reference
    own = set_metrics("reference", reference.patterns, reference.patterns, train_hits, grid)
    own.one_nn = own.frechet = float("nan")  # against itself: trivially 0.5 / 0, not shown
    own.oa = {d: float("nan") for d in own.oa}
    own.oa_intra_inter = dict(own.oa)
    result.rows.insert(0, own)
    result.descriptors["reference"] = describe_batch(reference.patterns, grid)
    result.examples = {"reference": reference.patterns[:4], **result.examples}
    result.seconds["sets and metrics"] = time.perf_counter() - tick
    tick = time.perf_counter()
    result.dynamics, result.dynamics_sets = dynamics_rows(
        dataset, train, generator, config.repeats, rngs["dynamics"]
    )
    result.seconds["dynamics"] = time.perf_counter() - tick

    tick = time.perf_counter()
    result.diversity = diversity.conditional_diversity(
        model_path, train, config.diversity, config.repeats, rngs["diversity"], generator=generator
    )
    result.seconds["diversity"] = time.perf_counter() - tick
    if config.vary_clips and config.search:
        tick = time.perf_counter()
        result.vary = vary_calibration(
            model_path,
            dataset,
            rngs["vary"],
            clips=config.vary_clips,
            repeats=config.repeats,
            n_candidates=config.n_candidates,
        )
        result.seconds["vary"] = time.perf_counter() - tick

    levels = np.linspace(0.0, 1.0, config.sweep_levels)
    freq = style_frequencies(train, meta) if meta.has_styles else None
    skipped = [c for c in meta.condition_names if c not in control.measurable(meta)]
    if skipped:
        result.control_notes.append(f"not swept (not measurable on a pattern): {', '.join(skipped)}")
    tick = time.perf_counter()
    result.control.append(
        control.raw_sweep(
            generator.patterns,
            meta,
            levels,
            per_level=config.sweep_samples,
            style_freq=freq,
            rng=rngs["sweep"],
        )
    )
    result.control[-1].seconds = time.perf_counter() - tick
    if not config.search:
        result.control_notes.append("with search: skipped (--no-search)")
    else:
        tick = time.perf_counter()
        searched = control.search_sweep(
            model_path,
            meta,
            levels,
            per_level=config.sweep_samples,
            style_freq=freq,
            rng=rngs["search"],
            n_candidates=config.n_candidates,
        )
        searched.seconds = time.perf_counter() - tick
        result.control.append(searched)
    tick = time.perf_counter()
    result.control.append(
        control.retrieval_sweep(
            retrieval.generate,
            meta,
            levels,
            per_level=config.sweep_samples,
            style_freq=freq,
            rng=rngs["sweep"],
        )
    )
    result.control[-1].seconds = time.perf_counter() - tick
    result.seconds["total"] = time.perf_counter() - started
    return result
