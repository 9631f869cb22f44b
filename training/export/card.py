"""The model card: what a model is, what it learnt from (licence and credit), how it was made and how it
measures, written from the model's own metadata and its evaluation report (``metrics.json``).

``nudge-train export`` writes a first card beside the model (data, recipe, contract; "not evaluated yet");
``nudge-train evaluate`` writes it again with the figures, one current table per figure set, each with
its date, machine and command. ``models/MODEL_CARD.md`` is the same writer's card of the shipped model.
Hand-written text (known weaknesses, intended use) lives in ``NAME.notes.md`` beside the card and is
copied in under *Notes*; the rest of the card is never edited by hand.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from companion.core.atomic import atomic_write_text
from companion.core.errors import UsageError
from companion.core.model_meta import ModelMeta
from training.evaluation.summary import (
    comparison_rows,
    control_rows,
    dynamics_rows,
    markdown_table,
    realism_rows,
    swing_rows,
    takes_rows,
    vary_rows,
)
from training.export.tools_card import tools_section
from training.fitting.config import TrainConfig

MARK = "<!-- written by nudge-train (training/export/card.py); edit {notes}, not this file -->"


def card_path_for(model_path: str | os.PathLike) -> Path:
    """Where a model's card goes by default: ``NAME.card.md`` beside ``NAME.onnx``."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}.card.md")


def notes_path_for(card_path: str | os.PathLike) -> Path:
    """The hand-written notes copied into a card: ``MODEL_CARD.notes.md`` for ``MODEL_CARD.md``."""
    path = Path(card_path)
    return path.with_name(f"{path.stem}.notes.md")


# ---- the card ---------------------------------------------------------------------------------------------


def recipe_command(meta: ModelMeta) -> str:
    """The ``nudge-train fit`` command that trains this model: the options that differ from the defaults."""
    config = meta.training.get("config", {})
    data = meta.dataset.get("file", "DATASET.npz")
    words = ["nudge-train fit", f"--data {data}"]
    for f in fields(TrainConfig):
        if f.name in ("data", "out", "progress") or f.name not in config:
            continue
        value, default = config[f.name], f.default
        if isinstance(default, tuple):
            value, default = tuple(value), default
        if value == default:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            words.append(flag if value else f"--no-{f.name.replace('_', '-')}")
        elif isinstance(value, tuple):
            words.append(f"{flag} {','.join(value)}")
        else:
            words.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(words)


def _data_section(meta: ModelMeta) -> list[str]:
    data = meta.dataset
    counts = data.get("counts", {})
    split_text = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "not recorded"
    lines = ["## Data: licence and credit", ""]
    if data.get("credit") or data.get("source"):
        lines.append(
            f"Trained on **{data.get('source', 'an unnamed dataset')}** (`{data.get('file', '?')}`), "
            f"licence **{data.get('licence') or 'not recorded'}**."
        )
        if data.get("credit"):
            lines.append(f"Credit: {data['credit']}.")
        if "BY" in str(data.get("licence", "")):
            lines.append("The model is a derivative work of that dataset and must keep this credit.")
    else:
        lines.append("The model's metadata names no dataset: say where its data came from before sharing it.")
    ingest = data.get("ingest")
    if isinstance(ingest, dict) and ingest:
        lines.append("Ingest settings: " + ", ".join(f"{k} {v}" for k, v in ingest.items()) + ".")
    lines += [
        "",
        f"Windows: {split_text}. The model learnt from the train split only; the validation split chose "
        "the checkpoint; the test split, never seen in training, is what the evaluation compares against.",
        "",
    ]
    return lines


def _recipe_section(meta: ModelMeta) -> list[str]:
    training = meta.training
    lines = ["## Recipe", "", f"`{recipe_command(meta)}`", ""]
    facts = []
    if "steps" in training:
        steps = training.get("config", {}).get("steps")
        facts.append(f"checkpoint of step {training['steps']:,}" + (f" of {steps:,}" if steps else ""))
    for key, words in (("date", "trained"), ("exported", "exported")):
        if training.get(key):
            facts.append(f"{words} {training[key]}")
    quant = training.get("quantization")
    if isinstance(quant, dict):
        facts.append(
            f"int8 weights ({quant.get('method', '')}): hits agree with the float graph on "
            f"{quant.get('hit_agreement', math.nan):.2%} of the cells"
        )
    if facts:
        lines += ["; ".join(facts) + ".", ""]
    return lines


def _contract_section(meta: ModelMeta, model_path: Path) -> list[str]:
    grid = meta.grid
    cond = ", ".join(f"`{c.name}` (default {c.default:.2f})" for c in meta.conditions)
    styles = (
        f"`style` int64 [N] into {len(meta.styles)} styles ({', '.join(meta.styles)})" if meta.styles else ""
    )
    size = model_path.stat().st_size if model_path.exists() else 0
    return [
        "## Inputs and outputs (ONNX, metadata key `nudge`)",
        "",
        f"- `z` float32 [N, {meta.latent_dim}]; `cond` float32 [N, {len(meta.conditions)}] in 0..1 "
        "(defaults: the training median's slider), order: " + cond + (f"; {styles}" if styles else "") + ".",
        f"- `pattern` float32 [N, 3, {len(meta.voices)}, {grid.n_steps}]: hit probability (decode at "
        f"{meta.hit_threshold:g}), velocity 0..1, offset in steps -0.5..0.5; {grid.bars} bars of "
        f"{grid.beats_per_bar} beats, {grid.steps_per_beat} steps per beat; voices "
        + ", ".join(f"{v.name} {v.pitch}" for v in meta.voices)
        + ".",
        f"- File size {size / 1e6:.2f} MB ({size:,} bytes).",
        "",
    ]


