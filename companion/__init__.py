"""Nudge companion: the pattern core and the headless daemon (numpy + onnxruntime, no torch)."""

__version__ = "0.1.0"
