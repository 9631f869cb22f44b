"""The rhythm pattern: a grid of voices x steps with hit, velocity and micro-timing planes.

A batch of patterns travels as one float32 array of shape [N, 3, V, T] (``PLANES`` order), which is also
the ONNX generator's output; a single ``Pattern`` is the validated, named form of one such [3, V, T] slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from companion.core.drum_map import N_VOICES
from companion.core.errors import UsageError

PLANES: tuple[str, ...] = ("hit", "velocity", "offset")
HIT, VELOCITY, OFFSET = 0, 1, 2
MAX_OFFSET_STEPS = 0.5
MAX_BARS = 8
# the candidate search's width, one range wherever it is asked for: nudge generate --candidates, the OSC
# option `candidates`, the evaluation (companion.runtime.search_request enforces it)
DEFAULT_CANDIDATES, MIN_CANDIDATES, MAX_CANDIDATES = 64, 1, 1024
# time signatures we support: numerator over a quarter-note beat
SUPPORTED_TIME_SIGNATURES: dict[tuple[int, int], int] = {(4, 4): 4, (3, 4): 3, (2, 4): 2, (5, 4): 5}
# How much of a trailing partial bar makes it a bar (see ``whole_bars``):
CLIP_PARTIAL_BAR = 1e-9  # a clip's loop length is exact: any part of a bar counts (float noise aside)
FILE_PARTIAL_BAR = 0.5  # a .mid file ends where its last note rings out: a bar counts when half played


def whole_bars(length: float, bar_length: float, partial_bar: float) -> int:
    """The bars that ``length`` spans (any unit: beats, ticks; ``bar_length`` in the same), a trailing
    partial bar counting when at least ``partial_bar`` (a fraction of a bar) of it is there. May be 0; no
    upper limit (a whole performance)."""
    return math.floor(length / bar_length + 1.0 - partial_bar)


def bars_for_length(length_beats: float, beats_per_bar: float, partial_bar: float) -> int:
    """``whole_bars`` as a pattern's length: 1..MAX_BARS."""
    return min(MAX_BARS, max(1, whole_bars(length_beats, beats_per_bar, partial_bar)))


@dataclass(frozen=True)
class Grid:
    """The time grid of a pattern: ``steps_per_beat`` (4 = 16ths), ``beats_per_bar`` and ``bars``."""

    steps_per_beat: int = 4
    beats_per_bar: int = 4
    bars: int = 4

    def __post_init__(self) -> None:
        _check_int("steps_per_beat", self.steps_per_beat, 1, 12)
        _check_int("beats_per_bar", self.beats_per_bar, 2, 7)
        _check_int("bars", self.bars, 1, MAX_BARS)

    @property
    def steps_per_bar(self) -> int:
        return self.steps_per_beat * self.beats_per_bar

    @property
    def n_steps(self) -> int:
        return self.steps_per_bar * self.bars

    @property
    def length_beats(self) -> float:
        return float(self.beats_per_bar * self.bars)

    def with_bars(self, bars: int) -> Grid:
        return Grid(self.steps_per_beat, self.beats_per_bar, bars)

    @classmethod
    def from_time_signature(
        cls, numerator: int, denominator: int, bars: int, steps_per_beat: int = 4
    ) -> Grid:
        """Grid for a time signature; raises ``ValueError`` naming the supported ones otherwise."""
        beats = SUPPORTED_TIME_SIGNATURES.get((int(numerator), int(denominator)))
        if beats is None:
            allowed = ", ".join(f"{n}/{d}" for n, d in SUPPORTED_TIME_SIGNATURES)
            raise UsageError(f"time signature {numerator}/{denominator} is not supported; allowed: {allowed}")
        return cls(steps_per_beat=steps_per_beat, beats_per_bar=beats, bars=bars)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(f"{name} must be an int in {low}..{high}, got {value!r}")


