"""How well do voice lock's new voices fit the kept ones? The realism figures of ``nudge-train evaluate`` on
whole patterns (kept voices + new voices) against the held-out reference.

Clips: the "real" set of ``training.evaluation.evaluate`` (validation split, one window per source);
reference: the test split, one window per source; both redrawn every repeat. For every clip the kept
voices (default kick and snare) stay, the others come from:

| row | the other voices |
|---|---|
| real | the clip's own (the ceiling: real patterns, scored like a model) |
| other real | another clip's (real playing, but not played with these kept voices: fit-free) |
| one sample | one generator sample under the clip's measured conditions (no search) |
| best of N | ``lock.search_segment`` with one round of 3 x candidates (conditional sampling, same budget) |
| latent search | ``lock.search_segment`` as served: 3 rounds of the candidates (the shipped default) |

A row whose new voices fit as well as the clip's own scores like "real"; "other real" shows what the figures
say of voices that do not belong together. ``fit`` is the kept voices' ``hit_change`` between the chosen
candidate and the clip (0: the generator itself played the kept voices exactly as the clip does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from companion.core.drum_map import VOICES
from companion.core.errors import UsageError
from companion.core.pattern import HIT, Pattern, binarize
from companion.runtime import lock
from companion.runtime.candidates import vary_conditions
from companion.runtime.model import load_model
from companion.runtime.search import DEFAULT_CANDIDATES, SearchRequest
from training.dataset import RhythmDataset
from training.evaluation.evaluate import SetResult, held_out_sets, merge_repeats, set_metrics

ROWS = ("real", "other real", "one sample", "best of N", "latent search")


@dataclass
class LockEvaluation:
    model_name: str
    keep: tuple[str, ...]
    candidates: int
    repeats: int
    n_clips: int
    rows: list[SetResult] = field(default_factory=list)
    fit: dict[str, float] = field(default_factory=dict)  # row -> mean kept-voice hit_change of the chosen
    ms_per_clip: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        head = f"{'set':<14} {'1-NN acc':>14} {'Frechet':>13} {'OA':>6} {'OA Y&L':>7} {'hits/bar':>8}"
        head += f" {'fit':>6}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            nn = f"{r.one_nn:.3f}±{r.sd.get('one_nn', 0):.3f}"
            fr = f"{r.frechet:.2f}±{r.sd.get('frechet', 0):.2f}"
            fit = self.fit.get(r.name)
            fit_text = "" if fit is None else f"{fit:.3f}"
            lines.append(
                f"{r.name:<14} {nn:>14} {fr:>13} {r.oa_mean:>6.3f} {r.oa_intra_inter_mean:>7.3f} "
                f"{r.hits_per_bar:>8.1f} {fit_text:>6}"
            )
        return "\n".join(lines)


def evaluate_lock(
    model_path: str,
    dataset: RhythmDataset,
    keep: tuple[int, ...],
    *,
    candidates: int = DEFAULT_CANDIDATES,
    repeats: int = 5,
    seed: int = 0,
    slider_weight: float = lock.SLIDER_WEIGHT,
) -> LockEvaluation:
    model = load_model(model_path)
    grid = model.meta.grid
    if grid != dataset.grid:
        raise UsageError(f"model grid {grid} differs from the dataset's {dataset.grid}")
    if not keep:
        raise UsageError("keep names no voice")
    train_hits = dataset.of_split("train").patterns[:, HIT] > 0.5
    rng = np.random.default_rng(seed)
    keep_list = list(keep)
    searches = {"one sample": (1, 1), "best of N": (3 * candidates, 1), "latent search": (candidates, 3)}
    per_row: dict[str, list[SetResult]] = {name: [] for name in ROWS}
    fits: dict[str, list[float]] = {name: [] for name in searches}
    seconds: dict[str, float] = dict.fromkeys(searches, 0.0)
    n_clips = 0
    for _ in range(repeats):
        reference, real, _ = held_out_sets(dataset, rng)
        clips = real.patterns  # [N, 3, V, T]
        n_clips += len(clips)
        others = clips[rng.permutation(len(clips))]
        sets = {"real": clips, "other real": others.copy()}
        sets["other real"][:, :, keep_list] = clips[:, :, keep_list]
        for name, (n, rounds) in searches.items():
            out = np.empty_like(clips)
            tick = time.perf_counter()
            for i, array in enumerate(clips):
                clip = Pattern.from_array(array, grid, 0.5)
                cond = vary_conditions(model, clip, {})
                seed_i = int(rng.integers(0, 2**31 - 1))
                request = SearchRequest.of(
                    model.meta, seed=seed_i, candidates=n, keep=keep, clip=clip, amount=1
                )
                out[i], fit = lock.search_segment(
                    model, request, cond, rounds=rounds, slider_weight=slider_weight
                )
                fits[name].append(fit)
            seconds[name] += time.perf_counter() - tick
            sets[name] = binarize(out, model.meta.hit_threshold)
        for name, patterns in sets.items():
            per_row[name].append(set_metrics(name, patterns, reference.patterns, train_hits, grid))
    result = LockEvaluation(model.name, tuple(VOICES[v] for v in keep), candidates, repeats, n_clips)
    result.rows = [merge_repeats(per_row[name]) for name in ROWS]
    result.fit = {name: float(np.mean(values)) for name, values in fits.items()}
    result.ms_per_clip = {name: 1e3 * s / max(1, n_clips) for name, s in seconds.items()}
    return result
