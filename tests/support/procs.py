"""Processes of a process under test, read from /proc (Linux): its children by command line, and waiting
for any process's end without polling (a pidfd becomes readable when the process ends)."""

from __future__ import annotations

import os
import select
from pathlib import Path


def children(pid: int, needle: str = "") -> list[int]:
    """The child processes of ``pid`` whose command line contains ``needle``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            ids = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for child in map(int, ids):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if needle in command:
                found.append(child)
    return found


def ended_within(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` (not necessarily ours) ends within ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
