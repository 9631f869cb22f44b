"""Only regular files: read with a size cap, replaced only where a regular file (or nothing) is.

A path from the command line (``-o``, ``--from``) or found in a folder may be a symbolic link, a FIFO
(opening it to read blocks until a writer comes), a device (as root, renaming a temp file over
``/dev/full`` replaces the device node) or a huge file. ``read_regular_file`` opens without blocking, checks
what it opened and reads at most ``max_bytes``; ``check_replaceable`` refuses to replace anything that is
not a regular file. Errors are ``NotRegularFileError`` (an ``OSError``) naming the path and what it is.
"""

from __future__ import annotations

import os
import stat

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class NotRegularFileError(OSError):
    """The path is not a regular file (or is too large); the message says what it is."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not a regular file"


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words ("a regular file", "a FIFO (named pipe)", ...)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def check_replaceable(path: str | os.PathLike) -> None:
    """Nothing at ``path``, or a regular file (not a link to one): else ``NotRegularFileError``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(
            f"{os.fspath(path)}: is {kind_of(mode)}; nudge writes only regular files "
            "(choose another path, or remove it first)"
        )


def read_regular_file(path: str | os.PathLike, max_bytes: int, follow_links: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    Never blocks on a FIFO (opened non-blocking, then refused); ``follow_links=False`` refuses a symbolic
    link itself. ``FileNotFoundError`` and other ``OSError`` pass through; ``NotRegularFileError`` for a
    path that is no regular file or is larger than ``max_bytes``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        mode = os.lstat(path).st_mode  # (O_NOFOLLOW's ELOOP says less than this)
        if stat.S_ISLNK(mode):
            raise NotRegularFileError(f"{os.fspath(path)}: is a symbolic link; only regular files are read")
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{os.fspath(path)}: is {kind_of(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise NotRegularFileError(
                f"{os.fspath(path)}: file is {info.st_size} bytes, larger than the {max_bytes} allowed"
            )
        chunks, left = [], max_bytes + 1  # one more: a file that grew while we read is refused too
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise NotRegularFileError(f"{os.fspath(path)}: file is larger than the {max_bytes} bytes allowed")
    return data
