"""Issue 22's targets for the tools, read off an ``evaluate-tools`` report (``metrics.json``): one row per
target with the figure that decides it (mean over the repeats, with the spread) and whether it is met. The
report's page, the model card and the closing note all read the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REALISM_MARGIN = 0.05  # a tool's 1-NN at most Generate's + this


@dataclass(frozen=True)
class Target:
    task: str
    target: str
    figure: str
    met: bool


def _get(metrics: dict[str, Any], task: str, row: str, figure: str) -> tuple[float, float]:
    value = metrics["tasks"][task][row][figure]
    return float(value["mean"]), float(value.get("sd", 0.0))


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def target_rows(metrics: dict[str, Any]) -> list[Target]:
    """Every target of issue 22 that the report measures (the model's rows; a missing row is left out)."""
    tasks, rows = metrics.get("tasks", {}), []

    def add(task: str, target: str, figure: str, met: bool) -> None:
        rows.append(Target(task, target, figure, bool(met)))

    if "model" in tasks.get("groove", {}):
        g = lambda row, f: _get(metrics, "groove", row, f)  # noqa: E731
        kept = g("model", "hits_kept")[0]
        add("Groove", "100 % of hits kept", f"{kept:.0%}", kept >= 1.0)
        for name, figure, floor in (
            ("velocity", "velocity_overlap", 0.88),
            ("offset", "offset_overlap", 0.92),
        ):
            m, s = g("model", figure)
            add("Groove", f"{name} overlap >= {floor}", _pm(m, s), m >= floor)
        for name, figure in (("velocity", "velocity_r"), ("offset", "offset_r")):
            m, s = g("model", figure)
            t, h = g("groove template", figure)[0], g("random humaniser", figure)[0]
            add(
                "Groove",
                f"per-clip {name} r above the template's and the random humaniser's",
                f"{_pm(m, s)} (template {t:.3f}, humaniser {h:.3f})",
                m > max(t, h),
            )
    generate = {t: _get(metrics, t, "generate", "one_nn")[0] for t in tasks if "generate" in tasks[t]}
    if "model" in tasks.get("drumify", {}):
        d = lambda f: _get(metrics, "drumify", "model", f)  # noqa: E731
        m, s = d("onset_f1")
        add("Drumify", "onset F1 >= 0.85", _pm(m, s), m >= 0.85)
        m, s = d("one_nn")
        gen = generate["drumify"]
        add(
            "Drumify",
            "realism (1-NN) within 0.05 of Generate's",
            f"{_pm(m, s)} (Generate {gen:.3f})",
            m <= gen + REALISM_MARGIN,
        )
        copies = d("copies")[0]
        add("Drumify", "0 copies", f"{copies:g}", copies == 0)
    if "model" in tasks.get("continue", {}):
        c = lambda row, f: _get(metrics, "continue", row, f)  # noqa: E731
        kept = c("model", "input_unchanged")[0]
        add("Continue", "input bars unchanged", f"{kept:.0%}", kept >= 1.0)
        m, s = c("model", "hamming_to_truth")
        base = c("generate (its bars 3-4)", "hamming_to_truth")[0]
        add(
            "Continue",
            "Hamming to the drummer's next bars >= 30 % below Generate's bars",
            f"{_pm(m, s, 1)} ({1 - m / base:.0%} below Generate's {base:.1f})",
            m <= 0.7 * base,
        )
        m, s = c("model", "not_a_copy")
        add("Continue", "not a copy of the input bars in >= 80 %", f"{m:.0%}", m >= 0.8)
        m, s = c("model", "one_nn")
        gen = generate["continue"]
        add(
            "Continue",
            "realism within 0.05 of Generate's",
            f"{_pm(m, s)} (Generate {gen:.3f})",
            m <= gen + REALISM_MARGIN,
        )
    if "model" in tasks.get("interpolate", {}):
        i = lambda f: _get(metrics, "interpolate", "model", f)  # noqa: E731
        m = i("monotone_steps")[0]
        add("Interpolate", "monotone in >= 90 % of steps", f"{m:.0%}", m >= 0.9)
        m = i("ends_within_15")[0]
        add("Interpolate", "first and last within 15 % of the A-B distance", f"{m:.0%}", m >= 1.0)
        m = i("steps_within_half")[0]
        add("Interpolate", "no step over half the A-B distance", f"{m:.0%}", m >= 1.0)
        gen = generate["interpolate"]
        steps = sorted(k for k in metrics["tasks"]["interpolate"]["model"] if k.startswith("one_nn_step"))
        worst = max(i(k)[0] for k in steps) if steps else float("nan")
        add(
            "Interpolate",
            "each step's realism within 0.05 of Generate's",
            f"worst {worst:.3f} (Generate {gen:.3f})",
            worst <= gen + REALISM_MARGIN,
        )
    if "model" in tasks.get("fill", {}):
        f = lambda row, x: _get(metrics, "fill", row, x)  # noqa: E731
        kept = f("model", "before_unchanged")[0]
        add("Fill", "bars before the fill unchanged", f"{kept:.0%}", kept >= 1.0)
        m, s = f("model", "called_fill")
        add("Fill", "called a fill in >= 70 %", f"{m:.0%} ± {s:.0%}", m >= 0.7)
        m = f("generate (its last bar)", "called_fill")[0]
        add("Fill", "Generate's last bars called fills <= 20 %", f"{m:.0%}", m <= 0.2)
    return rows


def targets_table(metrics: dict[str, Any]) -> list[str]:
    """The rows as a Markdown table."""
    lines = ["| task | target | figure | met |", "|---|---|---|---|"]
    for row in target_rows(metrics):
        lines.append(f"| {row.task} | {row.target} | {row.figure} | {'yes' if row.met else '**no**'} |")
    return lines
