"""Exporting a checkpoint's generator to ONNX with its metadata, and its int8 weights."""
