"""Spotify audio analysis as training data.

- ``client``: spotipy client construction (client credentials, configurable URLs, secret redaction).
- ``fetch``: artists / genre search / playlist -> tracks -> audio analysis (+ features) into a JSON cache.
- ``records``: one JSON file per track: the cache's format, and analysis files obtained elsewhere.
- ``validate``: accepts the real variety of analysis responses, rejects garbage with a reason.
- ``series``: the prototype's 8-feature time series (8 x 3000) and its MIDI renderer.
- ``patterns``: the rhythm-pattern view (tatum grid, timbre voices) of one analysis.
- ``ingest``: a folder of track files -> ``RhythmDataset``.

See ``docs/spotify.md``.
"""
