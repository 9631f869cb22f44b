"""Audio in: decode a producer's audio, track its beats, downbeats and onsets (numpy + onnxruntime).

- ``decode``: files -> mono samples (soundfile and soxr, the audio extra, imported lazily); ``dsp``: the
  signal processing (STFT, mel and chroma filters, peak picking, Ellis' beat programme) in numpy;
  ``features``: log-mel frames; ``beats``: the beat model, tempo, beats, downbeats; ``onsets``: onsets
  with strength and brightness.
- ``analysis``: the Spotify-shaped analysis; ``rhythm``: an audio loop -> its onset rhythm on the bar grid.

The daemon's own dependencies stay numpy + onnxruntime + mido + rtmidi: nothing here imports the audio
stack at module import time. The functions that need it call ``require_audio_stack()``, which names the
extra to install (``pip install 'nudge[audio]'``) when it is missing.
"""
