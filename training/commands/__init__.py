"""The ``nudge-train`` commands, one module each (``training.cli`` imports only the chosen one).

- ``ingest_midi``, ``fetch_spotify``, ``ingest_spotify``: data; ``fit``: training; ``export``: ONNX.
- ``evaluate``, ``evaluate_lock``: measuring a model and its voice lock; ``card``: a model card again.
- ``evaluate_tools``: measuring a model's tools; ``fit_tools``: training a generator's tools graph.
- ``analyze_audio``: audio files -> local-audio records; ``render_gmd``, ``fit_beats``, ``evaluate_audio``:
  the beat model's renders, its training and the audio analysis's evaluation.
"""
