"""Fill windows: GMD's fills after the beats of their session, style and tempo, within one split."""

from __future__ import annotations

import numpy as np

from tests.support.tools_data import make_tools_data
from training.tools.fills import fill_pairs, recording_key, splice


def test_recording_key_reads_gmd_file_names():
    assert recording_key("drummer1/session1/103_funk_95_fill_4-4.mid") == ("drummer1/session1", "funk", "95")
    assert recording_key("drummer1/session1/104_funk_95_beat_4-4.mid") == ("drummer1/session1", "funk", "95")
    assert recording_key("mine/groove.mid") == ("mine", "", "")


def test_fills_pair_with_their_own_recordings_beats_and_split():
    beats, fills = make_tools_data()
    for split in ("train", "validation", "test"):
        pairs = fill_pairs(beats, fills, split)
        assert len(pairs)
        assert set(fills.split[pairs[:, 0]]) == {split} and set(beats.split[pairs[:, 1]]) == {split}
        for f, b in pairs:
            assert recording_key(str(fills.source[f]))[1:] == recording_key(str(beats.source[b]))[1:]
            assert fills.style[f] == beats.style[b]


def test_splice_replaces_only_the_last_bar():
    beats, fills = make_tools_data()
    window, bar = beats.patterns[:2], fills.patterns[:2]
    out = splice(window, bar, 16)
    np.testing.assert_array_equal(out[..., :-16], window[..., :-16])
    np.testing.assert_array_equal(out[..., -16:], bar)
    assert not np.array_equal(window, out) and window is not out