def _provenance(metrics: dict) -> str:
    made = metrics.get("provenance", {})
    return (
        f"Measured {made.get('date', 'on an unrecorded date')} on "
        f"{made.get('machine', 'an unrecorded machine')} by `{made.get('command', 'nudge-train evaluate')}`."
    )


def _evaluation_section(
    metrics: dict | None, compare: Sequence[tuple[str, dict]], model_path: Path
) -> list[str]:
    if metrics is None:
        return [
            "## Evaluation",
            "",
            "Not evaluated yet. Measure it against held-out real patterns, which writes this card again "
            f"with the figures: `nudge-train evaluate {model_path} --data DATASET.npz --out REPORT_DIR`.",
            "",
        ]
    config, counts = metrics.get("config", {}), metrics.get("counts", {})
    head = _provenance(metrics)
    lines = [
        "## Evaluation",
        "",
        f"Against {metrics.get('reference', 'held-out real windows')} ({counts.get('reference', '?')} "
        "windows), "
        f"{config.get('repeats', '?')} repeats, seed {config.get('seed', '?')}; mean ± sd over the repeats. "
        "Definitions: `docs/evaluation.md`.",
        "",
        "### Realism and novelty",
        "",
        head,
        "",
        markdown_table(realism_rows(metrics)),
        "",
    ]
    if metrics.get("dynamics"):
        lines += [
            "### Dynamics: velocities and micro-timing",
            "",
            head,
            "",
            markdown_table(dynamics_rows(metrics)),
            "",
        ]
    if metrics.get("control"):
        lines += [
            "### Slider control (each slider swept 0..1, the others fixed)",
            "",
            head,
            "",
            markdown_table(control_rows(metrics)),
            "",
        ]
    sections = (
        ("Swing: mean swing (steps) per slider level, the other sliders at their defaults", swing_rows),
        ("Takes at one setting (conditional diversity; `docs/evaluation.md`)", takes_rows),
        ("`vary` on real and on Nudge-made clips (median hit change)", vary_rows),
    )
    for title, rows_of in sections:
        rows = rows_of(metrics)
        if rows:
            lines += [f"### {title}", "", head, "", markdown_table(rows), ""]
    if compare:
        lines += [
            "### Compared with other models (same data, seed and settings, same run)",
            "",
            head,
            "",
            markdown_table(comparison_rows([(metrics.get("model", "this model"), metrics), *compare])),
            "",
        ]
    return lines


def model_card(
    meta: ModelMeta,
    model_path: str | os.PathLike,
    metrics: dict | None = None,
    compare: Sequence[tuple[str, dict]] = (),
    *,
    notes: str | None = None,
    notes_name: str = "NAME.notes.md",
) -> str:
    """The card as Markdown (see the module docstring)."""
    model_path = Path(model_path)
    grid = meta.grid
    lines = [
        f"# Model card: `{model_path.name}` ({meta.name})",
        "",
        MARK.format(notes=notes_name),
        "",
        f"A conditional GAN generator of {grid.bars}-bar drum patterns ({grid.beats_per_bar} beats a bar, "
        f"{grid.steps_per_beat} steps a beat, {len(meta.voices)} voices with velocity and micro-timing), "
        f"steered by {len(meta.conditions)} sliders"
        + (f" and {len(meta.styles)} styles" if meta.styles else "")
        + ", for Nudge (`nudge serve --model "
        + str(model_path)
        + "`). Architecture and losses: `docs/gan.md`.",
        "",
        *_data_section(meta),
        *_recipe_section(meta),
        *_contract_section(meta, model_path),
        *_evaluation_section(metrics, compare, model_path),
        *tools_section(model_path),
    ]
    if notes and notes.strip():
        lines += ["## Notes", "", notes.strip(), ""]
    return "\n".join(lines)


def write_model_card(
    card_path: str | os.PathLike,
    meta: ModelMeta,
    model_path: str | os.PathLike,
    metrics: dict | None = None,
    compare: Sequence[tuple[str, dict]] = (),
) -> Path:
    """Write the card (atomically), with ``NAME.notes.md`` beside it copied in when it exists."""
    card_path = Path(card_path)
    notes_file = notes_path_for(card_path)
    notes = notes_file.read_text(encoding="utf-8") if notes_file.is_file() else None
    text = model_card(meta, model_path, metrics, compare, notes=notes, notes_name=notes_file.name)
    return atomic_write_text(card_path, text)


def compared_metrics(metrics: dict | None) -> list[tuple[str, dict]]:
    """The other models an evaluation measured beside this one (``evaluate --compare``)."""
    return list((metrics or {}).get("compared", {}).items())


def read_metrics(report: Path) -> dict:
    """``REPORT/metrics.json`` as a dict; ``ValueError`` naming the file when it is missing or broken."""
    path = report / "metrics.json" if report.is_dir() else report
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: not an evaluation report's metrics.json ({error})") from None
    if not isinstance(data, dict) or "sets" not in data:
        raise UsageError(f"{path}: not an evaluation report's metrics.json (no 'sets')")
    return data
