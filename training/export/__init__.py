"""Exporting a checkpoint's generator.

- ``export``: to ONNX with its ``nudge`` metadata, checked against torch and the daemon's own loader.
- ``quantize``: int8 weights, checked against the float graph.
- ``card``: the model card (data and credit, recipe, figures) from the metadata and the evaluation report.
- ``tools_export``: a tools checkpoint's generator, unchanged, and its tools graph beside it;
  ``tools_card``: the card's section on that tools graph and its targets.
"""
