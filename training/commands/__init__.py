"""The ``nudge-train`` commands, one module each (``training.cli`` imports only the chosen one).

- ``ingest_midi``, ``fetch_spotify``, ``ingest_spotify``: data; ``fit``: training; ``export``: ONNX.
- ``evaluate``, ``evaluate_lock``: measuring a model and its voice lock; ``card``: a model card again.
- ``evaluate``, ``evaluate_lock``, ``evaluate_tools``: measuring a model, its voice lock and its tools.
- ``fit_tools``: training a generator's tools graph.
"""
