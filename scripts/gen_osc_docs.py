#!/usr/bin/env python3
"""Write docs/osc-api.md from the registry in companion/osc/api.py, rendered by companion/osc/api_doc.py
(``--check``: exit 1 when it differs)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.core.atomic import atomic_write_text  # noqa: E402
from companion.osc.api_doc import render  # noqa: E402

DOC = ROOT / "docs" / "osc-api.md"


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--check"]:
        same = DOC.is_file() and DOC.read_text(encoding="utf-8") == text
        state = "up to date" if same else "STALE: run python scripts/gen_osc_docs.py"
        print(f"{DOC.relative_to(ROOT)} is {state}")
        return 0 if same else 1
    atomic_write_text(DOC, text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
