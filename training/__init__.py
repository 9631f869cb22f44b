"""Nudge training: ingest rhythm data, train the conditional GAN, evaluate it, export it to ONNX.

- ``dataset``: ``RhythmDataset``, the one dataset format; ``conditions``: what a model is conditioned on.
- ``ingest`` (MIDI drum files), ``spotify`` (audio analyses) and ``audio`` (your own audio analysed into
  the same records; GMD renders, the beat model and its evaluation): the data sources.
- ``fitting``: training; ``tools``: teaching a trained generator Groove, Drumify, Continue and Fill;
  ``evaluation``: measuring a model; ``export``: the generator (and its tools graph) to ONNX.
- ``commands`` and ``cli``: ``nudge-train``.

Training imports ``companion`` (the pattern, descriptors and model contract); never the reverse; the rooms'
import rules are in tests/test_layering.py.
"""
