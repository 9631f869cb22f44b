"""Nudge companion: the pattern core and the headless daemon (numpy + onnxruntime, no torch).

- ``core``: what every part shares (pattern, notes, MIDI values, files, model contract, errors).
- ``runtime``: the exported generator, the models folder and the search.
- ``osc``: the OSC protocol and the daemon; ``live``: live MIDI.
- ``audio``: audio in (the ``[audio]`` extra, imported only when used): analysis and an audio loop's rhythm.
- ``commands`` and ``cli``: ``nudge``.
"""

__version__ = "0.1.0"
