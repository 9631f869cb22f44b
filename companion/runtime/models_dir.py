"""The models folder: list the ``.onnx`` files in it, load one by name, notice new and changed files.

Polled, not watched with OS notifications (portable, no dependency): ``poll()`` compares each file's
modification time and size with the last look, which is cheap enough to run every second. The exporter
writes atomically (temp file + rename), so a file that is seen is complete; a file that still fails to load
raises ``ModelError`` and the caller keeps the model it has.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from companion.osc.api import MODEL_NAME_PATTERN
from companion.runtime.model import Model, ModelError, load_model

log = logging.getLogger(__name__)
SUFFIX = ".onnx"

Signature = tuple[int, int]  # (mtime_ns, size)


def signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ModelsDir:
    """``names()`` lists models; ``load(name)`` loads ``<dir>/<name>.onnx``; ``poll()`` reports changes."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._seen: dict[str, Signature] = self.scan()

    def scan(self) -> dict[str, Signature]:
        """name -> signature of every loadable-looking ``.onnx`` file (hidden temp files are skipped)."""
        found: dict[str, Signature] = {}
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return found
        for entry in entries:
            name, suffix = os.path.splitext(entry.name)
            if suffix != SUFFIX or not MODEL_NAME_PATTERN.match(name) or not entry.is_file():
                continue
            sig = signature(Path(entry.path))
            if sig is not None:
                found[name] = sig
        return found

    def names(self) -> list[str]:
        return sorted(self.scan())

    def path_of(self, name: str) -> Path:
        if not MODEL_NAME_PATTERN.match(name):
            raise ModelError(f"{name!r} is not a model name (letters, digits, _ . -)")
        return self.directory / f"{name}{SUFFIX}"

    def load(self, name: str) -> Model:
        """Load ``name`` from the folder; ``ModelError`` names the file and the problem."""
        path = self.path_of(name)
        if not path.is_file():
            available = ", ".join(self.names()) or "none"
            raise ModelError(f"no model {name!r} in {self.directory} (available: {available})")
        return load_model(path)

    def poll(self) -> list[str]:
        """Names of models that are new or changed since the last poll (or since construction)."""
        now = self.scan()
        changed = [name for name, sig in sorted(now.items()) if self._seen.get(name) != sig]
        for name in sorted(set(self._seen) - set(now)):
            log.info("model %s was removed from %s", name, self.directory)
        self._seen = now
        return changed
