"""Audio as training data and as a test bench: local-audio records in the Spotify cache format (``records``),
GMD renders with a band (``render``, ``backing``), the beat model (``beat_model``, ``beat_fit``) and the
mir_eval evaluation (``evaluate``)."""
