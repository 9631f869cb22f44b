"""The models folder: list the ``.onnx`` files in it, load one by name, notice new and changed files.

Polled, not watched with OS notifications (portable, no dependency): ``poll()`` compares each file's
modification time, size, inode, status-change time and a digest of both ends with the last look, which is
cheap enough to run every second (a same-size ``cp -p`` over a model, which keeps the modification time,
is noticed).
The exporter writes atomically (temp file + rename), so a file that is seen is complete; a file that
still fails to load raises ``ModelError`` and the caller keeps the model it has.

Only regular files whose real path lies in the folder are models: a symbolic link is followed only when
its target is inside the folder too (a link to ``/etc/passwd`` is never opened). ``NAME.tools.onnx`` is
not a model of its own but the tools graph of ``NAME.onnx`` (``companion.runtime.tools_model``): a change to
it counts as a change to that model.

The default folder, defined here once for every command: the shipped models (``shipped_models_dir``), the
package's own data in an installed wheel (``companion/models``, found through ``importlib.resources``; the
build copies it from the top-level ``models/``, see ``setup.py``), else the source tree's ``models/`` (a
checkout or an editable install), where ``nudge-train export`` writes a user's models.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import re
from pathlib import Path
from stat import S_ISREG

from companion.runtime.model import Model, ModelError, load_model
from companion.runtime.tools_model import TOOLS_SUFFIX, is_tools_file

log = logging.getLogger(__name__)
SUFFIX = ".onnx"
# a model is served under its file name: what /nudge/model/load accepts (and fits an OSC reply)
MODEL_NAME_PATTERN = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # \Z: no trailing newline

DEFAULT_MODEL_NAME = "default"


def shipped_models_dir() -> Path:
    """The folder of the shipped models: the installed package's ``companion/models`` when it holds the
    default model, else the source tree's ``models/`` beside the ``companion`` package."""
    packaged = importlib.resources.files("companion") / "models"
    if isinstance(packaged, Path) and (packaged / f"{DEFAULT_MODEL_NAME}{SUFFIX}").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "models"


DEFAULT_MODELS_DIR = shipped_models_dir()


def default_model_path(models_dir: Path | None = None) -> Path:
    """The default model's file in ``models_dir`` (default: the shipped models)."""
    return (DEFAULT_MODELS_DIR if models_dir is None else Path(models_dir)) / f"{DEFAULT_MODEL_NAME}{SUFFIX}"


Signature = tuple[int, int, int, int, bytes]  # (mtime_ns, size, inode, ctime_ns, head and tail digest)
ModelSignature = tuple[object, ...]  # a model's: its file's Signature, then its tools graph's (or None)
PEEK_BYTES = 16 * 1024  # read from each end of a model file at every poll


def signature(path: Path) -> Signature | None:
    """What tells a changed file: times, size, inode, and a digest of its first and last 16 KiB (a copy
    within one tick of the file system's clock that keeps size and modification time is still seen)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the poll
        with os.fdopen(fd, "rb") as handle:
            stat = os.fstat(fd)
            if not S_ISREG(stat.st_mode):
                return None
            head = handle.read(PEEK_BYTES)
            handle.seek(max(0, stat.st_size - PEEK_BYTES))
            tail = handle.read(PEEK_BYTES)
    except OSError:
        return None
    digest = hashlib.blake2b(head + tail, digest_size=16).digest()
    return stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns, digest


class ModelsDir:
    """``names()`` lists models; ``load(name)`` loads ``<dir>/<name>.onnx``; ``poll()`` reports changes."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._seen: dict[str, ModelSignature] = self.scan()

    def scan(self) -> dict[str, ModelSignature]:
        """name -> signature of every loadable-looking ``.onnx`` file (hidden temp files are skipped)."""
        found: dict[str, ModelSignature] = {}
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return found
        for entry in entries:
            name, suffix = os.path.splitext(entry.name)
            if suffix != SUFFIX or not MODEL_NAME_PATTERN.match(name) or not self._inside(Path(entry.path)):
                continue
            if is_tools_file(entry.name):  # the tools graph of NAME.onnx: part of that model
                continue
            sig = signature(Path(entry.path))
            if sig is not None:
                tools = self.directory / f"{name}{TOOLS_SUFFIX}"
                found[name] = (*sig, signature(tools) if self._inside(tools) else None)
        return found

    def names(self) -> list[str]:
        return sorted(self.scan())

    def path_of(self, name: str) -> Path:
        if not MODEL_NAME_PATTERN.match(name):
            raise ModelError(f"{name!r} is not a model name (letters, digits, _ . -)")
        return self.directory / f"{name}{SUFFIX}"

    def _inside(self, path: Path) -> bool:
        """A regular file (after links) whose real path is in this folder."""
        try:
            real = path.resolve(strict=True)
            folder = self.directory.resolve(strict=True)
        except (OSError, RuntimeError):  # gone, a dangling link or a loop of links
            return False
        return real.parent == folder and real.is_file()

    def load(self, name: str) -> Model:
        """Load ``name`` from the folder; ``ModelError`` names the file and the problem."""
        path = self.path_of(name)
        if path.is_symlink() and path.exists() and not self._inside(path):
            raise ModelError(f"{path}: a symbolic link out of {self.directory}; only files in it are models")
        if not self._inside(path):
            available = ", ".join(self.names()) or "none"
            raise ModelError(f"no model {name!r} in {self.directory} (available: {available})")
        before = signature(path)  # what the search processes compare with (companion.osc.search_pool)
        model = load_model(path)
        model.signature = before
        return model

    def poll(self) -> list[str]:
        """Names of models that are new or changed since the last poll (or since construction)."""
        now = self.scan()
        changed = [name for name, sig in sorted(now.items()) if self._seen.get(name) != sig]
        for name in sorted(set(self._seen) - set(now)):
            log.info("model %s was removed from %s", name, self.directory)
        self._seen = now
        return changed
