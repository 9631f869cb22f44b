"""What each task gives the tools generator and what it hides, built from real windows on the device.

For a batch of real windows [N, 3, V, T] and a task per row (index into ``TASKS``), ``make_inputs`` builds
the tools graph's inputs exactly as ``companion.runtime.completion`` builds them at run time:

| task | given | sliders given |
|---|---|---|
| generate | nothing | all |
| groove | every cell's hit (rests too) | those measured on hits; never swing, energy, spread |
| continue | the first 1, 2 or 3 bars, whole | none in half the rows, else each with p 1/2 |
| fill | every bar but the last, whole (fill windows) | as continue |
| drumify | the merged onsets as a rhythm (their loudness in half the rows, else 1) | as continue |

The style is given for generate, and in half the rows of every other task.

Sliders not given are -1, a style not given is ``n_styles``. ``compose`` puts what is given back into the
generator's output (what the daemon answers and the critic judges).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from companion.core.pattern import HIT, OFFSET, VELOCITY
from companion.runtime.tools_model import TASKS
from training.fitting.model import harden

TASK = {name: i for i, name in enumerate(TASKS)}
DYNAMIC_CONDITIONS = ("swing", "energy", "microtiming_spread")  # as companion.runtime.tools


@dataclass
class ToolInputs:
    cond: torch.Tensor  # [N, C], -1 where not given
    style: torch.Tensor | None  # [N], n_styles where not given
    known: torch.Tensor  # [N, 3, V, T]
    mask: torch.Tensor  # [N, 2, V, T]
    rhythm: torch.Tensor  # [N, T]
    task: torch.Tensor  # [N, n_tasks] one-hot
    task_index: torch.Tensor  # [N]


def make_inputs(
    real: torch.Tensor,
    cond: torch.Tensor,
    style: torch.Tensor | None,
    task_index: torch.Tensor,
    *,
    names: tuple[str, ...],
    n_styles: int,
    steps_per_bar: int,
    gen: torch.Generator,
) -> ToolInputs:
    """The tools graph's inputs for real windows [N, 3, V, T] (conditions [N, C], styles [N])."""
    n, _, v, t = real.shape
    dev = real.device
    is_task = {name: task_index == i for name, i in TASK.items()}  # [N] each
    hits = real[:, HIT] > 0.5  # [N, V, T]
    given_hit = torch.zeros(n, v, t, dtype=torch.bool, device=dev)
    given_dyn = torch.zeros_like(given_hit)
    given_hit |= is_task["groove"][:, None, None]
    context_bars = 1 + torch.multinomial(torch.tensor([0.25, 0.5, 0.25], device=dev), n, True, generator=gen)
    context_bars = torch.where(
        is_task["fill"], torch.full_like(context_bars, t // steps_per_bar - 1), context_bars
    )
    step = torch.arange(t, device=dev)
    whole = (is_task["continue"] | is_task["fill"])[:, None] & (
        step[None] < (context_bars * steps_per_bar)[:, None]
    )
    given_hit |= whole[:, None, :]
    given_dyn |= whole[:, None, :]
    known = torch.stack(
        [hits.to(real.dtype) * given_hit, real[:, VELOCITY] * given_dyn, real[:, OFFSET] * given_dyn], 1
    )
    mask = torch.stack([given_hit, given_dyn], dim=1).to(real.dtype)  # [N, 2, V, T]
    loud = (real[:, VELOCITY] * hits).amax(dim=1).clamp(min=1 / 127) * hits.any(dim=1)  # [N, T]
    flat = hits.any(dim=1).to(real.dtype)
    binary = torch.rand(n, 1, generator=gen, device=dev) < 0.5
    rhythm = torch.where(binary, flat, loud) * is_task["drumify"][:, None]  # [N, T]
    # sliders: all for generate; the hit-measured ones for groove; for the rest none (half) or each (p 1/2)
    dynamic = torch.tensor([name in DYNAMIC_CONDITIONS for name in names], device=dev)  # [C]
    keep = torch.rand(n, len(names), generator=gen, device=dev) < 0.5
    keep &= torch.rand(n, 1, generator=gen, device=dev) < 0.5
    keep = torch.where(is_task["groove"][:, None], ~dynamic[None].expand(n, -1), keep)
    keep |= is_task["generate"][:, None]
    cond_in = torch.where(keep, cond, torch.full_like(cond, -1.0))
    style_in = None
    if style is not None:
        hide = (torch.rand(n, generator=gen, device=dev) < 0.5) & ~is_task["generate"]
        style_in = torch.where(hide, torch.full_like(style, n_styles), style)
    onehot = torch.nn.functional.one_hot(task_index, len(TASKS)).to(real.dtype)
    return ToolInputs(cond_in, style_in, known, mask, rhythm, onehot, task_index)


def compose(raw: torch.Tensor, inputs: ToolInputs, threshold: float, estimator: str) -> torch.Tensor:
    """The generator's output [N, 3, V, T] with what is given put back, hardened as the critic sees real
    patterns (velocity and offset only where the composite hits; straight-through gradients)."""
    given_hit, given_dyn = inputs.mask[:, 0], inputs.mask[:, 1]
    prob = raw[:, HIT] * (1 - given_hit) + inputs.known[:, HIT] * given_hit  # [N, V, T]
    velocity = raw[:, VELOCITY] * (1 - given_dyn) + inputs.known[:, VELOCITY] * given_dyn
    offset = raw[:, OFFSET] * (1 - given_dyn) + inputs.known[:, OFFSET] * given_dyn
    return harden(torch.stack([prob, velocity, offset], dim=1), threshold, estimator)


def inference_inputs(
    task: str,
    real: torch.Tensor,
    cond: torch.Tensor,
    *,
    n_styles: int,
    names: tuple[str, ...],
    steps_per_bar: int,
    context_bars: int = 2,
) -> ToolInputs:
    """The inputs the daemon gives for ``task`` (``companion.runtime.tools``) with no sliders or style
    chosen: Groove the hits and the sliders measured on them; Drumify the merged onsets with their loudness;
    Continue the first ``context_bars``; Fill every bar but the last; the style unknown."""
    n, _, v, t = real.shape
    index = torch.full((n,), TASK[task], dtype=torch.int64)
    hits = real[:, HIT] > 0.5
    given_hit = torch.zeros(n, v, t, dtype=torch.bool)
    given_dyn = torch.zeros_like(given_hit)
    if task == "groove":
        given_hit[:] = True
    elif task in ("continue", "fill"):
        bars = context_bars if task == "continue" else t // steps_per_bar - 1
        given_hit[..., : bars * steps_per_bar] = True
        given_dyn[..., : bars * steps_per_bar] = True
    known = torch.stack(
        [hits.float() * given_hit, real[:, VELOCITY] * given_dyn, real[:, OFFSET] * given_dyn], 1
    )
    mask = torch.stack([given_hit, given_dyn], dim=1).float()
    rhythm = torch.zeros(n, t)
    if task == "drumify":
        rhythm = (real[:, VELOCITY] * hits).amax(dim=1).clamp(min=1 / 127) * hits.any(dim=1)
    keep = torch.zeros_like(cond, dtype=torch.bool)
    if task == "groove":
        keep[:] = torch.tensor([name not in DYNAMIC_CONDITIONS for name in names])
    elif task == "generate":
        keep[:] = True
    cond_in = torch.where(keep, cond, torch.full_like(cond, -1.0))
    style = torch.full((n,), n_styles, dtype=torch.int64) if n_styles else None
    onehot = torch.nn.functional.one_hot(index, len(TASKS)).float()
    return ToolInputs(cond_in, style, known, mask, rhythm, onehot, index)
