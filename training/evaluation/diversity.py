"""Conditional diversity: how different the takes are at ONE style and slider setting (issue 21).

A metric that draws a new style and new sliders for every sample (``evaluate``'s sets) cannot see a
generator that ignores its noise: every sample differs because its inputs differ. Here the inputs are held
fixed and only the noise changes:

- **settings**: the style and sliders (normalised by the model's own table) of random train windows;
- **raw**: ``samples`` latent vectors through the generator alone at each setting;
- **search**: ``samples`` seeds through the daemon's own ``companion.runtime.search.search`` (generator
  plus candidate search) at each setting: what a producer gets from "generate again" or ``--count``;
- **real**: the yardstick, from the train split in the same run: pairs of windows of the same style, from
  different files, whose sliders all lie within ``SLIDER_TOLERANCE`` of each other. For each of
  ``reference_anchors`` random train windows, up to ``pairs_per_anchor`` of its partners are drawn.

The change between two patterns is ``companion.runtime.candidates.hit_change``, |a xor b| / (|a| + |b|): 0 the
same hits, 1 none shared. A pair is a near duplicate when it shares more than 90% of its hits (change below
``NEAR_DUPLICATE``). Each figure is a median over all pairs of a repeat; repeats draw fresh settings,
noise and anchors, and the rows give their mean and standard deviation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from companion.core.errors import DataError, UsageError
from companion.core.pattern import HIT
from companion.runtime.candidates import hit_change
from training.dataset import RhythmDataset
from training.evaluation.sampling import OnnxGenerator, condition_values, style_indices

NEAR_DUPLICATE = 0.1  # hit change below this: the pair shares more than 90% of its hits
SLIDER_TOLERANCE = 0.1  # real pairs: every slider within this of the other window's
PATHS = ("real", "raw", "search")


@dataclass(frozen=True)
class DiversityConfig:
    settings: int = 64  # fixed (style, sliders) settings per repeat
    samples: int = 16  # takes per setting (raw: latent vectors; search: seeds)
    reference_anchors: int = 512  # real reference: anchor windows per repeat
    pairs_per_anchor: int = 4  # real reference: partners drawn per anchor (fewer where it has fewer)
    n_candidates: int = 64  # the search's candidates per request (the daemon's default)
    search: bool = True


@dataclass
class DiversityRow:
    path: str  # "real", "raw" or "search"
    median: float  # median pairwise hit change (mean over repeats)
    p10: float
    p90: float
    near_duplicates: float  # share of pairs sharing more than 90% of their hits
    pairs: int  # pairs per repeat (mean)
    repeats: int = 1
    sd: dict[str, float] = field(default_factory=dict)  # over repeats: median, near_duplicates
    ratio: float = float("nan")  # median / the real reference's median (same run)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Diversity:
    rows: list[DiversityRow]
    changes: dict[str, np.ndarray]  # path -> every pairwise change of repeat 0 (for the plot)
    setting_medians: dict[str, np.ndarray]  # "raw"/"search" -> [settings] median change per setting, repeat 0
    config: DiversityConfig

    def row(self, path: str) -> DiversityRow:
        return next(r for r in self.rows if r.path == path)

    def to_dict(self) -> dict:
        return {"config": self.config.__dict__, "rows": [r.to_dict() for r in self.rows]}


def pairwise_changes(hits: np.ndarray) -> np.ndarray:
    """Hit change of every distinct pair of ``hits`` [K, V, T] -> [K * (K - 1) / 2]."""
    hits = np.asarray(hits) > 0
    first, second = np.triu_indices(len(hits), k=1)
    return hit_change(hits[first], hits[second])


def partners(
    anchor: int, cond: np.ndarray, style: np.ndarray, source: np.ndarray, tolerance: float = SLIDER_TOLERANCE
) -> np.ndarray:
    """Rows of the windows that may pair with window ``anchor``: same style, another file, every slider
    within ``tolerance`` -> int [P]."""
    close = np.abs(cond - cond[anchor]).max(axis=1) <= tolerance + 1e-6
    return np.flatnonzero(close & (style == style[anchor]) & (source != source[anchor]))


def real_changes(
    hits: np.ndarray,
    cond: np.ndarray,
    style: np.ndarray,
    source: np.ndarray,
    *,
    anchors: np.ndarray,
    per_anchor: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The real reference: hit changes between each anchor window and up to ``per_anchor`` random partners
    (``partners``) -> [P]. ``hits`` [M, V, T], ``cond`` [M, C] normalised, ``style`` [M], ``source`` [M]."""
    changes = []
    for anchor in anchors:
        found = partners(int(anchor), cond, style, source)
        if len(found):
            chosen = rng.choice(found, size=min(per_anchor, len(found)), replace=False)
            changes.append(hit_change(hits[chosen], hits[anchor][None]))
    return np.concatenate(changes) if changes else np.zeros(0)