@dataclass(frozen=True, eq=False)
class Pattern:
    """One pattern: ``hits`` (bool [V, T]), ``velocities`` (0..1) and ``offsets_steps`` (-0.5..0.5).

    Velocity and offset are meaningful only where a hit is; they are stored as 0 elsewhere.
    """

    grid: Grid
    hits: np.ndarray  # bool [V, T]
    velocities: np.ndarray  # float32 [V, T], 0..1
    offsets_steps: np.ndarray  # float32 [V, T], -0.5..0.5

    def __post_init__(self) -> None:
        shape = (N_VOICES, self.grid.n_steps)
        hits = np.asarray(self.hits)
        for name, plane in (
            ("hits", hits),
            ("velocities", self.velocities),
            ("offsets_steps", self.offsets_steps),
        ):
            if np.shape(plane) != shape:
                raise ValueError(f"{name} must have shape {shape} (voices x steps), got {np.shape(plane)}")
        velocities = np.asarray(self.velocities, dtype=np.float32)
        offsets = np.asarray(self.offsets_steps, dtype=np.float32)
        if not (np.all(np.isfinite(velocities)) and np.all(np.isfinite(offsets))):
            raise ValueError("velocities and offsets_steps must be finite (no NaN or inf)")
        hits = hits.astype(bool)
        if np.any((velocities[hits] < 0) | (velocities[hits] > 1)):
            raise ValueError("velocities must be in 0..1 where there is a hit")
        if np.any(np.abs(offsets[hits]) > MAX_OFFSET_STEPS + 1e-6):
            raise ValueError(f"offsets_steps must be in -{MAX_OFFSET_STEPS}..{MAX_OFFSET_STEPS}")
        object.__setattr__(self, "hits", hits)
        object.__setattr__(self, "velocities", np.where(hits, velocities, 0).astype(np.float32))
        object.__setattr__(self, "offsets_steps", np.where(hits, offsets, 0).astype(np.float32))

    @classmethod
    def empty(cls, grid: Grid) -> Pattern:
        zeros = np.zeros((N_VOICES, grid.n_steps), dtype=np.float32)
        return cls(grid, zeros.astype(bool), zeros, zeros.copy())

    @classmethod
    def from_array(cls, array: np.ndarray, grid: Grid, hit_threshold: float = 0.5) -> Pattern:
        """From a [3, V, T] array (hit probability, velocity, offset), thresholding the hit plane."""
        array = np.asarray(array, dtype=np.float32)
        if array.shape != (len(PLANES), N_VOICES, grid.n_steps):
            raise ValueError(
                f"pattern array must have shape {(3, N_VOICES, grid.n_steps)}, got {array.shape}"
            )
        hits = array[HIT] >= hit_threshold  # [V, T]
        zero = np.float32(0)
        velocities = np.where(hits, np.clip(array[VELOCITY], zero, np.float32(1)), zero)  # [V, T]
        offsets = np.where(hits, np.clip(array[OFFSET], -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS), zero)
        if not (np.isfinite(velocities).all() and np.isfinite(offsets).all()):
            raise ValueError("velocities and offsets_steps must be finite (no NaN or inf)")
        return cls.unchecked(grid, hits, velocities, offsets)  # in range, zero where no hit: by construction

    @classmethod
    def unchecked(
        cls, grid: Grid, hits: np.ndarray, velocities: np.ndarray, offsets_steps: np.ndarray
    ) -> Pattern:
        """A pattern from planes the caller guarantees to be valid (bool hits; float32 velocity and offset in
        range, finite, 0 where no hit), skipping ``__post_init__``'s checks: for the daemon's hot path."""
        pattern = object.__new__(cls)
        for name, value in (
            ("grid", grid),
            ("hits", hits),
            ("velocities", velocities),
            ("offsets_steps", offsets_steps),
        ):
            object.__setattr__(pattern, name, value)
        return pattern

    def to_array(self) -> np.ndarray:
        """[3, V, T] float32: hit (0/1), velocity, offset."""
        return np.stack([self.hits.astype(np.float32), self.velocities, self.offsets_steps])

    @property
    def n_hits(self) -> int:
        return int(self.hits.sum())

    def same_as(self, other: Pattern, atol: float = 1e-6) -> bool:
        return (
            self.grid == other.grid
            and bool(np.array_equal(self.hits, other.hits))
            and bool(np.allclose(self.velocities, other.velocities, atol=atol))
            and bool(np.allclose(self.offsets_steps, other.offsets_steps, atol=atol))
        )


def binarize(batch: np.ndarray, hit_threshold: float = 0.5) -> np.ndarray:
    """[N, 3, V, T] -> same shape with the hit plane 0/1 and velocity/offset zeroed where no hit."""
    batch = np.asarray(batch, dtype=np.float32)
    hits = (batch[:, HIT] >= hit_threshold).astype(np.float32)  # [N, V, T]
    out = np.empty_like(batch)
    out[:, HIT] = hits
    out[:, VELOCITY] = np.clip(batch[:, VELOCITY], 0, 1) * hits
    out[:, OFFSET] = np.clip(batch[:, OFFSET], -MAX_OFFSET_STEPS, MAX_OFFSET_STEPS) * hits
    return out


def without_voices(pattern: Pattern, voices: tuple[int, ...]) -> Pattern:
    """``pattern`` with no hit on ``voices`` (e.g. kept voices, whose notes travel as the clip sent them)."""
    if not voices:
        return pattern
    hits = pattern.hits.copy()
    hits[list(voices)] = False
    velocities, offsets = pattern.velocities.copy(), pattern.offsets_steps.copy()
    velocities[~hits], offsets[~hits] = 0, 0
    return Pattern.unchecked(pattern.grid, hits, velocities, offsets)
