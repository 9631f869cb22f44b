"""What a producer hears first: the velocities and micro-timing of the hits, per voice.

Pure numpy functions of pattern sets [N, 3, V, T] (hit 0/1, velocity 0..1, offset in steps), compared with a
reference set (held-out real playing). Velocities are compared as the MIDI velocities every note Nudge
writes carries (``companion.core.midi_values.velocities_to_midi``: the nearest, 1..127), offsets in steps.
Definitions: ``docs/evaluation.md``.

- ``histogram_overlap``: sum over bins of min(p_a, p_b) of both normalised histograms (1 = same, 0 = apart).
- velocity overlap: 16 bins over 0..127; offset overlap: 20 bins over -0.5..0.5 steps; over all hits and per
  voice.
- shares of near-silent (velocity < 10) and full-force (>= 120) hits.
- accent profile: mean velocity per voice and position in the bar (16ths of a 4/4 bar), correlated (Pearson)
  with the reference's over the positions both play often enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.core.drum_map import VOICES
from companion.core.midi_values import velocities_to_midi
from companion.core.pattern import HIT, MAX_OFFSET_STEPS, OFFSET, VELOCITY, Grid

VELOCITY_BINS = np.linspace(0.0, 127.0, 17)  # 16 bins of 0..127
OFFSET_BINS = np.linspace(-MAX_OFFSET_STEPS, MAX_OFFSET_STEPS, 21)  # 20 bins of -0.5..0.5 steps
QUIET_BELOW = 10  # MIDI velocity: a hit below this is near-silent on most kits
FULL_FROM = 120  # MIDI velocity: full force
MAIN_VOICES: tuple[str, ...] = ("kick", "snare", "closed_hat")
MIN_VOICE_HITS = 20  # fewer hits of a voice in either set: its overlap is not computed (NaN)
MIN_PROFILE_HITS = 10  # a position of the accent profile counts when both sets have this many hits there


def hit_values(patterns: np.ndarray, voice: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(MIDI velocities, offsets in steps) of every hit of ``patterns`` [N, 3, V, T] (one voice or all)."""
    planes = np.asarray(patterns)
    if planes.ndim != 4 or planes.shape[1] != 3:
        raise ValueError(f"patterns must be [N, 3, V, T], got shape {planes.shape}")
    if voice is not None:
        planes = planes[:, :, voice : voice + 1]
    hits = planes[:, HIT] > 0.5  # [N, V', T]
    return velocities_to_midi(planes[:, VELOCITY][hits]), planes[:, OFFSET][hits].astype(np.float64)


