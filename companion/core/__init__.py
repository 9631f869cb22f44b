"""The pattern core: what every part of Nudge shares, with no model runtime, protocol or MIDI ports.

- ``pattern``: the grid (voices x steps) of hits, velocities and micro-timing offsets; bar limits.
- ``drum_map``: voices, input drum maps (pitch -> voice), output pitches.
- ``notes``: the one note record (``NOTE_DTYPE``, with its grid step) and notes <-> grid, the one quantiser.
- ``midi_values``: MIDI's value rules, written once: pitch, velocity, channel (1..16), tempo.
- ``midi_file``: ``.mid`` files <-> notes and patterns (mido); ``midi_clip``: a file as a clip of notes
  with their lengths, every channel (the tools' input), and notes written back.
- ``descriptors``: the ten rhythm descriptors the sliders control; ``normaliser``: raw value <-> slider 0..1.
- ``model_meta``: the metadata contract between export and every consumer of a model.
- ``osc_codec``: OSC 1.0 messages and bundles <-> bytes (the wire format; the protocol is ``companion.osc``).
- ``errors``: ``NudgeError``, the one root of the errors Nudge raises for the user, and its domains.
- ``pipes``: messages between Nudge's own processes (length-prefixed pickles, read with a deadline).
- ``atomic`` (temp file, then rename), ``regular_files`` (reading only regular files, capped) and
  ``cli_base`` (the lazy sub-command CLI): shared with training; so are the CLI conventions ``cli_args``
  (option types that name the flag and range) and ``outputs`` (what ``-o`` may replace, ``--count`` notes).
- ``piano_roll``: piano-roll PNGs (matplotlib, optional); ``provenance``: date, machine and command of a
  figure.

Imports nothing of Nudge above it (tests/test_layering.py).
"""
