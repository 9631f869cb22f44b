"""docs/osc-api.md is generated from the registry: it must match."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from companion.osc import api as osc_api
from companion.osc.api_doc import render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "osc-api.md"


def test_committed_document_matches_the_registry():
    assert DOC.read_text(encoding="utf-8") == render(), "run: python scripts/gen_osc_docs.py"


def test_document_lists_every_address_reply_option_and_the_datagram_limit():
    text = render()
    for endpoint in osc_api.ENDPOINTS:
        assert f"| `{endpoint.address}` |" in text
    for reply in osc_api.REPLIES:
        assert f"`{reply.address}`" in text
    for option in osc_api.OPTIONS:
        assert f"| `{option.key}` |" in text
    assert f"why {osc_api.MAX_DATAGRAM_BYTES} bytes" in text and "docs.cycling74.com" in text


def test_module_entry_point_and_check_script_agree():
    out = subprocess.run(
        [sys.executable, "-m", "companion.osc.api_doc", "--markdown"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout == render()
    check = subprocess.run(
        [sys.executable, "scripts/gen_osc_docs.py", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert check.returncode == 0, check.stdout
