"""Nudge's errors: one root, one class per domain.

Every error Nudge raises on purpose (the user's mistake, or the state of a file or port the user chose) is a
``NudgeError`` whose message names the field, file or port and what is allowed. The daemon answers only a
``NudgeError`` as ``/nudge/error id reason``; the CLI prints it as one line and exits 2. Anything else that
escapes is a bug: the daemon logs its traceback and answers "internal error", the CLI prints the traceback
and asks for a report (exit 1).

    NudgeError
    ├── UsageError      a value the user gave is not allowed: a flag, a request's option, a config or map file
    ├── ModelError      a model file cannot be used (``ModelMetaError``: its metadata)
    ├── MidiFileError   a ``.mid`` file cannot be read as drums
    ├── OscError        bytes that are not OSC (``RequestError``: a request the registry refuses)
    ├── LiveMidiError   live MIDI: a port cannot be opened (``MidiPortError``), the player is gone
    ├── DataError       training data: a dataset, an ingest source, a Spotify analysis
    └── TrainingError   a training run cannot go on: a checkpoint that does not fit, a diverged loss

Each domain class also derives from the built-in exception that code caught before it existed
(``ValueError``, ``RuntimeError``), as ``json.JSONDecodeError`` is a ``ValueError``.
"""

from __future__ import annotations


class NudgeError(Exception):
    """Root of the errors Nudge raises on purpose; the message is one line for the user."""


class UsageError(NudgeError, ValueError):
    """A value the user gave is not allowed; the message names the field and the allowed range."""


class ModelError(NudgeError, ValueError):
    """A model file cannot be used; the message names the file and the reason."""


class MidiFileError(NudgeError, ValueError):
    """A MIDI file cannot be read as a drum performance; the message says why."""


class OscError(NudgeError, ValueError):
    """Bytes that are not a well-formed OSC packet, or arguments that cannot be encoded; says why."""


class LiveMidiError(NudgeError, RuntimeError):
    """Live MIDI cannot do what was asked: a port, the MIDI API, the player process."""


class DataError(NudgeError, ValueError):
    """Training data cannot be used: a dataset file, an ingest source, a Spotify analysis."""


class TrainingError(NudgeError, ValueError):
    """A training run cannot start or go on: a checkpoint that does not fit, a loss that diverged."""
