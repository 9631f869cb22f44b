"""Where and when a figure was measured: the words that go beside every figure in the docs and the model
card (date, machine, command), so that a reader can tell which machine a number belongs to."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
from collections.abc import Sequence


def today() -> str:
    """The date, ISO (``2026-12-05``), in UTC."""
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def cpu_name() -> str:
    """The CPU's model name where the system tells it (Linux ``/proc/cpuinfo``, else ``platform``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def machine_description(accelerator: str | None = None) -> str:
    """``2 cores of AMD EPYC, 24 GiB, Linux x86_64`` (plus ``, GPU NAME`` when one was used)."""
    memory = memory_gib()
    words = [f"{os.cpu_count() or '?'} cores of {cpu_name()}"]
    if memory:
        words.append(f"{memory:.0f} GiB")
    words.append(f"{platform.system()} {platform.machine()}")
    if accelerator:
        words.append(accelerator)
    return ", ".join(words)


def command_text(prog: str, argv: Sequence[str]) -> str:
    """The command as a user would type it again (``nudge-train evaluate m.onnx --data d.npz``)."""
    return " ".join([prog, *(shlex.quote(a) for a in argv)])
