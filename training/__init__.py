"""Nudge training: ingest rhythm data, train the conditional GAN, evaluate it, export it to ONNX.

Training imports ``companion`` (the pattern, descriptors and model contract); never the reverse.
"""
