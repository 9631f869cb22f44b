"""The ``nudge-train`` commands, one module each (``training.cli`` imports only the chosen one).

- ``ingest_midi``, ``fetch_spotify``, ``ingest_spotify``: data; ``fit``: training; ``export``: ONNX.
- ``evaluate``, ``evaluate_lock``: measuring a model and its voice lock.
"""
