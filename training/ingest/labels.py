"""Labels of a MIDI file in a corpus: style, split and beat type.

From the Groove MIDI Dataset's ``info.csv`` when the corpus has one (keyed by ``midi_filename``), found in
the ingested folder or above it: ingesting ``groove-midi-v1/drummer1`` still reads the dataset's
``info.csv``, so a test-split file never passes for training data, and a file that such an ``info.csv``
does not list is skipped, not guessed. Otherwise from the file's place in the folder tree:
``DIR/[train|validation|test/]<style>/.../file.mid``, and the beat type from a ``beat``/``fill`` folder or
file-name token (GMD names look like ``1_funk-groove1_138_beat_4-4.mid``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from companion.core.errors import DataError

INFO_CSV = "info.csv"
INFO_CSV_LEVELS_UP = 4  # how far above the ingested folder an info.csv is looked for
# folder name -> split (case-insensitive)
SPLIT_FOLDERS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "test": "test",
    "eval": "test",
}
BEAT_TYPES = ("beat", "fill")
BEAT_TYPE_FOLDERS: dict[str, str] = {"beat": "beat", "beats": "beat", "fill": "fill", "fills": "fill"}
_TOKEN = re.compile(r"[_\-. ]+")


@dataclass(frozen=True)
class FileLabels:
    style: str = ""
    split: str = "train"
    beat_type: str = ""  # "beat", "fill" or "" (unknown)
    bpm: float | None = None  # the corpus's nominal bpm, when it has one
    time_signature: tuple[int, int] | None = None


def find_info_csv(root: str | os.PathLike) -> tuple[Path, str] | None:
    """The ``info.csv`` that covers ``root``, and ``root``'s posix path relative to that csv's folder (``""``
    when it is ``root`` itself); None if none. One in ``root`` always counts; one in a folder above (up to
    ``INFO_CSV_LEVELS_UP``) only when it is a corpus table (a ``midi_filename`` column) listing files under
    ``root``, so an unrelated ``info.csv`` higher up changes nothing."""
    root = Path(root).resolve()
    if (root / INFO_CSV).is_file():
        return root / INFO_CSV, ""
    for folder in root.parents[:INFO_CSV_LEVELS_UP]:
        path = folder / INFO_CSV
        prefix = root.relative_to(folder).as_posix()
        if path.is_file() and _lists_files_under(path, prefix):
            return path, prefix
    return None


def _lists_files_under(path: Path, prefix: str) -> bool:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = csv.DictReader(handle)
            if "midi_filename" not in (rows.fieldnames or []):
                return False
            return any((row.get("midi_filename") or "").strip().startswith(prefix + "/") for row in rows)
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def read_info_csv(root: str | os.PathLike) -> dict[str, FileLabels]:
    """``{midi_filename (posix, relative to root): labels}`` from the ``info.csv`` that covers ``root``
    (``find_info_csv``); empty when there is none. An unknown split value raises ``ValueError`` naming the
    row: no file is ever filed under ``train`` by default."""
    found = find_info_csv(root)
    if found is None:
        return {}
    path, prefix = found
    table: dict[str, FileLabels] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            name = (row.get("midi_filename") or "").strip()
            if not name:
                continue
            key = str(PurePosixPath(name))
            if prefix:
                if not key.startswith(prefix + "/"):
                    continue
                key = key[len(prefix) + 1 :]
            split = (row.get("split") or "").strip().lower()
            if split not in SPLIT_FOLDERS:
                allowed = ", ".join(sorted(SPLIT_FOLDERS))
                raise DataError(f"{path}: line {line}: split {split!r} is not one of {allowed}")
            beat_type = (row.get("beat_type") or "").strip().lower()
            table[key] = FileLabels(
                style=(row.get("style") or "").strip().split("/")[0],
                split=SPLIT_FOLDERS[split],
                beat_type=beat_type if beat_type in BEAT_TYPES else "",
                bpm=_float_or_none(row.get("bpm")),
                time_signature=_time_signature_or_none(row.get("time_signature")),
            )
    return table


def labels_from_path(relative: str | PurePosixPath) -> FileLabels:
    """Labels from folder names: the split folder (else ``train``), the first other folder as the style."""
    parts = PurePosixPath(relative).parts
    folders = [p.lower() for p in parts[:-1]]
    split = next((SPLIT_FOLDERS[f] for f in folders if f in SPLIT_FOLDERS), "train")
    style = next((f for f in folders if f not in SPLIT_FOLDERS and f not in BEAT_TYPE_FOLDERS), "")
    beat_type = next((BEAT_TYPE_FOLDERS[f] for f in folders if f in BEAT_TYPE_FOLDERS), "")
    if not beat_type and parts:
        tokens = set(_TOKEN.split(PurePosixPath(parts[-1]).stem.lower()))
        found = [b for b in BEAT_TYPES if b in tokens]
        beat_type = found[0] if len(found) == 1 else ""
    return FileLabels(style=style, split=split, beat_type=beat_type)


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _time_signature_or_none(text: str | None) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(\d+)\s*[-/]\s*(\d+)\s*", text or "")
    return (int(match[1]), int(match[2])) if match else None
