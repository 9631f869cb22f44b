"""Matplotlib figures -> PNG bytes, for the evaluation report (report.py and report_dynamics.py)."""

from __future__ import annotations

import io


def png_bytes(figure) -> bytes:
    """``figure`` (a ``matplotlib.figure.Figure``) as PNG bytes, 90 dpi, cropped to its content."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()
