"""The headline figures of an evaluation, read from its ``metrics.json`` dict (so that they can be shown
for a report written earlier, or for several models side by side): the tables of the model card and the
comparison table of ``nudge-train evaluate --compare``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

MAIN_VOICES = ("kick", "snare", "closed_hat")


def _get(rows: Sequence[dict], name: str) -> dict | None:
    return next((r for r in rows if r.get("name") == name), None)


def _num(value: Any, fmt: str, sd: Any = None) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    text = format(value, fmt)
    if isinstance(sd, int | float) and math.isfinite(sd) and sd > 0:
        text += f" ± {sd:{fmt}}"
    return text


def _pct(value: Any, sd: Any = None) -> str:
    scaled = value * 100 if isinstance(value, int | float) else value
    return _num(scaled, ".1f", sd * 100 if isinstance(sd, int | float) else None) + (
        " %" if isinstance(value, int | float) else ""
    )


def realism_rows(metrics: dict) -> list[list[str]]:
    header = ["set", "1-NN accuracy (0.5 = indistinguishable)", "Fréchet", "exact copies", "NN-Hamming"]
    rows = [header]
    for r in metrics.get("sets", []):
        if r["name"] == "reference":
            continue
        sd = r.get("sd", {})
        rows.append(
            [
                r["name"],
                _num(r.get("one_nn"), ".3f", sd.get("one_nn")),
                _num(r.get("frechet"), ".2f", sd.get("frechet")),
                _num(r.get("exact_copies"), "d"),
                _num(r.get("nn_hamming"), ".1f"),
            ]
        )
    return rows


def dynamics_rows(metrics: dict) -> list[list[str]]:
    short = {"kick": "kick", "snare": "snare", "closed_hat": "hat"}
    header = ["set", "velocity overlap", *(f"vel. ov. {short[v]}" for v in MAIN_VOICES), "offset overlap"]
    header += ["hits < 10", "hits >= 120", "mean abs offset", *(f"accent r {short[v]}" for v in MAIN_VOICES)]
    rows = [header]
    for d in metrics.get("dynamics", []):
        own = d["name"] == "reference"
        sd = d.get("sd", {})

        def cell(value: Any, fmt: str, key: str, trivial: bool = own, sd: dict = sd) -> str:
            return "-" if trivial else _num(value, fmt, sd.get(key))

        rows.append(
            [
                "test split (reference)" if own else d["name"],
                cell(d.get("velocity_overlap"), ".3f", "velocity_overlap"),
                *(cell(d["velocity_overlap_voice"].get(v), ".3f", "") for v in MAIN_VOICES),
                cell(d.get("offset_overlap"), ".3f", "offset_overlap"),
                _pct(d.get("quiet_share"), sd.get("quiet_share")),
                _pct(d.get("full_share"), sd.get("full_share")),
                _num(d.get("mean_abs_offset"), ".3f"),
                *(cell(d["accent_correlation"].get(v), ".3f", "") for v in MAIN_VOICES),
            ]
        )
    return rows


def control_rows(metrics: dict) -> list[list[str]]:
    paths = {c["path"]: c for c in metrics.get("control", [])}
    names = list(paths.get("raw", next(iter(paths.values()), {})).get("rho", {}))
    rows = [["slider", *(f"Spearman rho, {p}" for p in paths), "largest leak onto another slider (raw)"]]
    for name in names:
        leak = paths.get("raw", {}).get("max_leak", {}).get(name) or {}
        leak_text = f"{leak['abs_rho']:.3f} ({leak['onto']})" if leak.get("onto") else "-"
        rows.append([name, *(_num(c["rho"].get(name), ".3f") for c in paths.values()), leak_text])
    return rows


def headline_figures(metrics: dict) -> dict[str, str]:
    """The figures one compares models by, in a fixed order: label -> formatted value."""
    out: dict[str, str] = {}
    model = _get(metrics.get("sets", []), "model") or {}
    sd = model.get("sd", {})
    out["1-NN accuracy vs the test split (0.5 best)"] = _num(model.get("one_nn"), ".3f", sd.get("one_nn"))
    out["Fréchet distance of descriptors (0 best)"] = _num(model.get("frechet"), ".2f", sd.get("frechet"))
    out["exact copies of training windows"] = _num(model.get("exact_copies"), "d")
    out["NN-Hamming to the training set"] = _num(model.get("nn_hamming"), ".1f")
    dyn = _get(metrics.get("dynamics", []), "model") or {}
    out["velocity overlap, all hits"] = _num(dyn.get("velocity_overlap"), ".3f")
    out["offset overlap, all hits"] = _num(dyn.get("offset_overlap"), ".3f")
    out["hits < 10"] = _pct(dyn.get("quiet_share"))
    out["hits >= 120"] = _pct(dyn.get("full_share"))
    for voice in MAIN_VOICES:
        out[f"accent r, {voice}"] = _num(dyn.get("accent_correlation", {}).get(voice), ".3f")
    for row in (metrics.get("diversity") or {}).get("rows", []):
        sd = row.get("sd", {})
        label = f"takes at one setting ({row['path']})"
        out[f"{label}: change"] = _num(row.get("median"), ".3f", sd.get("median"))
        out[f"{label}: near-dup"] = _pct(row.get("near_duplicates"))
    vary = metrics.get("vary") or {}
    for amount, ratio in zip(vary.get("amounts", []), vary.get("ratio", []), strict=False):
        out[f"vary made / real, amount {amount:g}"] = _num(ratio, ".2f")
    for control in metrics.get("control", []):
        if control["path"] in ("raw", "search"):
            for name, rho in control.get("rho", {}).items():
                out[f"slider rho ({control['path']}), {name}"] = _num(rho, ".3f")
    return out


def comparison_rows(named: Sequence[tuple[str, dict]]) -> list[list[str]]:
    """One table of headline figures, a column per model (the figures of one evaluation config)."""
    figures = [headline_figures(metrics) for _, metrics in named]
    labels = list(dict.fromkeys(label for f in figures for label in f))
    rows = [["figure", *(f"`{name}`" for name, _ in named)]]
    rows += [[label, *(f.get(label, "-") for f in figures)] for label in labels]
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows[1:])])


def takes_rows(metrics: dict) -> list[list[str]]:
    """Takes at one setting (``metrics['diversity']``): a row per path (real, raw, search); [] without it."""
    diversity = metrics.get("diversity") or {}
    if not diversity.get("rows"):
        return []
    config = diversity.get("config", {})
    rows = [["path", "settings x takes", "change median", "p10-p90", "near-dup", "x real"]]
    for r in diversity["rows"]:
        sd = r.get("sd", {})
        takes = f"{config.get('settings', '?')} x {config.get('samples', '?')}"
        shape = "-" if r["path"] == "real" else takes
        p10, p90 = _num(r.get("p10"), ".2f"), _num(r.get("p90"), ".2f")
        rows.append(
            [
                r["path"],
                shape,
                _num(r.get("median"), ".3f", sd.get("median")),
                f"{p10}-{p90}",
                _pct(r.get("near_duplicates"), sd.get("near_duplicates")),
                _num(r.get("ratio"), ".2f"),
            ]
        )
    return rows


def vary_rows(metrics: dict) -> list[list[str]]:
    """``vary`` per amount on real and Nudge-made clips (``metrics['vary']``); [] without it."""
    vary = metrics.get("vary") or {}
    if not vary.get("median"):
        return []
    amounts = vary.get("amounts", [])
    rows = [["clips", *(f"amount {a:g}" for a in amounts)]]
    for kind, values in vary["median"].items():
        sds = vary.get("sd", {}).get(kind, [None] * len(values))
        label = f"{kind} ({vary.get('clips', '?')} x {vary.get('repeats', '?')})"
        rows.append([label, *(_num(m, ".3f", s) for m, s in zip(values, sds, strict=False))])
    rows.append(["made / real", *(_num(r, ".2f") for r in vary.get("ratio", []))])
    return rows


def swing_rows(metrics: dict) -> list[list[str]]:
    """The swing sweep (each control path's mean swing per slider level, steps); [] without it."""
    paths = [c for c in metrics.get("control", []) if (c.get("mean_raw") or {}).get("swing")]
    if not paths:
        return []
    rows = [["path", *(f"{level:.1f}" for level in paths[0]["levels"]), "rises"]]
    for c in paths:
        swing = c["mean_raw"]["swing"]
        rises = all(b > a for a, b in itertools.pairwise(swing))
        rows.append([c["path"], *(_num(v, "+.3f") for v in swing), "yes" if rises else "no"])
    return rows
