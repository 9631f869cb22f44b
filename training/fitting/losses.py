"""GAN losses, the gradient penalty, and the condition-matching auxiliary loss.

``torch_descriptors`` is ``companion.core.descriptors.describe_batch`` rewritten in torch: on 0/1 hits it
gives the same values (tested against the numpy reference); on the generator's hit probabilities
(``model.harden``) it is differentiable and gives the generator a gradient towards the
requested slider values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from companion.core.descriptors import DESCRIPTOR_INDEX, DESCRIPTOR_NAMES, metrical_levels, metrical_weights
from companion.core.drum_map import VOICE_GROUPS
from companion.core.errors import UsageError
from companion.core.pattern import HIT, OFFSET, VELOCITY, Grid


def critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Critic loss from scores ``real`` [N] and ``fake`` [N] (without the gradient penalty)."""
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "bce":
        return F.softplus(-real).mean() + F.softplus(fake).mean()  # = BCE with logits, labels 1 / 0
    raise UsageError(f"unknown loss {kind!r}; allowed: hinge, wgan-gp, bce")


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator adversarial loss from the critic's scores of generated patterns ``fake`` [N]."""
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    if kind == "bce":
        return F.softplus(-fake).mean()  # the non-saturating form of the original GAN
    raise UsageError(f"unknown loss {kind!r}; allowed: hinge, wgan-gp, bce")


