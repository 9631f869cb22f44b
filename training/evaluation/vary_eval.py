"""Nudge means the same on every clip: how much ``vary`` changes a real clip and a clip Nudge made.

For each amount, ``vary`` (``companion.runtime.search``, the daemon's own code, called as ``nudge generate
--from CLIP --style S --amount A`` calls it: the clip's own sliders, the clip's style, 64 candidates) nudges

- **real** clips: windows of the test split (held out), one per source file, with their GMD style;
- **made** clips: patterns ``engine.generate`` made at the style and sliders of random train windows;

and the change is ``candidates.hit_change`` between the clip and the result. A generator whose takes at one
setting are all alike cannot nudge its own clips: at the clip's own sliders every candidate is the clip
again. The figures are the medians over the clips, mean ± sd over repeats, and made / real per amount.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from companion.core.errors import DataError
from companion.core.pattern import Pattern
from companion.runtime.candidates import hit_change
from companion.runtime.model import load_model
from companion.runtime.search import SearchRequest, search
from training.dataset import RhythmDataset
from training.evaluation.sampling import condition_values, style_indices

AMOUNTS = (0.05, 0.2, 0.5, 1.0)
KINDS = ("real", "made")


@dataclass
class VaryResult:
    amounts: tuple[float, ...]
    clips: int
    repeats: int
    median: dict[str, list[float]] = field(default_factory=dict)  # kind -> per amount, mean over repeats
    sd: dict[str, list[float]] = field(default_factory=dict)  # kind -> per amount, over repeats

    def ratio(self) -> list[float]:
        """made / real per amount."""
        pairs = zip(self.median["made"], self.median["real"], strict=True)
        return [m / r if r > 0 else float("nan") for m, r in pairs]

    def to_dict(self) -> dict:
        return {**self.__dict__, "ratio": self.ratio()}


Clip = tuple[Pattern, str | None]  # a clip and its style (None: one the model lacks, so "any")


def _styles(meta, data: RhythmDataset) -> list[str | None]:
    if not meta.has_styles:
        return [None] * len(data)
    return [None if i < 0 else meta.styles[int(i)] for i in style_indices(data, meta)]


def _made_clips(model, train: RhythmDataset, n: int, rng: np.random.Generator) -> list[Clip]:
    meta = model.meta
    chosen = train.select(rng.choice(len(train), size=n, replace=n > len(train)))
    cond = condition_values(chosen, meta)
    clips = []
    for sliders_row, style in zip(cond, _styles(meta, chosen), strict=True):
        sliders = dict(zip(meta.condition_names, (float(v) for v in sliders_row), strict=True))
        request = SearchRequest.of(meta, seed=int(rng.integers(2**31 - 1)), sliders=sliders, style=style)
        clips.append((search(model, request), style))
    return clips


def _real_clips(meta, test: RhythmDataset, n: int, rng: np.random.Generator) -> list[Clip]:
    _, groups = np.unique(test.source, return_inverse=True)
    order = rng.permutation(len(test))
    _, first = np.unique(groups[order], return_index=True)  # one random window per source file
    chosen = test.select(rng.permutation(order[first])[:n])
    patterns = [Pattern.from_array(p, test.grid, meta.hit_threshold) for p in chosen.patterns]
    return list(zip(patterns, _styles(meta, chosen), strict=True))


def vary_calibration(
    model_path: str | os.PathLike,
    dataset: RhythmDataset,
    rng: np.random.Generator,
    *,
    clips: int = 48,
    repeats: int = 5,
    amounts: tuple[float, ...] = AMOUNTS,
    n_candidates: int = 64,
) -> VaryResult:
    """The median change ``vary`` makes at each amount, on real (test split) and made clips."""
    model = load_model(model_path)
    train, test = dataset.of_split("train"), dataset.of_split("test")
    if len(test) == 0 or len(train) == 0:
        raise DataError("the vary calibration needs train and test windows")
    per_repeat: dict[str, list[list[float]]] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        sets = {
            "real": _real_clips(model.meta, test, clips, rng),
            "made": _made_clips(model, train, clips, rng),
        }
        for kind, patterns in sets.items():
            medians = []
            for amount in amounts:
                seeds = rng.integers(0, 2**31 - 1, size=len(patterns))
                changes = []
                for (clip, style), seed in zip(patterns, seeds, strict=True):
                    request = SearchRequest.of(
                        model.meta,
                        seed=int(seed),
                        style=style,
                        candidates=n_candidates,
                        amount=amount,
                        clip=clip,
                    )
                    changes.append(float(hit_change(clip.hits, search(model, request).hits)))
                medians.append(float(np.median(changes)))
            per_repeat[kind].append(medians)
    result = VaryResult(tuple(amounts), clips, repeats)
    for kind, rows in per_repeat.items():
        values = np.array(rows)  # [R, A]
        result.median[kind] = values.mean(axis=0).tolist()
        result.sd[kind] = (values.std(axis=0, ddof=1) if repeats > 1 else np.zeros(len(amounts))).tolist()
    return result


def vary_table_rows(result: VaryResult) -> list[list[str]]:
    """Header (amounts) and rows: median change on real and made clips, and made / real."""
    rows = [["clips", *(f"amount {a:g}" for a in result.amounts)]]
    for kind in KINDS:
        cells = [f"{m:.3f}±{s:.3f}" for m, s in zip(result.median[kind], result.sd[kind], strict=True)]
        rows.append([f"{kind} ({result.clips} x {result.repeats})", *cells])
    rows.append(["made / real", *(f"{r:.2f}" for r in result.ratio())])
    return rows


VARY_NOTE = (
    "`vary` as `nudge generate --from CLIP --style S --amount A` runs it (the clip's own sliders and style, "
    "64 candidates), on **real** clips (test split, one window per file) and on clips Nudge **made** (at the "
    "style and sliders of random train windows): median `hit_change` between clip and result over the clips, "
    "mean ± sd over the repeats."
)
