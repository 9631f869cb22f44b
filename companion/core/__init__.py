"""The pattern core: what every part of Nudge shares, with no model runtime, protocol or MIDI ports.

- ``pattern``: the grid (voices x steps) of hits, velocities and micro-timing offsets; tempo and bar limits.
- ``drum_map``: voices, input drum maps (pitch -> voice), output pitches.
- ``notes``: patterns <-> notes (pitch, start_beats, duration_beats, velocity).
- ``midi_file``: ``.mid`` files <-> patterns (mido).
- ``descriptors``: the ten rhythm descriptors the sliders control; ``normaliser``: raw value <-> slider 0..1.
- ``model_meta``: the metadata contract between export and every consumer of a model.
- ``errors``: ``NudgeError``, the one root of the errors Nudge raises for the user, and its domains.
- ``atomic`` (temp file, then rename) and ``cli_base`` (the lazy sub-command CLI): shared with training.

Imports nothing of Nudge above it (tests/test_layering.py).
"""
