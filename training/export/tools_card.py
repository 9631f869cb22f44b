"""The model card's section on the tools graph beside a generator (``NAME.tools.onnx``): what it does, its
recipe (from its own metadata) and issue 22's targets from its report (``report/tools/metrics.json`` beside
the model, written by ``nudge-train evaluate-tools``). ``training.export.card`` adds it when there is one."""

from __future__ import annotations

import json
from pathlib import Path

from companion.runtime.tools_model import ToolsMeta, tools_path_for
from training.evaluation.tools_targets import targets_table
from training.tools.config import ToolsConfig

PATHS = {"base": "RUN/best.pt", "data": "data/gmd_4bar.npz", "fills": "data/gmd_fill_1bar.npz", "out": None}


def tools_report_for(model_path: Path) -> Path:
    return model_path.parent / "report" / "tools"


def recipe(meta: ToolsMeta) -> str:
    """``nudge-train fit-tools`` with the flags that differ from the defaults (paths as placeholders)."""
    config = meta.training.get("config", {})
    defaults = ToolsConfig().to_dict()
    flags = [f"--{k} {v}" for k, v in PATHS.items() if v]
    for key, value in sorted(config.items()):
        if key in PATHS or key in ("progress", "time_limit_s") or defaults.get(key) == value:
            continue
        shown = ",".join(f"{x:g}" for x in value) if isinstance(value, list) else f"{value:g}"
        flags.append(f"--{key.replace('_', '-')} {shown}")
    return "nudge-train fit-tools " + " ".join(flags)


def tools_section(model_path: str | Path) -> list[str]:
    """The section's lines, or none when the model has no tools graph beside it."""
    import onnx

    model_path = Path(model_path)
    path = tools_path_for(model_path)
    if not path.is_file():
        return []
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    meta = ToolsMeta.from_json(props["nudge_tools"])
    lines = [
        "## Tools graph",
        "",
        f"`{path.name}` ({path.stat().st_size / 1e6:.2f} MB) beside the generator serves Groove, Drumify, "
        f"Continue and Fill ({', '.join(meta.tasks)}; Interpolate runs on the generator itself): the "
        "generator trained further to complete what is masked, tied to this generator by the SHA-256 of "
        "its metadata "
        f"(`{meta.base[:12]}…`). Recipe: `{recipe(meta)}` ({meta.training.get('steps', '?')} steps), then "
        f"`nudge-train export RUN/best.pt -o {model_path} --tools-only --int8`. How: `docs/tools.md`.",
        "",
    ]
    report = tools_report_for(model_path) / "metrics.json"
    if report.is_file():
        metrics = json.loads(report.read_text(encoding="utf-8"))
        repeats = metrics.get("config", {}).get("repeats", "?")
        lines += [
            f"Issue 22's targets on the GMD test split ({repeats} repeats, mean ± sd; "
            f"`nudge-train evaluate-tools {model_path} --data data/gmd_4bar.npz --fills "
            f"data/gmd_fill_1bar.npz --out {report.parent}`; the report and plots there):",
            "",
            *targets_table(metrics),
            "",
        ]
    return lines
