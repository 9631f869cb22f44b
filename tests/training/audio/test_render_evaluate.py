"""CI renders a small set of GMD test clips with a band (fluidsynth + a GM SoundFont) and scores the audio
analysis on them with mir_eval against the known grid. The full test split's figures, against the issue's
targets, are in docs/audio-analysis.md (``nudge-train evaluate-audio``); not every target is met there (issue
27 is blocked on them), so CI holds the CI clips at the level measured when the model shipped
(``CI_FLOORS``, a little below it): a change that makes the analysis worse fails here. Drumify's floor
belongs to the shipped generator (and its tools graph): re-measure it when the model changes."""

from __future__ import annotations

import json

import mido
import numpy as np
import pytest

from tests.support.audio import gmd_or_skip, soundfont_or_skip
from training.audio.backing import BACKING_SETS, PART_BEATS, backing_notes
from training.audio.evaluate import TARGETS, step_f1
from training.audio.render import BPM_RANGE, choose_clips, clip_midi, read_truth
from training.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CI_CLIPS = 4
# measured on these 4 clips with the shipped beat model (2026-12-07): beat F 0.905, downbeat F 0.667, tempo
# right in 3 of 4 (141 BPM read as 70.6), drumify-input F1 0.875, drumify's answer (the shipped model and its
# tools graph, seed 0) 0.808
CI_FLOORS = {"beat_f": 0.85, "downbeat_f": 0.60, "tempo_ok": 0.75, "rhythm_f1": 0.80, "drumify_f1": 0.74}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    soundfont_or_skip()
    gmd = gmd_or_skip()
    out = tmp_path_factory.mktemp("renders")
    rc = main(
        [
            "render",
            "gmd",
            str(gmd),
            "-o",
            str(out),
            "--count",
            str(CI_CLIPS),
            "--seconds",
            "20",
            "--no-progress",
        ]
    )
    assert rc == 0
    return out


def test_the_renders_and_their_truth(rendered):
    import soundfile

    wavs = sorted(rendered.glob("*.wav"))
    assert len(wavs) == CI_CLIPS
    for wav in wavs:
        truth = read_truth(wav.with_suffix(".truth.json"))
        audio, rate = soundfile.read(wav)
        assert audio.shape[0] / rate == pytest.approx(truth.duration_s, abs=0.01)
        assert BPM_RANGE[0] <= truth.spec.bpm <= BPM_RANGE[1]
        assert np.allclose(np.diff(truth.beats_s), 60.0 / truth.spec.bpm, atol=1e-5)
        assert truth.downbeats_s == truth.beats_s[::4]
        assert set(truth.drum_onsets_s) <= set(truth.note_onsets_s) | set(truth.drum_onsets_s)
        assert len(truth.note_onsets_s) > len(set(truth.drum_onsets_s)) / 2  # the band plays too
        assert 20 * np.log10(np.sqrt(np.mean(audio**2))) > -40  # not silent


def test_the_scores_on_the_ci_clips_hold_their_level(rendered, tmp_path, capsys):
    report = tmp_path / "report.json"
    assert main(["evaluate-audio", str(rendered), "--report", str(report), "--no-progress"]) == 0
    payload = json.loads(report.read_text())
    summary = payload["summary"]
    assert summary["clips"] == CI_CLIPS and len(payload["clips"]) == CI_CLIPS
    assert set(summary["targets"]) == set(TARGETS)
    for name, floor in CI_FLOORS.items():
        measured = summary["targets"][name]["measured"]
        assert measured >= floor, f"{name}: {measured} < {floor} on the CI clips (target {TARGETS[name]})"
        assert summary["targets"][name]["met"] == (measured >= TARGETS[name])
    for clip in payload["clips"]:
        assert 0.0 <= clip["beat_f"] <= 1.0 and 0.0 <= clip["onset_f_mix"] <= 1.0


def test_the_train_split_is_refused_for_evaluation():
    gmd = gmd_or_skip()
    with pytest.raises(ValueError, match="never uses the GMD train split"):
        choose_clips(gmd, "train", 2, 10.0)


def test_clip_midi_holds_the_drummer_and_the_band():
    gmd = gmd_or_skip()
    (spec,) = choose_clips(gmd, "test", 1, 10.0)
    midi, drums, _ = clip_midi(spec, gmd)
    channels = {m.channel for t in midi.tracks for m in t if m.type == "note_on"}
    assert channels == {9, 0, 1}
    assert mido.tempo2bpm(midi.tracks[0][0].tempo) == pytest.approx(spec.bpm)
    assert all(pitch not in (22, 26, 58) for _, pitch, _ in drums)  # Roland-only pitches mapped to GM


def test_the_evaluation_and_training_bands_differ():
    eval_bass, eval_keys = BACKING_SETS["eval"]
    train_bass, train_keys = BACKING_SETS["train"]
    assert not set(eval_bass) & set(train_bass) and not set(eval_keys) & set(train_keys)
    bass, keys = backing_notes(1, 2 * PART_BEATS + 3)
    assert max(s for s, _, _ in bass + keys) < 2 * PART_BEATS + 3


def test_step_f1():
    assert step_f1({1, 2, 3, 4}, {1, 2, 3, 4}) == 1.0
    assert step_f1({1, 2, 3, 4}, {1, 2}) == pytest.approx(2 / 3)
    assert step_f1(set(), set()) == 1.0 and step_f1({1}, {2}) == 0.0
