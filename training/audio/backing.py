"""The bass and keys parts that play beside the drums in the rendered evaluation clips (rules as data).

Four two-bar parts of each, written by us for this evaluation, in 4/4 (times in quarter-note beats from the
part's start). Each clip loops one bass part and one keys part under the drummer, so the beat tracker hears
a band and not drums alone: the bass moves on 8ths with syncopations and rests, the keys hold chords,
change on and off the beat, and never mark every beat. ``training.audio.render`` writes them into each
clip's MIDI file beside the drummer's notes.
"""

from __future__ import annotations

# one note:      start_beats, duration_beats, MIDI pitch
BassPart = tuple[tuple[float, float, int], ...]
# one chord:     start_beats, duration_beats, MIDI pitches
KeysPart = tuple[tuple[float, float, tuple[int, ...]], ...]

PART_BEATS = 8.0  # two bars of 4/4
BASS_PROGRAM = 33  # General MIDI Electric Bass (finger), zero-based
KEYS_PROGRAM = 4  # General MIDI Electric Piano 1, zero-based
BASS_VELOCITY = 96
KEYS_VELOCITY = 72

BASS_PARTS: tuple[BassPart, ...] = (
    # A minor, root-fifth with a pickup
    ((0.0, 0.9, 45), (1.5, 0.4, 45), (2.0, 0.9, 52), (3.5, 0.4, 55),
     (4.0, 0.9, 41), (5.5, 0.4, 41), (6.0, 0.9, 48), (7.0, 0.4, 43), (7.5, 0.4, 44)),
    # E minor, funk 8ths with rests
    ((0.0, 0.4, 40), (0.75, 0.2, 40), (1.5, 0.4, 52), (2.5, 0.4, 43),
     (3.0, 0.4, 45), (4.0, 0.4, 36), (4.75, 0.2, 36), (5.5, 0.4, 48), (6.5, 0.9, 38)),
    # C major, long notes on 1 and the "and" of 2
    ((0.0, 1.4, 36), (1.5, 2.4, 43), (4.0, 1.4, 41), (5.5, 1.9, 45), (7.5, 0.4, 47)),
    # D dorian, walking quarters with an offbeat push
    ((0.0, 0.9, 38), (1.0, 0.9, 41), (2.0, 0.9, 45), (2.5, 0.4, 43), (3.5, 0.4, 40),
     (4.0, 0.9, 43), (5.0, 0.9, 47), (6.0, 0.9, 50), (7.0, 0.9, 48)),
)  # fmt: skip

KEYS_PARTS: tuple[KeysPart, ...] = (
    ((0.0, 3.5, (57, 60, 64)), (3.5, 0.5, (59, 62, 67)), (4.0, 4.0, (53, 57, 60, 64))),
    ((0.5, 1.0, (59, 62, 64, 67)), (2.5, 1.0, (59, 62, 64, 67)), (4.5, 1.0, (60, 64, 67, 69)),
     (6.5, 1.5, (57, 60, 64, 67))),
    ((0.0, 2.0, (60, 64, 67)), (2.0, 2.0, (59, 62, 67)), (4.0, 2.0, (57, 60, 65)), (6.0, 2.0, (59, 62, 65))),
    ((1.0, 0.5, (62, 65, 69)), (1.5, 2.5, (60, 64, 67)), (5.0, 0.5, (62, 65, 69)), (5.5, 2.5, (64, 67, 71))),
)  # fmt: skip


# the beat model's training renders get parts of their own, so the evaluation never hears a band it
# was trained with
TRAIN_BASS_PARTS: tuple[BassPart, ...] = (
    ((0.0, 0.4, 43), (0.5, 0.4, 43), (1.0, 0.4, 50), (2.0, 0.4, 43), (2.75, 0.2, 45),
     (3.0, 0.9, 46), (4.0, 0.4, 41), (4.5, 0.4, 41), (5.0, 0.4, 48), (6.0, 1.4, 39), (7.5, 0.4, 42)),
    ((0.0, 1.9, 40), (2.0, 1.9, 47), (4.0, 1.9, 45), (6.0, 0.9, 43), (7.0, 0.9, 42)),
    ((0.5, 0.4, 38), (1.0, 0.4, 38), (1.75, 0.2, 50), (2.5, 0.9, 36), (4.5, 0.4, 41),
     (5.0, 0.4, 41), (6.25, 0.2, 43), (6.5, 1.4, 45)),
    ((0.0, 0.2, 33), (0.25, 0.2, 45), (1.0, 0.4, 33), (2.0, 0.2, 40), (2.5, 0.4, 43),
     (3.5, 0.4, 45), (4.0, 0.9, 38), (5.0, 0.4, 50), (6.0, 0.9, 36), (7.0, 0.9, 40)),
)  # fmt: skip
TRAIN_KEYS_PARTS: tuple[KeysPart, ...] = (
    ((0.0, 1.0, (55, 59, 62)), (1.5, 1.0, (55, 59, 62)), (3.0, 1.0, (58, 62, 65)), (4.5, 3.0, (53, 57, 60))),
    ((0.0, 8.0, (52, 55, 59, 62)),),
    ((0.5, 0.25, (62, 66, 69)), (1.5, 0.25, (62, 66, 69)), (2.5, 0.25, (60, 64, 67)),
     (3.5, 0.25, (60, 64, 67)), (4.5, 0.25, (65, 69, 72)), (5.5, 0.25, (65, 69, 72)),
     (6.5, 0.25, (64, 67, 71)), (7.5, 0.25, (64, 67, 71))),
    ((0.0, 3.0, (57, 61, 64)), (3.0, 1.0, (59, 62, 66)), (4.0, 2.0, (62, 66, 69)), (6.0, 2.0, (64, 68, 71))),
)  # fmt: skip
BACKING_SETS = {"eval": (BASS_PARTS, KEYS_PARTS), "train": (TRAIN_BASS_PARTS, TRAIN_KEYS_PARTS)}


def backing_notes(
    index: int, length_beats: float, backing_set: str = "eval", shift_beats: int = 0
) -> tuple[list[tuple], list[tuple]]:
    """(bass, keys) notes as ``(start_beats, duration_beats, pitch)`` looped over ``length_beats``, the loop
    started ``shift_beats`` beats into the part (the beat model's training clips move the band's harmonic
    rhythm against the bar, so that the model learns the bar from the drums, not from four bands)."""
    if backing_set == "none":
        return [], []
    bass_parts, keys_parts = BACKING_SETS[backing_set]
    bass_part = bass_parts[index % len(bass_parts)]
    keys_part = keys_parts[(index // len(bass_parts) + index) % len(keys_parts)]
    bass, keys = [], []
    for loop in range(-1, int(length_beats // PART_BEATS) + 2):
        base = loop * PART_BEATS - shift_beats
        bass += [(base + s, d, p) for s, d, p in bass_part if 0 <= base + s < length_beats]
        keys += [(base + s, d, p) for s, d, chord in keys_part for p in chord if 0 <= base + s < length_beats]
    return sorted(bass), sorted(keys)
