"""Same-setting groups: batches in which rows come in groups that share one style and nearly one setting.

Every real window has its own sliders, so a batch of independent rows shows the critic one sample per
setting: a generator that ignores its noise and plays one pattern per setting (a conditional mode collapse)
looks just like the data to it. With ``pack`` > 1 a batch is ``B / pack`` groups of ``pack`` rows:

- a real group is an anchor window and ``pack - 1`` windows drawn from its ``neighbours`` nearest (largest
  slider difference, ``partner_table``) of the same style from other files: what real drummers play at
  (nearly) one setting;
- a fake group is ``pack`` takes (different noise) at the anchor's setting;

and the critic sees each group's spread (``model.Critic``), so takes that repeat themselves are told apart
from real neighbours that differ. The same groups give the generator pairs of takes of one setting for the
diversity floor (``losses.diversity_loss``).
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK = 1024  # anchors per distance block (CHUNK x rows of a style x conditions floats)


def partner_table(
    cond: np.ndarray, style: np.ndarray | None, source: np.ndarray, neighbours: int
) -> torch.Tensor:
    """For every row, the ``neighbours`` rows nearest to it (largest absolute difference over the
    conditions ``cond`` [N, C]) among those of the same ``style`` [N] from another ``source`` [N] file,
    nearest first -> int64 [N, neighbours]. Rows with fewer such partners repeat the ones they have; a row
    with none (a style recorded in one file only) gets itself."""
    n = len(cond)
    table = np.tile(np.arange(n, dtype=np.int64)[:, None], (1, neighbours))  # [N, K], default: itself
    groups = np.zeros(n, dtype=np.int64) if style is None else np.asarray(style)
    values = torch.from_numpy(np.ascontiguousarray(cond, dtype=np.float32))  # [N, C]
    _, file_index = np.unique(np.asarray(source), return_inverse=True)
    files = torch.from_numpy(file_index.astype(np.int64))  # [N]
    for label in np.unique(groups):
        rows = np.flatnonzero(groups == label)
        members = torch.from_numpy(rows)
        own, own_files = values[members], files[members]  # [R, C], [R]
        k = min(neighbours, len(rows))
        for start in range(0, len(rows), CHUNK):
            block = slice(start, start + CHUNK)
            dist = (own[block, None, :] - own[None, :, :]).abs().amax(dim=2)  # [b, R]
            dist[own_files[block, None] == own_files[None, :]] = torch.inf  # same file (and itself): no
            near, index = torch.topk(dist, k, dim=1, largest=False)  # [b, k], nearest first
            found = torch.isfinite(near)  # [b, k]
            count = found.sum(dim=1)  # [b]
            picks = rows[index.numpy()]  # [b, k] rows of the dataset
            for i, (have, row) in enumerate(zip(count.tolist(), picks, strict=True)):
                if have:
                    table[rows[start + i]] = np.resize(row[:have], neighbours)  # repeat the ones it has
    return torch.from_numpy(table)


def draw_groups(
    anchors: torch.Tensor, table: torch.Tensor, pack: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real rows and setting rows of a grouped batch, on the device of ``anchors`` [A].

    Returns (``rows`` [A * pack]: each anchor followed by ``pack - 1`` distinct partners drawn from its row
    of ``table`` [N, K], ``settings`` [A * pack]: each anchor repeated ``pack`` times; the fakes of a group
    take its anchor's setting)."""
    a, k = len(anchors), table.shape[1]
    if not 1 <= pack - 1 <= k:
        raise ValueError(f"pack must be in 2..{k + 1} for {k} neighbours per window, got {pack}")
    keys = torch.rand(a, k, generator=generator, device=anchors.device)  # [A, K]
    chosen = torch.argsort(keys, dim=1)[:, : pack - 1]  # [A, pack-1]: distinct columns, random
    mates = table.index_select(0, anchors).gather(1, chosen)  # [A, pack-1]
    rows = torch.cat([anchors[:, None], mates], dim=1).reshape(-1)  # [A*pack]
    return rows, anchors.repeat_interleave(pack)
