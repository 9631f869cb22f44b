"""The run folder of ``nudge-train fit``: a new dated one by default, and never a silent overwrite.

As Hugging Face's scripts refuse a non-empty ``--output_dir`` without ``--overwrite_output_dir``, and
Lightning numbers its ``version_N`` folders: a folder that holds a run is continued only with ``--resume``
and replaced only with ``--overwrite`` (which removes the run's own files, nothing else); without
``--out`` a new folder ``runs/YYYY-MM-DD_HH-MM-SS`` is made.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from companion.core.errors import UsageError
from training.fitting.run_logs import CURVES, EVENTS_PREFIX, METRICS

RUNS_DIR = Path("runs")
# the files a run writes into its folder (TensorBoard's event files are matched by their prefix)
RUN_FILES = ("config.json", "last.pt", "best.pt", METRICS, CURVES)


class RunFolderError(UsageError):
    """The run folder cannot be used as asked; the message says what to pass instead."""


def run_files(folder: Path) -> list[Path]:
    """The files of a run in ``folder`` (none when it holds no run or does not exist)."""
    if not folder.is_dir():
        return []
    found = [folder / name for name in RUN_FILES if (folder / name).is_file()]
    return found + sorted(p for p in folder.iterdir() if p.name.startswith(EVENTS_PREFIX) and p.is_file())


def dated_folder(root: Path = RUNS_DIR, now: _dt.datetime | None = None) -> Path:
    """A folder name for a new run that does not exist yet: ``runs/2026-12-05_14-32-10`` (``-2`` ...)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    folder, n = root / stamp, 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{n}"
    return folder


def prepare_run_folder(out: str | None, resume: bool, overwrite: bool) -> tuple[Path, list[str]]:
    """The folder to train into, and lines to tell the user; ``RunFolderError`` when it must not be used."""
    if resume and overwrite:
        raise RunFolderError("--resume continues a run and --overwrite replaces it: choose one")
    if out is None:
        if resume:
            raise RunFolderError("--resume needs --out RUN: the run folder to continue")
        folder = dated_folder()
        return folder, [f"run folder: {folder} (a new one; choose it with --out)"]
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"--out {folder}: is a file, not a folder")
    existing = run_files(folder)
    if resume:
        return folder, [f"run folder: {folder} (resumed)"]
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing[:4]) + (", ..." if len(existing) > 4 else "")
        raise RunFolderError(
            f"--out {folder} holds a run already ({names}): continue it with --resume, replace it with "
            "--overwrite, or leave --out out for a new dated folder"
        )
    notes = [f"run folder: {folder}"]
    if existing:
        for path in existing:
            path.unlink()
        notes.append(f"removed the earlier run's {', '.join(p.name for p in existing)} (--overwrite)")
    return folder, notes