def summarise(path: str, per_repeat: list[np.ndarray]) -> DiversityRow:
    """One row from the pairwise changes of each repeat."""
    kept = [c for c in per_repeat if len(c)]
    if not kept:
        return DiversityRow(path, float("nan"), float("nan"), float("nan"), float("nan"), 0, len(per_repeat))
    medians = [float(np.median(c)) for c in kept]
    near = [float((c < NEAR_DUPLICATE).mean()) for c in kept]
    row = DiversityRow(
        path=path,
        median=float(np.mean(medians)),
        p10=float(np.mean([np.percentile(c, 10) for c in kept])),
        p90=float(np.mean([np.percentile(c, 90) for c in kept])),
        near_duplicates=float(np.mean(near)),
        pairs=round(float(np.mean([len(c) for c in kept]))),
        repeats=len(kept),
    )
    if len(kept) > 1:
        row.sd = {"median": float(np.std(medians, ddof=1)), "near_duplicates": float(np.std(near, ddof=1))}
    return row


def _settings(train: RhythmDataset, generator: OnnxGenerator, n: int, rng: np.random.Generator):
    """``n`` random train windows whose style the model knows -> (cond [n, C], style [n] or None)."""
    meta = generator.meta
    known = np.arange(len(train))
    style = style_indices(train, meta) if meta.has_styles else None
    if style is not None:
        known = np.flatnonzero(style >= 0)
    if len(known) == 0:
        raise DataError("no train window has a style of this model: no settings for the diversity test")
    rows = rng.choice(known, size=n, replace=n > len(known))
    cond = condition_values(train.select(rows), meta)
    return cond, None if style is None else style[rows]


def _raw(generator: OnnxGenerator, cond, style, samples: int, rng) -> tuple[list[np.ndarray], np.ndarray]:
    """Pairwise changes per setting of ``samples`` latent vectors at each fixed setting."""
    n = len(cond)
    z = rng.standard_normal((n * samples, generator.meta.latent_dim)).astype(np.float32)  # [n*K, L]
    rows = np.repeat(np.arange(n), samples)
    out = generator.patterns(z, cond[rows], None if style is None else style[rows])  # [n*K, 3, V, T]
    hits = out[:, HIT].reshape(n, samples, *out.shape[2:]) > 0.5
    per_setting = [pairwise_changes(h) for h in hits]
    return per_setting, np.array([np.median(c) for c in per_setting])


def _search(model, cond, style, samples: int, n_candidates: int, rng):
    """Pairwise changes per setting of ``samples`` seeds through the daemon's search at each setting."""
    from companion.runtime.search import SearchRequest, search

    meta = model.meta
    per_setting = []
    for i in range(len(cond)):
        sliders = dict(zip(meta.condition_names, (float(v) for v in cond[i]), strict=True))
        name = None if style is None else meta.styles[int(style[i])]
        takes = [
            search(
                model,
                SearchRequest.of(meta, seed=int(s), sliders=sliders, style=name, candidates=n_candidates),
            ).hits
            for s in rng.integers(0, 2**31 - 1, size=samples)
        ]
        per_setting.append(pairwise_changes(np.stack(takes)))
    return per_setting, np.array([np.median(c) for c in per_setting])


