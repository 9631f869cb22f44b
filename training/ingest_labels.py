"""Labels of a MIDI file in a corpus: style, split and beat type.

From the Groove MIDI Dataset's ``info.csv`` when the corpus has one (keyed by ``midi_filename``), otherwise
from the file's place in the folder tree: ``DIR/[train|validation|test/]<style>/.../file.mid``, and the
beat type from a ``beat``/``fill`` folder or file-name token (GMD names look like
``1_funk-groove1_138_beat_4-4.mid``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

INFO_CSV = "info.csv"
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


def read_info_csv(root: str | Path) -> dict[str, FileLabels]:
    """``{midi_filename (posix, relative to root): labels}`` from ``root/info.csv``; empty when absent."""
    path = Path(root) / INFO_CSV
    if not path.is_file():
        return {}
    table: dict[str, FileLabels] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("midi_filename") or "").strip()
            if not name:
                continue
            split = (row.get("split") or "").strip().lower()
            beat_type = (row.get("beat_type") or "").strip().lower()
            table[str(PurePosixPath(name))] = FileLabels(
                style=(row.get("style") or "").strip().split("/")[0],
                split=SPLIT_FOLDERS.get(split, "train"),
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
