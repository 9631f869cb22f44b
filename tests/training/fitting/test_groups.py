"""Same-setting groups: each window's neighbours, and the grouped rows a batch draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.fitting.groups import draw_groups, partner_table


def test_partners_are_the_nearest_of_the_same_style_from_other_files():
    cond = np.array([[0.0], [0.1], [0.3], [0.05], [0.9], [0.12], [0.5]], dtype=np.float32)
    style = np.array([0, 0, 0, 0, 0, 1, 1])
    source = np.array(["a", "b", "c", "a", "d", "e", "f"])
    table = partner_table(cond, style, source, 2).numpy()
    assert table.shape == (7, 2)
    assert table[0].tolist() == [1, 2]  # row 3 is nearer but from the same file; 5 is another style
    assert table[1].tolist() == [0, 3] or table[1].tolist() == [3, 0]
    assert table[4].tolist() == [2, 1]  # the far one still gets its nearest
    assert table[5].tolist() == [6, 6]  # one partner in its style: repeated


def test_a_window_without_partners_is_its_own():
    table = partner_table(np.zeros((3, 2), np.float32), None, np.array(["a", "a", "a"]), 2).numpy()
    assert table.tolist() == [[0, 0], [1, 1], [2, 2]]


def test_partner_table_blocks_agree_with_one_block(monkeypatch):
    rng = np.random.default_rng(0)
    cond = rng.random((50, 3)).astype(np.float32)
    source = np.array([f"f{i % 7}" for i in range(50)])
    whole = partner_table(cond, None, source, 4)
    monkeypatch.setattr("training.fitting.groups.CHUNK", 8)
    assert torch.equal(partner_table(cond, None, source, 4), whole)


def test_draw_groups_puts_each_anchor_before_distinct_partners():
    table = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    anchors = torch.tensor([2, 0])
    gen = torch.Generator().manual_seed(0)
    rows, settings = draw_groups(anchors, table, 3, gen)
    assert settings.tolist() == [2, 2, 2, 0, 0, 0]
    groups = rows.view(2, 3)
    assert groups[:, 0].tolist() == [2, 0]
    for group, anchor in zip(groups.tolist(), (2, 0), strict=True):
        assert len(set(group)) == 3 and set(group[1:]) <= set(table[anchor].tolist())
    again, _ = draw_groups(anchors, table, 3, torch.Generator().manual_seed(0))
    assert torch.equal(again, rows)  # seeded
    with pytest.raises(ValueError, match=r"pack must be in 2\.\.4"):
        draw_groups(anchors, table, 5, gen)
