"""Reply datagrams: the note records on the wire, split replies reassemble."""

from __future__ import annotations

import numpy as np
import pytest

from companion.core.drum_map import OUTPUT_PITCHES
from companion.core.notes import pattern_to_notes, rows_to_notes
from companion.core.osc_codec import decode_message
from companion.core.pattern import Grid, Pattern
from companion.osc.api import MAX_DATAGRAM_BYTES, NOTES_PER_PART
from companion.osc.replies import WIRE_NOTE_DTYPE, error_reply, notes_reply, notes_to_wire

FOUR_BARS = Grid(4, 4, 4)


def random_pattern(seed: int, grid: Grid = FOUR_BARS, density: float = 0.3) -> Pattern:
    rng = np.random.default_rng(seed)
    shape = (9, grid.n_steps)
    offsets = rng.uniform(-0.5, 0.5, shape)
    offsets[rng.random(shape) < 0.2] = 0.5  # extreme micro-timing, also across the loop end
    return Pattern(grid, rng.random(shape) < density, rng.random(shape), offsets)


@pytest.mark.parametrize("seed", range(8))
def test_the_wire_carries_the_records_fields_in_float32(seed):
    pattern = random_pattern(seed, density=[0.05, 0.3, 0.9][seed % 3])
    notes = pattern_to_notes(pattern, list(OUTPUT_PITCHES))
    wire = notes_to_wire(notes)
    assert wire.dtype == WIRE_NOTE_DTYPE and WIRE_NOTE_DTYPE.itemsize == 16 and len(wire) == len(notes)
    assert wire["pitch"].tolist() == notes["pitch"].tolist()
    assert wire["velocity"].tolist() == notes["velocity"].tolist()
    np.testing.assert_array_equal(wire["start"], notes["start_beats"].astype(np.float32))
    np.testing.assert_array_equal(wire["duration"], notes["duration_beats"].astype(np.float32))


def test_empty_pattern_gives_an_empty_reply_with_one_part():
    notes = pattern_to_notes(Pattern.empty(Grid(4, 4, 1)), OUTPUT_PITCHES)
    datagrams = notes_reply(3, notes, 4.0, "empty")
    begin, part, end = (decode_message(d) for d in datagrams)
    assert begin.args == (3, 1, 0, 4.0, "empty")
    assert part.args == (3, 0) and end.args == (3, 1)


def test_long_reply_is_split_and_reassembles_exactly():
    pattern = random_pattern(1, Grid(4, 4, 8), density=0.9)
    notes = pattern_to_notes(pattern, OUTPUT_PITCHES)
    assert len(notes) > 3 * NOTES_PER_PART
    datagrams = notes_reply(77, notes, 32.0, "big one")
    assert all(len(d) <= MAX_DATAGRAM_BYTES and len(d) % 4 == 0 for d in datagrams)
    messages = [decode_message(d) for d in datagrams]
    begin, parts, end = messages[0], messages[1:-1], messages[-1]
    assert begin.address == "/nudge/notes/begin" and end.address == "/nudge/notes/end"
    n_parts = begin.args[1]
    assert begin.args == (77, n_parts, len(notes), 32.0, "big one") and end.args == (77, n_parts)
    assert len(parts) == n_parts == -(-len(notes) // NOTES_PER_PART)
    flat = []
    for part in sorted(reversed(parts), key=lambda m: m.args[1]):  # any arrival order: by the part index
        assert part.args[0] == 77 and part.tags == "ii" + "iffi" * ((len(part.args) - 2) // 4)
        flat += part.args[2:]
    rows = np.array(flat, dtype=np.float64).reshape(-1, 4)
    np.testing.assert_array_equal(rows[:, 0], notes["pitch"])
    np.testing.assert_array_equal(rows[:, 1], notes["start_beats"].astype(np.float32))
    np.testing.assert_array_equal(rows[:, 3], notes["velocity"])


def test_concatenated_records_reach_the_wire_intact():
    a = rows_to_notes(np.array([[36, 0.0, 0.1, 100]]))
    joined = np.concatenate([a, a])
    _, part, _ = (decode_message(d) for d in notes_reply(1, joined, 4.0, "x"))
    assert part.args[2:10] == (36, 0.0, pytest.approx(0.1), 100) * 2


def test_error_reply_is_bounded():
    datagram = error_reply(5, "x" * 5000)
    assert len(datagram) <= MAX_DATAGRAM_BYTES
    assert decode_message(datagram).args[0] == 5
