"""``metrics.jsonl``: one JSON object per epoch of a training run, appended as the run goes.

Appending keeps every finished epoch on disk whatever happens later; what appending cannot promise is made
good on ``--resume``: ``trim_rows`` drops the rows after the checkpoint's step (the resumed run writes them
again) and a torn last line, and rewrites the file whole (temp file, then rename). Values that JSON cannot
hold (NaN, inf) are written as ``null``, so every line is strict JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from companion.core.atomic import atomic_write_bytes


def row_to_line(row: dict[str, Any]) -> str:
    """One line of strict JSON (NaN and inf become null), newline included."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
    return json.dumps(clean, allow_nan=False) + "\n"


def append_row(path: str | Path, row: dict[str, Any]) -> None:
    """Append ``row`` as one line (``row_to_line``)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(row_to_line(row))


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows that parse (a torn line is skipped); [] when there is no file."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def trim_rows(path: str | Path, step: int) -> None:
    """Keep only the rows of steps <= ``step``; rewritten whole, atomically. Nothing to do without a file."""
    path = Path(path)
    if not path.exists():
        return
    kept = [r for r in read_rows(path) if isinstance(r.get("step"), int) and r["step"] <= step]
    atomic_write_bytes(path, "".join(row_to_line(r) for r in kept).encode("utf-8"))