def histogram_overlap(a: np.ndarray, b: np.ndarray, bins: np.ndarray) -> float:
    """Sum of min(p_a, p_b) of the two normalised histograms over ``bins`` (values outside are clipped in).
    NaN when either sample is empty."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if len(a) == 0 or len(b) == 0:
        return math.nan
    low, high = bins[0], bins[-1]
    ha, _ = np.histogram(np.clip(a, low, high), bins)
    hb, _ = np.histogram(np.clip(b, low, high), bins)
    return float(np.minimum(ha / ha.sum(), hb / hb.sum()).sum())


def accent_profile(patterns: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Mean MIDI velocity per voice and position in the bar -> (means [V, S] with NaN where no hit, counts
    [V, S]); S = ``grid.steps_per_bar``, every bar of every pattern pooled."""
    planes = np.asarray(patterns)
    n, _, v, t = planes.shape
    if t != grid.n_steps:
        raise ValueError(f"patterns must have {grid.n_steps} steps, got {t}")
    hits = (planes[:, HIT] > 0.5).reshape(n, v, grid.bars, grid.steps_per_bar)
    velocity = velocities_to_midi(planes[:, VELOCITY]).reshape(hits.shape) * hits
    counts = hits.sum(axis=(0, 2)).astype(np.float64)  # [V, S]
    sums = velocity.sum(axis=(0, 2))  # [V, S]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def profile_correlation(
    means_a: np.ndarray, counts_a: np.ndarray, means_b: np.ndarray, counts_b: np.ndarray
) -> float:
    """Pearson correlation of two accent profiles [S] of one voice over the positions where both have at
    least ``MIN_PROFILE_HITS`` hits; NaN with fewer than 3 such positions or a flat profile."""
    keep = (counts_a >= MIN_PROFILE_HITS) & (counts_b >= MIN_PROFILE_HITS)
    if keep.sum() < 3:
        return math.nan
    a, b = means_a[keep] - means_a[keep].mean(), means_b[keep] - means_b[keep].mean()
    denominator = math.sqrt(float((a**2).sum() * (b**2).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else math.nan


@dataclass
class Dynamics:
    """The hit-level figures of one set against the reference (``reference_*``: the reference's own)."""

    name: str
    hits: int
    velocity_overlap: float  # all hits
    offset_overlap: float  # all hits
    velocity_overlap_voice: dict[str, float]  # per voice (NaN for voices with too few hits)
    offset_overlap_voice: dict[str, float]
    quiet_share: float  # hits with MIDI velocity < QUIET_BELOW
    full_share: float  # hits with MIDI velocity >= FULL_FROM
    mean_abs_offset: float  # steps
    accent_correlation: dict[str, float]  # main voices
    repeats: int = 1
    sd: dict[str, float] = field(default_factory=dict)  # spread over repeats of the headline figures

    def to_dict(self) -> dict:
        return dict(self.__dict__)


HEADLINE = ("velocity_overlap", "offset_overlap", "quiet_share", "full_share", "mean_abs_offset")


def dynamics(name: str, patterns: np.ndarray, reference: np.ndarray, grid: Grid) -> Dynamics:
    """Every hit-level figure of ``patterns`` against ``reference`` (both [N, 3, V, T])."""
    velocity, offset = hit_values(patterns)
    ref_velocity, ref_offset = hit_values(reference)
    vel_voice, off_voice = {}, {}
    for i, voice in enumerate(VOICES):
        v, o = hit_values(patterns, i)
        rv, ro = hit_values(reference, i)
        enough = min(len(v), len(rv)) >= MIN_VOICE_HITS
        vel_voice[voice] = histogram_overlap(v, rv, VELOCITY_BINS) if enough else math.nan
        off_voice[voice] = histogram_overlap(o, ro, OFFSET_BINS) if enough else math.nan
    means, counts = accent_profile(patterns, grid)
    ref_means, ref_counts = accent_profile(reference, grid)
    accents = {
        voice: profile_correlation(
            means[VOICES.index(voice)],
            counts[VOICES.index(voice)],
            ref_means[VOICES.index(voice)],
            ref_counts[VOICES.index(voice)],
        )
        for voice in MAIN_VOICES
    }
    n = max(len(velocity), 1)
    return Dynamics(
        name=name,
        hits=len(velocity),
        velocity_overlap=histogram_overlap(velocity, ref_velocity, VELOCITY_BINS),
        offset_overlap=histogram_overlap(offset, ref_offset, OFFSET_BINS),
        velocity_overlap_voice=vel_voice,
        offset_overlap_voice=off_voice,
        quiet_share=float((velocity < QUIET_BELOW).sum() / n) if len(velocity) else math.nan,
        full_share=float((velocity >= FULL_FROM).sum() / n) if len(velocity) else math.nan,
        mean_abs_offset=float(np.abs(offset).mean()) if len(offset) else math.nan,
        accent_correlation=accents,
    )


def merge_dynamics(results: list[Dynamics]) -> Dynamics:
    """Means over repeated draws (NaN-aware per voice), the standard deviation of each figure in ``sd``."""
    first = results[0]
    if len(results) == 1:
        return first

    def mean(values: list[float]) -> float:
        finite = [v for v in values if math.isfinite(v)]
        return float(np.mean(finite)) if finite else math.nan

    def sd(values: list[float]) -> float:
        finite = [v for v in values if math.isfinite(v)]
        return float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan

    per_voice = ("velocity_overlap_voice", "offset_overlap_voice", "accent_correlation")
    figures: dict[str, Any] = {a: mean([getattr(r, a) for r in results]) for a in HEADLINE}
    figures |= {
        a: {k: mean([getattr(r, a)[k] for r in results]) for k in getattr(first, a)} for a in per_voice
    }
    merged = Dynamics(
        name=first.name,
        hits=round(float(np.mean([r.hits for r in results]))),
        repeats=len(results),
        **figures,
    )
    merged.sd = {a: sd([getattr(r, a) for r in results]) for a in HEADLINE}
    merged.sd["quiet_pct"] = 100 * merged.sd["quiet_share"]
    merged.sd["full_pct"] = 100 * merged.sd["full_share"]
    for a in per_voice:
        for k in getattr(first, a):
            if k in MAIN_VOICES:
                merged.sd[f"{a}.{k}"] = sd([getattr(r, a)[k] for r in results])
    return merged


def selection_penalty(result: Dynamics, reference: Dynamics | None = None) -> float:
    """One number for model selection (lower is better, 0 = the reference's own figures): the mean shortfall
    of the velocity and offset overlaps (all hits and the main voices) and of the accent correlations, plus
    the distance of the near-silent and full-force shares from the reference's. ``reference`` gives those
    shares (its own overlaps are 1 by definition)."""
    overlaps = [result.velocity_overlap, result.offset_overlap]
    overlaps += [result.velocity_overlap_voice[v] for v in MAIN_VOICES]
    overlaps += [result.offset_overlap_voice[v] for v in MAIN_VOICES]
    accents = [result.accent_correlation[v] for v in MAIN_VOICES]
    shortfall = [1.0 - x for x in overlaps if math.isfinite(x)] or [1.0]
    accent_gap = [(1.0 - x) / 2.0 for x in accents if math.isfinite(x)] or [1.0]
    quiet_ref = reference.quiet_share if reference is not None else 0.0
    full_ref = reference.full_share if reference is not None else 0.0
    shares = abs(_or(result.quiet_share, 1.0) - quiet_ref) + abs(_or(result.full_share, 1.0) - full_ref)
    return float(np.mean(shortfall) + np.mean(accent_gap) + shares)


def _or(value: float, default: float) -> float:
    return value if math.isfinite(value) else default