def conditional_diversity(
    model_path: str | os.PathLike,
    train: RhythmDataset,
    config: DiversityConfig,
    repeats: int,
    rng: np.random.Generator,
    *,
    generator: OnnxGenerator | None = None,
) -> Diversity:
    """The rows real / raw / search (``PATHS``) for the model at ``model_path`` on the ``train`` split."""
    if config.settings < 1 or config.samples < 2 or repeats < 1:
        raise UsageError("the diversity test needs >= 1 setting, >= 2 samples per setting and >= 1 repeat")
    generator = generator or OnnxGenerator(model_path)
    meta = generator.meta
    model = None
    if config.search:
        from companion.runtime.model import load_model

        model = load_model(model_path)  # one thread: the daemon's own settings
    train_cond = condition_values(train, meta)  # [M, C]
    train_style = style_indices(train, meta) if meta.has_styles else np.zeros(len(train), np.int64)
    train_hits = train.patterns[:, HIT] > 0.5
    changes: dict[str, list[np.ndarray]] = {path: [] for path in PATHS}
    plot: dict[str, np.ndarray] = {}
    medians: dict[str, np.ndarray] = {}
    for r in range(repeats):
        anchors = rng.choice(len(train), size=min(config.reference_anchors, len(train)), replace=False)
        real = real_changes(
            train_hits,
            train_cond,
            train_style,
            train.source,
            anchors=anchors,
            per_anchor=config.pairs_per_anchor,
            rng=rng,
        )
        cond, style = _settings(train, generator, config.settings, rng)
        raw, raw_medians = _raw(generator, cond, style, config.samples, rng)
        drawn = {"real": real, "raw": np.concatenate(raw)}
        if model is not None:
            searched, search_medians = _search(model, cond, style, config.samples, config.n_candidates, rng)
            drawn["search"] = np.concatenate(searched)
        for path, values in drawn.items():
            changes[path].append(values)
        if r == 0:
            plot = dict(drawn)
            medians = {"raw": raw_medians, **({"search": search_medians} if model is not None else {})}
    rows = [summarise(path, values) for path, values in changes.items() if values]
    real_median = rows[0].median
    for row in rows:
        row.ratio = row.median / real_median if real_median > 0 else float("nan")
    return Diversity(rows, plot, medians, config)


def plot_diversity(diversity: Diversity) -> bytes:
    """Two panels: the distribution (ECDF) of pairwise hit changes per path, and the per-setting medians."""
    from matplotlib.figure import Figure

    from training.evaluation.figures import png_bytes

    figure = Figure(figsize=(10, 3.6))
    left, right = figure.subplots(1, 2)
    for path, values in diversity.changes.items():
        if len(values):
            ordered = np.sort(values)
            row = diversity.row(path)
            left.step(
                ordered,
                np.arange(1, len(ordered) + 1) / len(ordered),
                where="post",
                label=f"{path}: median {row.median:.2f}, near-dup {100 * row.near_duplicates:.1f}%",
            )
    left.axvline(NEAR_DUPLICATE, color="0.5", linestyle=":", linewidth=1)
    left.set_xlim(0, 1)
    left.set_xlabel("pairwise hit change |a xor b| / (|a| + |b|)", fontsize=8)
    left.set_ylabel("share of pairs (ECDF)", fontsize=8)
    left.set_title("Takes at one fixed style and slider setting vs real neighbours", fontsize=9)
    left.legend(fontsize=7)
    bins = np.linspace(0, 1, 26)
    for path, values in diversity.setting_medians.items():
        right.hist(values, bins=bins, histtype="step", linewidth=1.4, label=path)
    real = diversity.row("real").median
    right.axvline(real, color="k", linestyle="--", linewidth=1, label=f"real median {real:.2f}")
    right.set_xlabel("median hit change among the takes of one setting", fontsize=8)
    right.set_ylabel("settings", fontsize=8)
    right.set_title("Per setting", fontsize=9)
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.tick_params(labelsize=7)
    return png_bytes(figure)


LEGEND = (
    "Takes at one fixed style and slider setting (those of a random train window; only the noise changes): "
    "**raw** = latent vectors through the generator alone, **search** = seeds through "
    "`companion.runtime.search.search` (what `nudge generate --count` and the device give); **real** = "
    "pairs of train windows of one style from different files with every slider within ±0.1. **change** = "
    "|a xor b| / (|a| + |b|) of the hits, median (p10-p90) over the pairs; **near-dup** = share of pairs "
    "sharing more than 90% of their hits; **x real** = median / the real median of the same run. Mean ± sd "
    "over the repeats."
)


def diversity_table_rows(diversity: Diversity) -> list[list[str]]:
    """Header and one row per path (real, raw, search)."""
    rows = [["path", "settings x takes", "pairs", "change median", "p10-p90", "near-dup %", "x real"]]
    config = diversity.config
    for r in diversity.rows:
        shape = "-" if r.path == "real" else f"{config.settings} x {config.samples}"
        sd_median = f"±{r.sd['median']:.3f}" if "median" in r.sd else ""
        sd_near = f"±{100 * r.sd['near_duplicates']:.1f}" if "near_duplicates" in r.sd else ""
        rows.append(
            [
                r.path,
                shape,
                str(r.pairs),
                f"{r.median:.3f}{sd_median}",
                f"{r.p10:.2f}-{r.p90:.2f}",
                f"{100 * r.near_duplicates:.1f}{sd_near}",
                f"{r.ratio:.2f}",
            ]
        )
    return rows
