"""The hit-level figures of the evaluation: velocity/offset histograms, shares, accent profiles."""

import math

import numpy as np
import pytest

from companion.core.drum_map import N_VOICES, VOICE_INDEX
from companion.core.midi_values import midi_to_velocities, velocities_to_midi
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid
from training.evaluation.dynamics import (
    OFFSET_BINS,
    VELOCITY_BINS,
    accent_profile,
    dynamics,
    histogram_overlap,
    hit_values,
    merge_dynamics,
    profile_correlation,
    selection_penalty,
)

GRID = Grid(4, 4, 2)


def _patterns(n: int, seed: int, velocity=(0.2, 0.9), offset=(-0.2, 0.2), accent: float = 0.0) -> np.ndarray:
    """[n, 3, V, T]: kick, snare and hat grooves; ``accent`` adds loudness on the beat."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 3, N_VOICES, GRID.n_steps), dtype=np.float32)
    hits = rng.random((n, N_VOICES, GRID.n_steps)) < 0.3
    out[:, HIT] = hits
    on_beat = (np.arange(GRID.n_steps) % GRID.steps_per_beat == 0).astype(np.float32)
    loud = np.clip(rng.uniform(*velocity, hits.shape) + accent * on_beat, 0, 1)
    out[:, VELOCITY] = hits * loud
    out[:, OFFSET] = hits * rng.uniform(*offset, hits.shape)
    return out


def test_midi_velocities_are_the_notes_the_daemon_writes():
    values = np.array([0.0, 0.001, 0.5, 0.5 / 127, 1.5 / 127, 0.9999, 1.0])
    assert velocities_to_midi(values).tolist() == [1, 1, 64, 1, 2, 127, 127]  # nearest, halves to even, >= 1
    every = np.arange(1, 128)
    assert velocities_to_midi(midi_to_velocities(every)).tolist() == every.tolist()  # both ways, exactly


def test_histogram_overlap_known_values():
    a = np.array([1.0, 2.0, 3.0, 100.0])
    assert histogram_overlap(a, a, VELOCITY_BINS) == pytest.approx(1.0)
    assert histogram_overlap(np.full(5, 3.0), np.full(5, 120.0), VELOCITY_BINS) == 0.0
    # half of b's hits in a's bin: overlap 0.5; values beyond the range are clipped into the end bins
    assert histogram_overlap([5.0, 5.0], [5.0, 125.0], VELOCITY_BINS) == pytest.approx(0.5)
    assert histogram_overlap([0.9], [0.47], OFFSET_BINS) == pytest.approx(1.0)
    assert math.isnan(histogram_overlap([], [1.0], VELOCITY_BINS))


def test_hit_values_read_only_hits_and_one_voice():
    p = _patterns(4, 0)
    velocity, offset = hit_values(p)
    assert len(velocity) == int(p[:, HIT].sum()) == len(offset)
    kick = VOICE_INDEX["kick"]
    assert len(hit_values(p, kick)[0]) == int(p[:, HIT, kick].sum())
    with pytest.raises(ValueError, match=r"\[N, 3, V, T\]"):
        hit_values(p[0])


def test_same_distribution_scores_near_the_top_and_extremes_score_low():
    reference = _patterns(300, 1)
    same = dynamics("same", _patterns(300, 2), reference, GRID)
    assert same.velocity_overlap > 0.95 and same.offset_overlap > 0.95
    assert all(v > 0.9 for v in same.velocity_overlap_voice.values())
    bimodal = _patterns(300, 3)
    hits = bimodal[:, HIT] > 0
    bimodal[:, VELOCITY] = hits * np.where(np.random.default_rng(0).random(hits.shape) < 0.5, 0.0, 1.0)
    loud = dynamics("bimodal", bimodal, reference, GRID)
    assert loud.velocity_overlap < 0.2
    assert loud.quiet_share == pytest.approx(0.5, abs=0.05) and loud.full_share == pytest.approx(
        0.5, abs=0.05
    )
    assert same.quiet_share == 0.0 and same.full_share == 0.0  # 0.2..0.9: MIDI 25..114
    assert selection_penalty(loud, dynamics("ref", reference, reference, GRID)) > selection_penalty(
        same, dynamics("ref", reference, reference, GRID)
    )


def test_accent_profile_and_its_correlation():
    accented = _patterns(200, 4, velocity=(0.3, 0.5), accent=0.4)
    means, counts = accent_profile(accented, GRID)
    assert means.shape == counts.shape == (N_VOICES, GRID.steps_per_bar)
    kick = VOICE_INDEX["kick"]
    assert means[kick, 0] > means[kick, 1] + 40  # on the beat 0.4 x 127 louder
    flat_means, flat_counts = accent_profile(_patterns(200, 5, velocity=(0.3, 0.5)), GRID)
    inverted = 127 - means[kick]
    assert profile_correlation(means[kick], counts[kick], means[kick], counts[kick]) == pytest.approx(1.0)
    assert profile_correlation(inverted, counts[kick], means[kick], counts[kick]) == pytest.approx(-1.0)
    assert abs(profile_correlation(flat_means[kick], flat_counts[kick], means[kick], counts[kick])) < 0.6
    few = np.zeros(GRID.steps_per_bar)
    assert math.isnan(profile_correlation(means[kick], few, means[kick], counts[kick]))
    result = dynamics("accented", accented, accented, GRID)
    assert result.accent_correlation["kick"] == pytest.approx(1.0)


def test_merge_gives_means_and_spread():
    reference = _patterns(50, 6)
    runs = [dynamics("model", _patterns(50, seed), reference, GRID) for seed in (7, 8, 9)]
    merged = merge_dynamics(runs)
    assert merged.repeats == 3
    assert merged.velocity_overlap == pytest.approx(np.mean([r.velocity_overlap for r in runs]))
    assert merged.sd["velocity_overlap"] == pytest.approx(np.std([r.velocity_overlap for r in runs], ddof=1))
    assert "velocity_overlap_voice.kick" in merged.sd


def test_the_notes_a_producer_gets_carry_the_velocities_unbent(tmp_path):
    """.mid files, OSC replies (and live MIDI, which plays the reply's notes) round each velocity to the
    nearest MIDI value: nothing is pushed to the extremes except what is within half a step of them."""
    from companion.core.drum_map import OUTPUT_PITCHES
    from companion.core.midi_file import pattern_to_midi, read_drum_take
    from companion.core.notes import pattern_to_notes
    from companion.core.pattern import Pattern

    grid = Grid(4, 4, 4)
    hits = np.zeros((N_VOICES, grid.n_steps), dtype=bool)
    hits[:3] = True  # kick, snare, hat on every step: 192 hits
    velocities = np.zeros(hits.shape, dtype=np.float32)
    velocities[hits] = np.linspace(0.0, 1.0, int(hits.sum()))  # 0, 0.66, 1.33, ... 127 in MIDI units
    pattern = Pattern(grid, hits, velocities, np.zeros_like(velocities))
    want = sorted(velocities_to_midi(velocities[hits]).astype(int).tolist())
    assert sorted(pattern_to_notes(pattern, OUTPUT_PITCHES)["velocity"].tolist()) == want
    path = tmp_path / "groove.mid"
    pattern_to_midi(pattern).save(path)
    assert sorted(read_drum_take(path).notes["velocity"].tolist()) == want
    raw = np.sort(velocities[hits]).astype(np.float64) * 127
    assert want.count(1) == int((raw < 1.5).sum()) == 3 and want.count(127) == int((raw >= 126.5).sum()) == 1
    assert np.abs(np.array(want) - raw)[raw >= 0.5].max() <= 0.5 + 1e-4