def gradient_penalty(
    critic: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    cond: torch.Tensor,
    style: torch.Tensor | None,
    *,
    generator: torch.Generator | None = None,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP: (||grad_x D(x_hat)|| - 1)^2 at random points between real and fake patterns.

    The points are ``alpha`` [N, 1, 1, 1] of the way from fake to real: given, or drawn from ``generator``."""
    if alpha is None:
        alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real.device)  # [N, 1, 1, 1]
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)  # [N, 3, V, T]
    scores = critic(mixed, cond, style)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


_CONSTANTS: dict[tuple, torch.Tensor] = {}


@torch.compiler.disable  # numpy inside: torch.compile calls it as it is (a graph break, once per call site)
def _constant(key: tuple, device: torch.device, make) -> torch.Tensor:
    """A constant tensor built once per device (no host->device copy per step; CUDA-graph capturable)."""
    full_key = (*key, str(device))
    if full_key not in _CONSTANTS:
        _CONSTANTS[full_key] = torch.as_tensor(np.array(make()), device=device)
    return _CONSTANTS[full_key]


def _jaccard(a: torch.Tensor, b: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    both = (a * b).sum(dim=dims)
    either = (a + b - a * b).sum(dim=dims)
    return torch.where(either > 0.5, both / either.clamp(min=1.0), torch.ones_like(both))


def _syncopation(hits: torch.Tensor, grid: Grid) -> torch.Tensor:
    """LHL syncopation summed per pattern of ``hits`` [N, V, T] (0/1 with straight-through gradient)."""
    n, v, t = hits.shape
    onsets = hits.reshape(n * v, t)  # [M, T]
    hard = onsets.detach() > 0.5
    positions = torch.arange(2 * t, device=hits.device)
    index = torch.where(
        torch.cat([hard, hard], dim=1), positions, torch.full_like(positions, 4 * t)
    )  # [M, 2T]
    next_inclusive = torch.flip(torch.cummin(torch.flip(index, [1]), dim=1).values, [1])
    next_after = next_inclusive[:, 1 : t + 1]  # [M, T]: first hit strictly after each step
    steps = torch.arange(t, device=hits.device)
    weights = _constant(("metrical_weights", grid), hits.device, lambda: metrical_weights(grid))  # [T]
    rest_weight = torch.full((n * v, t), -100, dtype=torch.int64, device=hits.device)
    for k, spacing in reversed(list(enumerate(metrical_levels(grid)))):
        grid_point = (steps // spacing + 1) * spacing  # [T]
        rest_weight = torch.where(grid_point[None, :] < next_after, -k, rest_weight)
    score = (rest_weight - weights[None, :]).clamp(min=0).to(onsets.dtype) * onsets  # [M, T]
    return score.sum(dim=1).view(n, v).sum(dim=1)  # [N]


def torch_descriptors(
    hardened: torch.Tensor, grid: Grid, names: Sequence[str] = DESCRIPTOR_NAMES
) -> torch.Tensor:
    """Descriptors [N, len(names)] of hardened patterns [N, 3, V, T]: ``describe_batch`` in torch."""
    hits, velocities, offsets = hardened[:, HIT], hardened[:, VELOCITY], hardened[:, OFFSET]  # [N, V, T]
    n, _, t = hits.shape
    bars = grid.bars
    counts = hits.sum(dim=(1, 2))  # [N]
    safe = counts.clamp(min=1.0)
    values: dict[str, torch.Tensor] = {}
    want = set(names)
    if "density" in want:
        values["density"] = counts / bars
    for group in ("low", "mid", "high"):
        if f"density_{group}" in want:
            voices = _constant(("voices", group), hits.device, lambda g=group: VOICE_GROUPS[g])
            values[f"density_{group}"] = hits.index_select(1, voices).sum(dim=(1, 2)) / bars
    if "syncopation" in want:
        values["syncopation"] = _syncopation(hits, grid) / safe
    if "swing" in want:
        off_beat = (torch.arange(t, device=hits.device) % 2 == 1).to(hits.dtype)  # [T]
        odd, even = hits * off_beat, hits * (1 - off_beat)
        odd_n, even_n = odd.sum(dim=(1, 2)), even.sum(dim=(1, 2))
        odd_mean = (odd * offsets).sum(dim=(1, 2)) / odd_n.clamp(min=1.0)
        even_mean = (even * offsets).sum(dim=(1, 2)) / even_n.clamp(min=1.0)
        both = (odd_n > 0.5) & (even_n > 0.5)
        values["swing"] = torch.where(both, odd_mean - even_mean, torch.zeros_like(odd_mean))
    if "energy" in want:
        values["energy"] = velocities.sum(dim=(1, 2)) / bars
    if "microtiming_spread" in want:
        mean = offsets.sum(dim=(1, 2)) / safe  # [N]
        variance = (hits * (offsets - mean[:, None, None]) ** 2).sum(dim=(1, 2)) / safe
        values["microtiming_spread"] = torch.sqrt(variance + 1e-10)
    if "symmetry" in want:
        half = t // 2
        values["symmetry"] = _jaccard(hits[:, :, :half], hits[:, :, half : 2 * half], (1, 2))
    if "consistency" in want:
        if bars > 1:
            per_bar = hits.reshape(n, hits.shape[1], bars, grid.steps_per_bar)
            values["consistency"] = _jaccard(per_bar[:, :, :-1], per_bar[:, :, 1:], (1, 3)).mean(dim=1)
        else:
            values["consistency"] = torch.ones_like(counts)
    unknown = [name for name in names if name not in DESCRIPTOR_INDEX]
    if unknown:
        raise UsageError(f"not descriptors: {unknown}; allowed: {list(DESCRIPTOR_NAMES)}")
    return torch.stack([values[name] for name in names], dim=1)  # [N, len(names)]


def interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor, mirror: bool = False) -> torch.Tensor:
    """Row-wise piecewise-linear interpolation (like ``np.interp``, clamped at the ends).

    ``x`` [N, C], ``xp`` and ``fp`` [C, Q] with ``xp`` increasing along Q -> [N, C]. ``mirror``: beyond
    an end the curve is mirrored through the end point (``QuantileNormaliser.transform(...,
    extrapolate=True)`` read backwards: training conditions below slider 0, e.g. early off-beats under a
    swing table that starts at straight, ask for the mirrored raw value).
    """
    if mirror:
        low, high = xp[:, 0], xp[:, -1]  # [C]
        y = interp(x, xp, fp)
        below = 2 * fp[:, 0] - interp(torch.minimum(2 * low - x, high), xp, fp)
        above = 2 * fp[:, -1] - interp(torch.maximum(2 * high - x, low), xp, fp)
        return torch.where(x < low, below, torch.where(x > high, above, y))
    c, q = xp.shape
    x = torch.maximum(torch.minimum(x, xp[:, -1]), xp[:, 0])  # [N, C]
    right = torch.searchsorted(xp.contiguous(), x.T.contiguous(), right=True).T.clamp(1, q - 1)  # [N, C]
    left = right - 1
    rows = torch.arange(c, device=x.device)[None, :].expand_as(right)
    x0, x1 = xp[rows, left], xp[rows, right]
    y0, y1 = fp[rows, left], fp[rows, right]
    w = torch.where(x1 > x0, (x - x0) / (x1 - x0).clamp(min=1e-12), torch.zeros_like(x))
    return y0 + w * (y1 - y0)


def condition_loss(measured: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Huber loss between measured and requested raw descriptor values [N, C], in units of ``scale`` [C]."""
    return F.smooth_l1_loss(measured / scale, target / scale, beta=0.5)


# --- the drummer's dynamics: velocities and micro-timing per voice and position ---------------------------

DYNAMICS_QUANTILES = 33  # quantiles 0..1 compared per voice
_VOICE_SPAN = 4.0  # sort key = value + voice * span keeps the voices apart (values lie within -0.5..1)


_MASKED = 1e4  # static-shape path: sorts after every real value (velocities 0..1, offsets -0.5..0.5)
STATIC_SHAPES_ON_CPU = False  # True: the CPU takes the GPU's path too (tests check that path on the CPU)


def masked_quantiles(
    values: torch.Tensor, mask: torch.Tensor, n_quantiles: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantiles 0..1 of ``values`` [N, V, T] over the cells where ``mask`` [N, V, T] holds, per voice ->
    (quantiles [V, Q], hit counts [V]); differentiable in ``values`` (sort + linear interpolation). One sort
    of the hits only (voice-major key), not one per voice over every cell: a few times faster on a CPU.

    Off the CPU the shapes must not depend on the data (``values[mask]`` and ``bincount`` wait for the GPU
    and cannot be captured in a CUDA graph, ``training.fitting.step``): there every cell is sorted per voice,
    the non-hits last (``_masked_quantiles_static``); the same quantiles wherever a voice has hits."""
    if values.device.type != "cpu" or STATIC_SHAPES_ON_CPU:
        return _masked_quantiles_static(values, mask, n_quantiles)
    v = values.shape[1]
    voice = torch.arange(v, device=values.device).view(1, v, 1).expand_as(values)[mask]  # [H]
    x = values[mask]  # [H]
    order = torch.sort(x.detach() + voice.to(x.dtype) * _VOICE_SPAN).indices  # [H], by voice then value
    ordered = x[order]  # [H]
    counts = torch.bincount(voice, minlength=v)  # [V]
    q = torch.linspace(0.0, 1.0, n_quantiles, device=values.device, dtype=values.dtype)  # [Q]
    if len(x) == 0:
        return torch.zeros(v, n_quantiles, device=values.device, dtype=values.dtype), counts
    starts = torch.cumsum(counts, 0) - counts  # [V]
    position = q[None, :] * (counts - 1).clamp(min=0).to(values.dtype)[:, None]  # [V, Q] within the voice
    low = position.floor().long()
    w = position - low.to(values.dtype)
    last = len(x) - 1
    high = (starts[:, None] + torch.minimum(low + 1, (counts - 1).clamp(min=0)[:, None])).clamp(max=last)
    low = (starts[:, None] + low).clamp(max=last)
    return ordered[low] * (1 - w) + ordered[high] * w, counts  # [V, Q]


def _masked_quantiles_static(
    values: torch.Tensor, mask: torch.Tensor, n_quantiles: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``masked_quantiles`` with shapes fixed by the input's: one sort per voice over every cell [V, M].
    A voice without hits gets ``_MASKED`` (callers weigh such voices 0)."""
    v = values.shape[1]
    x = values.transpose(0, 1).reshape(v, -1)  # [V, M]
    m = mask.transpose(0, 1).reshape(v, -1)  # [V, M]
    ordered = torch.sort(torch.where(m, x, torch.full_like(x, _MASKED)), dim=1).values  # [V, M]
    counts = m.sum(dim=1)  # [V]
    q = torch.linspace(0.0, 1.0, n_quantiles, device=values.device, dtype=values.dtype)  # [Q]
    position = q[None, :] * (counts - 1).clamp(min=0).to(values.dtype)[:, None]  # [V, Q]
    low = position.floor().long()
    high = torch.minimum(low + 1, (counts - 1).clamp(min=0)[:, None])
    w = position - low.to(values.dtype)
    return ordered.gather(1, low) * (1 - w) + ordered.gather(1, high) * w, counts  # [V, Q]


def _profile(values: torch.Tensor, mask: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``values`` [N, V, T] over the ``mask`` cells per voice and position in the bar -> ([V, S],
    hit counts [V, S])."""
    n, v, _ = values.shape
    shape = (n, v, grid.bars, grid.steps_per_bar)
    m = mask.to(values.dtype).reshape(shape)
    counts = m.sum(dim=(0, 2))  # [V, S]
    return (values.reshape(shape) * m).sum(dim=(0, 2)) / counts.clamp(min=1.0), counts


def dynamics_loss(
    fake: torch.Tensor, real: torch.Tensor, hit_threshold: float, grid: Grid, min_hits: int = 8
) -> torch.Tensor:
    """How far the generator's velocities and offsets are from real playing, on a batch.

    ``fake`` [N, 3, V, T] is the generator's raw output (hits decoded at ``hit_threshold``), ``real``
    [N, 3, V, T] real windows. Four L1 terms, each 0 when the batch's hits match the real ones:
    per voice, the quantiles of velocity and of offset (1-D Wasserstein distances: the whole distribution,
    ghost notes and full-force hits in their real shares, not only the mean); per voice and position in the
    bar, the mean velocity (the accent profile) and the mean offset (push and drag, swing), weighted by how
    often real drummers play there. Offsets count double (their range is one step, velocity's 0..1).
    Only velocities and offsets get gradients: which cells hit is the adversarial loss's business.
    """
    fake_hits = fake[:, HIT].detach() >= hit_threshold  # [N, V, T]
    real_hits = real[:, HIT] > 0.5
    terms = []
    for plane, scale in ((VELOCITY, 1.0), (OFFSET, 2.0)):
        fq, fc = masked_quantiles(fake[:, plane], fake_hits, DYNAMICS_QUANTILES)  # [V, Q], [V]
        with torch.no_grad():
            rq, rc = masked_quantiles(real[:, plane], real_hits, DYNAMICS_QUANTILES)
        voices = ((fc >= min_hits) & (rc >= min_hits)).to(fq.dtype)  # [V]
        per_voice = (fq - rq).abs().mean(dim=1)  # [V]
        terms.append(scale * (per_voice * voices).sum() / voices.sum().clamp(min=1.0))
        fp, fn = _profile(fake[:, plane], fake_hits, grid)  # [V, S]
        with torch.no_grad():
            rp, rn = _profile(real[:, plane], real_hits, grid)
        weight = rn * ((fn >= 1) & (rn >= 1)).to(rn.dtype)  # [V, S]
        terms.append(scale * ((fp - rp).abs() * weight).sum() / weight.sum().clamp(min=1.0))
    return torch.stack(terms).sum()


# --- takes that differ: the diversity floor between takes of one setting ---------------------------------


def soft_hit_change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``engine.hit_change`` on hit probabilities: sum |a - b| / sum (a + b) over [..., V, T] -> [...]
    (equal to it on 0/1 hits)."""
    return (a - b).abs().sum(dim=(-2, -1)) / (a + b).sum(dim=(-2, -1)).clamp(min=1.0)


def diversity_loss(hit_logits: torch.Tensor, pack: int, floor: float, temperature: float) -> torch.Tensor:
    """How far takes of one setting fall short of differing by ``floor``: mean over every pair of rows
    within each group of ``pack`` consecutive rows of relu(floor - soft hit change) (a diversity-sensitive
    hinge, Yang et al. 2019; 0 once every pair differs by the floor).

    The change is measured on ``sigmoid(hit_logits / temperature)`` ([N, V, T] logits): the hit
    probabilities themselves saturate (a cell at logit -10 has a gradient of 5e-5), so a generator that has
    learnt one sure pattern per setting would get no push from them; the tempered ones still have one, in
    the direction in which the takes already differ."""
    n = hit_logits.shape[0]
    soft = torch.sigmoid(hit_logits / temperature).reshape(
        n // pack, pack, *hit_logits.shape[1:]
    )  # [G,p,V,T]
    first, second = torch.triu_indices(pack, pack, offset=1, device=hit_logits.device)  # [P], [P]
    change = soft_hit_change(soft[:, first], soft[:, second])  # [G, P]
    return F.relu(floor - change).mean()
