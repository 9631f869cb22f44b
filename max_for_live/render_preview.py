"""Draw the device's presentation view from the patcher JSON (a faithful drawing, not a screenshot).

    python max_for_live/render_preview.py   # writes docs/img/max-for-live-device.png

Every object with ``presentation: 1`` is drawn at its ``presentation_rect`` (patcher pixels) in the style
of its ``maxclass``. Live is not available here, so the condition dials are shown the way nudge.js labels
them for an example model (``EXAMPLE_CONDITIONS``): named dials for its conditions, the rest hidden.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATCHER = HERE / "src" / "Nudge.maxpat.json"
OUTPUT = HERE.parent / "docs" / "img" / "max-for-live-device.png"
EXAMPLE_CONDITIONS = ("density", "syncopation", "swing", "energy", "symmetry")
EXAMPLE_STYLE = "funk"

TITLE_BAR_PX = 18
PT_PER_PX = 0.72  # at 100 px per inch
DEFAULT_DAEMON_PORT = "9000"  # what nudge.js shows in the port box until the set stores another
BACKGROUND, TITLE_BG, TEXT, ACCENT, FIELD = "#c9c9c9", "#a7a7a7", "#1e1e1e", "#ffad56", "#b0b0b0"


def _value_text(box: dict) -> str:
    valueof = box.get("saved_attribute_attributes", {}).get("valueof", {})
    initial = (valueof.get("parameter_initial") or [0])[0]
    if box["maxclass"] == "live.menu":
        if box.get("varname") == "nudge_style":
            return EXAMPLE_STYLE
        return valueof.get("parameter_enum", [""])[int(initial)]
    if valueof.get("parameter_type") == 1 or valueof.get("parameter_unitstyle") == 0:  # Int, or shown as one
        return str(int(initial))
    return f"{float(initial):.2f}"


def _draw_box(ax, box: dict, label: str | None) -> None:
    from matplotlib import patches

    x, y, w, h = box["presentation_rect"]
    kind = box["maxclass"]
    font = box.get("fontsize", 10.0) * PT_PER_PX
    if kind == "live.dial":
        radius = min(w, h - 22) / 2
        cx, cy = x + w / 2, y + 12 + radius
        track = patches.Arc((cx, cy), 2 * radius, 2 * radius, theta1=-60, theta2=240, color="#6b6b6b", lw=2)
        ax.add_patch(track)
        value = float(_value_text(box))
        ax.add_patch(
            patches.Arc(
                (cx, cy), 2 * radius, 2 * radius, theta1=240 - 300 * value, theta2=240, color=ACCENT, lw=2
            )
        )
        ax.text(cx, y + 6, label, ha="center", va="center", fontsize=8 * PT_PER_PX, color=TEXT)
        ax.text(cx, y + h - 4, _value_text(box), ha="center", va="center", fontsize=8 * PT_PER_PX, color=TEXT)
    elif kind in ("live.menu", "live.numbox"):
        ax.add_patch(patches.Rectangle((x, y), w, h, facecolor=FIELD, edgecolor="#7a7a7a", lw=0.6))
        ax.text(x + 4, y + h / 2, _value_text(box), va="center", fontsize=9 * PT_PER_PX, color=TEXT)
    elif kind in ("textedit", "number"):  # plain Max fields: the daemon's host and port
        text = box.get("text", "") if kind == "textedit" else DEFAULT_DAEMON_PORT
        ax.add_patch(patches.Rectangle((x, y), w, h, facecolor="#e6e6e6", edgecolor="#7a7a7a", lw=0.6))
        ax.text(x + 3, y + h / 2, text, va="center", fontsize=font, color=TEXT)
    elif kind == "live.toggle":
        ax.add_patch(patches.Rectangle((x, y), w, h, facecolor=FIELD, edgecolor="#7a7a7a", lw=0.6))
    elif kind == "live.text":
        face = ACCENT if box.get("varname") in ("nudge_generate", "nudge_nudge") else FIELD
        style = "round,pad=0,rounding_size=3"
        ax.add_patch(
            patches.FancyBboxPatch((x, y), w, h, boxstyle=style, facecolor=face, edgecolor="#6b6b6b", lw=0.6)
        )
        ax.text(
            x + w / 2,
            y + h / 2,
            box.get("text", ""),
            ha="center",
            va="center",
            fontsize=9 * PT_PER_PX,
            color=TEXT,
            weight="bold",
        )
    elif kind == "panel":
        color = box.get("bgfillcolor", [0.5, 0.5, 0.5, 1.0])
        ax.add_patch(patches.Ellipse((x + w / 2, y + h / 2), w, h, facecolor=color[:3]))
    elif kind == "comment":
        weight = "bold" if box.get("fontface") == 1 else "normal"
        ax.text(
            x + 2, y + 2, box.get("text", ""), va="top", fontsize=font, color=TEXT, weight=weight, wrap=True
        )
    else:
        ax.add_patch(patches.Rectangle((x, y), w, h, fill=False, edgecolor="red"))


def render(patcher: dict, output: Path, conditions: Sequence[str] | None = None) -> list[dict]:
    """Draw ``patcher`` (the dict under "patcher") to ``output``; return the boxes drawn.

    With ``conditions``, the dials are labelled and hidden as nudge.js does for a model with them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = patcher["devicewidth"], patcher["openrect"][3]
    fig = plt.figure(figsize=(width / 100, (height + TITLE_BAR_PX) / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, -TITLE_BAR_PX)
    ax.axis("off")
    fig.patch.set_facecolor(BACKGROUND)
    ax.add_patch(matplotlib.patches.Rectangle((0, -TITLE_BAR_PX), width, TITLE_BAR_PX, facecolor=TITLE_BG))
    ax.text(8, -TITLE_BAR_PX / 2, "Nudge", va="center", fontsize=10 * PT_PER_PX, weight="bold", color=TEXT)
    drawn = []
    for entry in patcher["boxes"]:
        box = entry["box"]
        if box.get("presentation") != 1:
            continue
        label = box.get("saved_attribute_attributes", {}).get("valueof", {}).get("parameter_shortname")
        name = box.get("varname", "")
        if conditions is not None and name.startswith("nudge_cond"):
            index = int(name[len("nudge_cond") :]) - 1
            if index >= len(conditions):
                continue  # hidden by nudge.js
            label = conditions[index]
        _draw_box(ax, box, label)
        drawn.append(box)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=200, facecolor=BACKGROUND, metadata={"Software": None})
    plt.close(fig)
    return drawn


def main() -> int:
    patcher = json.loads(PATCHER.read_text(encoding="utf-8"))["patcher"]
    drawn = render(patcher, OUTPUT, EXAMPLE_CONDITIONS)
    print(f"wrote {OUTPUT} ({len(drawn)} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
