"""Atomic file writes: a temp file in the target's folder, flushed, then renamed over the target.

A reader (the daemon's model watcher, a DAW importing a .mid) never sees a half-written file, and a
failed write leaves the previous file untouched. Only a regular file (or nothing) is ever replaced: a
symbolic link, FIFO, device or folder at the target is refused (``regular_files.check_replaceable``).
Temp files are named ``.NAME.nudge-PID-XXXX.tmp`` (an error names the target, never the temp file); one
whose process is gone (a write killed with SIGKILL) is removed by the next write into that folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from companion.core.errors import UsageError
from companion.core.regular_files import check_replaceable

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once (umask can only be read by setting it)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temp file beside ``path``; on a clean exit it replaces ``path``, on an error it is removed."""
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target.parent)
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.nudge-{os.getpid()}-", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        raise WriteError(target, error) from None
    try:
        os.chmod(temp_name, _mode_for(target))  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if temp_name in (error.filename, error.filename2):  # the user never named the temp file
            raise WriteError(target, error) from None
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


class WriteError(UsageError, OSError):
    """A file could not be written; the message names the file the user asked for, never the temp file."""

    def __init__(self, target: Path, cause: OSError) -> None:
        self.message = (
            f"{target}: cannot write it ({cause.strerror or type(cause).__name__}; in {target.parent})"
        )
        super().__init__(self.message)
        self.errno, self.strerror, self.filename = cause.errno, self.message, str(target)

    def __str__(self) -> str:
        return self.message


_TEMP_NAME = re.compile(r"\..+\.nudge-(\d+)-[A-Za-z0-9_]+\.tmp\Z", re.DOTALL)


def remove_stale_temps(folder: str | os.PathLike) -> list[str]:
    """Remove this module's temp files in ``folder`` whose writing process is gone; returns their names.

    Only regular files of our own naming (``.NAME.nudge-PID-XXXX.tmp``) whose PID runs no process; a
    live writer's file (another ``nudge`` writing now) is kept.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False) or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):  # another writer removed it first
            if stat.S_ISREG(os.lstat(entry.path).st_mode):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # (on Windows os.kill would end the process)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process (or a name we cannot judge): keep its file
    return True


def _mode_for(target: Path) -> int:
    """The existing file's permissions, else 0666 less the process umask (what ``open`` would give)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
