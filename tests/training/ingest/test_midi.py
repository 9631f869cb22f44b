"""Ingest of one MIDI file: reading, quantising, windows, labels filter, and every skip reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.core.drum_map import VOICE_INDEX, PitchMapper
from companion.core.midi_file import MidiFileError, read_drum_arrays, read_drum_take, take_to_pattern
from companion.core.pattern import Grid
from tests.support.midi_files import TPB, bar_of_beats, write_midi
from training.ingest.labels import FileLabels
from training.ingest.midi import (
    SKIP_REASONS,
    IngestConfig,
    find_midi_files,
    ingest_file,
)

KICK, SNARE, CLOSED, OPEN = (VOICE_INDEX[v] for v in ("kick", "snare", "closed_hat", "open_hat"))
LABELS = FileLabels(style="funk", split="train", beat_type="beat")


def groove(bars: int) -> list[tuple[float, int, int]]:
    """Kick on beats 1 and 3, snare on 2 and 4, 8th hats with a late off-beat, for ``bars`` bars."""
    notes = []
    for bar in range(bars):
        base = bar * 4
        notes += [(base, 36, 100), (base + 2, 36, 90), (base + 1, 38, 110), (base + 3, 38, 105)]
        notes += [(base + h / 2 + (0.05 if h % 2 else 0), 42, 60 + h) for h in range(8)]
    return notes


def ingest(path: Path, **config) -> object:
    return ingest_file(path, path.name, LABELS, IngestConfig(**config))


def test_read_drum_arrays_agrees_with_read_drum_take(tmp_path):
    path = write_midi(tmp_path / "a.mid", [*groove(2), (1.0, 60, 3)], two_tracks=True, bpm=97.0)
    arrays, take = read_drum_arrays(path), read_drum_take(path)
    assert take.notes[["start_beats", "pitch", "velocity"]].tolist() == sorted(
        zip((arrays.ticks / TPB).tolist(), arrays.pitches.tolist(), arrays.velocities.tolist(), strict=True)
    )
    assert arrays.bpm == pytest.approx(take.bpm) == pytest.approx(97.0, abs=1e-3)
    assert arrays.time_signatures == [(0, 4, 4)]


def test_windows_hop_and_labels(tmp_path):
    path = write_midi(tmp_path / "g.mid", groove(6), bpm=100.0)
    result = ingest(path)
    assert result.skipped is None
    assert result.start_bar.tolist() == [0, 1, 2]  # 6 bars, 4-bar windows, hop 1
    assert result.hits.shape == (3, 9, 64) and result.bpm == pytest.approx(100.0, abs=1e-3)
    assert ingest(path, hop_bars=2).start_bar.tolist() == [0, 2]
    assert ingest(path, bars=2, hop_bars=2).start_bar.tolist() == [0, 2, 4]


def test_windows_equal_the_core_converter_and_keep_micro_timing(tmp_path):
    path = write_midi(tmp_path / "g.mid", groove(5))
    result = ingest(path)
    take, grid = read_drum_take(path), Grid(4, 4, 4)
    for w, bar in enumerate(result.start_bar):
        expected = take_to_pattern(take, grid, start_beats=4.0 * bar, mapper=PitchMapper())
        assert np.array_equal(result.hits[w].astype(bool), expected.hits)
        np.testing.assert_allclose(result.velocities[w], expected.velocities, atol=1e-7)
        np.testing.assert_allclose(result.offsets[w], expected.offsets_steps, atol=1e-6)
    # hats: off-beat 8ths 0.05 beats late = 0.2 steps; velocity 61/127 on step 2
    assert result.offsets[0, CLOSED, 2] == pytest.approx(0.2, abs=1 / 120)
    assert result.velocities[0, CLOSED, 2] == pytest.approx(61 / 127)
    assert result.offsets[0, CLOSED, 4] == 0.0


def test_loudest_wins_and_edge_pitches_are_hats(tmp_path):
    # 42 (bow) and 22 (edge) are both closed hat: one step, the louder one (22) stays with its offset
    notes = [(0.0, 42, 50), (0.025, 22, 90), (1.0, 26, 70), (2.0, 36, 40), (2.01, 36, 40), *bar_of_beats(3)]
    result = ingest(write_midi(tmp_path / "e.mid", notes))
    assert result.velocities[0, CLOSED, 0] == pytest.approx(90 / 127)
    assert result.offsets[0, CLOSED, 0] == pytest.approx(0.1, abs=1e-6)
    assert result.hits[0, OPEN, 4] == 1
    assert result.offsets[0, KICK, 8] == 0.0  # equal velocities: the earlier note wins
    assert result.dropped_pitches == {}


def test_windows_do_not_wrap_the_next_downbeat(tmp_path):
    early = 4 * 4 - 10 / TPB  # 10 ticks before bar 5's downbeat
    notes = [*bar_of_beats(0, velocity=80), (early, 36, 120), *bar_of_beats(4), *bar_of_beats(5)]
    result = ingest(write_midi(tmp_path / "w.mid", notes))
    assert result.velocities[0, KICK, 0] == pytest.approx(80 / 127) and result.offsets[0, KICK, 0] == 0.0
    window_at_bar_4 = list(result.start_bar).index(2)
    assert result.offsets[window_at_bar_4, KICK, 32] == pytest.approx(-10 / 120)


def test_min_hits_leaves_sparse_windows_out(tmp_path):
    # bars 0..3 grooving, 4..7 silent but for one kick in the middle of bar 7 (so bar 7 counts)
    sparse = write_midi(tmp_path / "s.mid", [*groove(4), (30.0, 36, 80)])
    result = ingest(sparse, min_hits=10)
    assert result.start_bar.tolist() == [0, 1, 2, 3]
    assert result.sparse_windows == 1  # the window of bars 4..7 holds one hit
    assert ingest(sparse, min_hits=1).start_bar.tolist() == [0, 1, 2, 3, 4]
    assert ingest(sparse, min_hits=1000).skipped == "no_full_window"


@pytest.mark.parametrize(
    ("make", "config", "reason"),
    [
        (lambda p: p.write_bytes(b"MThd this is not a midi file") and p, {}, "unreadable"),
        (lambda p: p.write_bytes(b"") or p, {}, "unreadable"),
        (lambda p: write_midi(p, []), {}, "empty"),
        (lambda p: write_midi(p, groove(4), channel=1), {}, "non_drum"),
        (lambda p: write_midi(p, groove(4), time_signatures=[(0, 6, 8)]), {}, "unsupported_meter"),
        (lambda p: write_midi(p, groove(4), time_signatures=[(0, 4, 4), (8, 3, 4)]), {}, "unsupported_meter"),
        (lambda p: write_midi(p, groove(4), time_signatures=[(0, 3, 4)]), {}, "other_meter"),
        (lambda p: write_midi(p, groove(3)), {}, "too_short"),
        (lambda p: write_midi(p, [(b, 60, 90) for b in range(16)]), {}, "unknown_pitches_only"),
        (lambda p: write_midi(p, [*groove(4), (1.5, 60, 90)]), {"unknown_pitches": "error"}, "unknown_pitch"),
        (lambda p: write_midi(p, groove(4)), {"beat_type": "fill"}, "beat_type"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_skip_reasons(tmp_path, make, config, reason):
    path = make(tmp_path / "x.mid")
    result = ingest(path, **config)
    assert result.skipped == reason and reason in SKIP_REASONS
    assert result.detail and result.hits is None


def test_read_drum_arrays_errors_name_the_problem(tmp_path):
    garbage = tmp_path / "bad.mid"
    garbage.write_bytes(b"\x00\x01garbage")
    with pytest.raises(MidiFileError, match="not a readable MIDI file"):
        read_drum_arrays(garbage)


def test_unknown_pitches_are_dropped_and_counted(tmp_path):
    result = ingest(write_midi(tmp_path / "u.mid", [*groove(4), (1.5, 60, 90), (2.5, 60, 90), (3.5, 61, 90)]))
    assert result.skipped is None and result.dropped_pitches == {60: 2, 61: 1}


def test_general_midi_map_and_three_four(tmp_path):
    gm = write_midi(tmp_path / "gm.mid", [n for b in range(4) for n in bar_of_beats(b, pitch=35)])
    assert ingest(gm).skipped == "unknown_pitches_only"  # 35 is not on the Roland kit
    assert ingest(gm, drum_map="gm").hits[:, KICK].sum() == 16
    waltz = write_midi(
        tmp_path / "w.mid", [n for b in range(5) for n in bar_of_beats(b, 3)], time_signatures=[(0, 3, 4)]
    )
    result = ingest(waltz, time_signature=(3, 4))
    assert result.hits.shape == (2, 9, 48) and result.hits[0, KICK].nonzero()[0].tolist() == list(
        range(0, 48, 4)
    )


def test_tempo_falls_back_to_labels_then_default(tmp_path):
    path = write_midi(tmp_path / "t.mid", groove(4), bpm=None)
    assert ingest(path).bpm == 120.0
    labelled = ingest_file(path, "t.mid", FileLabels(bpm=87.0), IngestConfig())
    assert labelled.bpm == 87.0


def test_config_errors_name_field_and_range():
    with pytest.raises(ValueError, match=r"bars must be an int in 1\.\.8"):
        IngestConfig(bars=9)
    with pytest.raises(ValueError, match="hop_bars"):
        IngestConfig(hop_bars=0)
    with pytest.raises(ValueError, match="beat_type"):
        IngestConfig(beat_type="groove")
    with pytest.raises(ValueError, match="time signature 7/8 is not supported"):
        IngestConfig(time_signature=(7, 8))
    with pytest.raises(ValueError, match="unknown drum map"):
        IngestConfig(drum_map="tr808")


def test_find_midi_files_is_recursive_and_sorted(tmp_path):
    for name in ("b/2.MID", "a/1.mid", "c.midi", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [rel for _, rel in find_midi_files(tmp_path)] == ["a/1.mid", "b/2.MID", "c.midi"]
