"""Drum MIDI files as training data (the Spotify source is the ``training.spotify`` package beside it).

- ``labels``: a file's split, style and take from the corpus table (GMD ``info.csv``) or its path.
- ``midi``: one ``.mid`` file -> bar windows on the pattern grid (with the reasons a file is skipped).
- ``run``: a folder -> a ``RhythmDataset`` (files in parallel, splits kept).
"""
