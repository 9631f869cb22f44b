import pytest
import torch

from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid
from training.fitting.config import TrainConfig
from training.fitting.model import Critic, Generator, build_models, count_parameters, harden

GRID = Grid(4, 4, 2)
CONFIG = TrainConfig(  # rows without same-setting groups (those: the tests at the end)
    latent_dim=8,
    style_dim=4,
    g_hidden=32,
    bar_dim=16,
    bar_hidden=32,
    d_hidden=32,
    pack=1,
    diversity_weight=0.0,
)


def test_generator_output_shape_and_plane_ranges():
    torch.manual_seed(0)
    G = Generator(CONFIG, n_conditions=3, n_styles=2, n_voices=N_VOICES, grid=GRID)
    out = G(torch.randn(5, 8) * 10, torch.rand(5, 3), torch.tensor([0, 1, 0, 1, 1]))
    assert out.shape == (5, 3, N_VOICES, GRID.n_steps)
    assert out[:, :2].min() >= 0 and out[:, :2].max() <= 1
    assert out[:, 2].abs().max() <= 0.5
    assert out[:, 0].std() > 0  # not constant


def test_generator_starts_sparse():
    torch.manual_seed(0)
    G = Generator(CONFIG, 2, 0, N_VOICES, GRID)
    assert G(torch.randn(64, 8), torch.rand(64, 2))[:, 0].mean() < 0.3


def test_generator_with_styles_needs_a_style():
    G = Generator(CONFIG, 2, 3, N_VOICES, GRID)
    with pytest.raises(ValueError, match="style index"):
        G(torch.randn(2, 8), torch.rand(2, 2))


def test_style_and_condition_change_the_output():
    torch.manual_seed(0)
    G = Generator(CONFIG, 2, 3, N_VOICES, GRID)
    z, cond = torch.randn(4, 8), torch.rand(4, 2)
    base = G(z, cond, torch.zeros(4, dtype=torch.long))
    assert not torch.allclose(base, G(z, cond, torch.ones(4, dtype=torch.long)))
    assert not torch.allclose(base, G(z, 1 - cond, torch.zeros(4, dtype=torch.long)))


@pytest.mark.parametrize("estimator", ["straight-through", "soft"])
def test_harden_masks_velocity_and_offset_by_hits(estimator):
    pattern = torch.tensor([[[[0.2, 0.7]], [[0.9, 0.8]], [[0.3, -0.4]]]], requires_grad=True)  # [1, 3, 1, 2]
    out = harden(pattern, 0.5, estimator)
    if estimator == "straight-through":
        want = torch.tensor([[[[0.0, 1.0]], [[0.0, 0.8]], [[0.0, -0.4]]]])
    else:
        want = torch.tensor([[[[0.2, 0.7]], [[0.0, 0.8]], [[0.0, -0.4]]]])  # velocity/offset: decoded hits
    torch.testing.assert_close(out.detach(), want)
    out[:, 0].sum().backward()
    torch.testing.assert_close(pattern.grad[0, 0], torch.ones(1, 2))  # the hit gradient reaches every cell


def test_critic_scores_and_groups_keep_real_and_fake_apart():
    torch.manual_seed(0)
    D = Critic(CONFIG, 2, 2, N_VOICES, GRID).eval()
    real = torch.rand(4, 3, N_VOICES, GRID.n_steps)
    cond, style = torch.rand(8, 2), torch.tensor([0, 1] * 4)
    fake_a = torch.rand(4, 3, N_VOICES, GRID.n_steps)
    fake_b = torch.zeros(4, 3, N_VOICES, GRID.n_steps)
    with torch.no_grad():
        a = D(torch.cat([real, fake_a]), cond, style, groups=2)
        b = D(torch.cat([real, fake_b]), cond, style, groups=2)
        mixed = D(torch.cat([real, fake_b]), cond, style, groups=1)
    assert a.shape == (8,)
    torch.testing.assert_close(a[:4], b[:4])  # the real half's scores do not see the fake half
    assert not torch.allclose(b[:4], mixed[:4])  # ... which they would without groups


def test_critic_sees_the_condition():
    torch.manual_seed(0)
    D = Critic(CONFIG, 2, 0, N_VOICES, GRID).eval()
    x = torch.rand(3, 3, N_VOICES, GRID.n_steps)
    with torch.no_grad():
        assert not torch.allclose(D(x, torch.zeros(3, 2)), D(x, torch.ones(3, 2)))


def test_build_models_default_size_is_small():
    G, D = build_models(TrainConfig(), 5, 17, N_VOICES, Grid(4, 4, 4))
    assert count_parameters(G) * 4 < 10e6  # float32 ONNX under 10 MB
    assert count_parameters(D) > 0


SMALL = dict(g_hidden=32, bar_dim=8, bar_hidden=16, d_hidden=32, batch_size=8)


def test_critic_with_spread_sees_each_groups_spread():
    torch.manual_seed(0)
    D = Critic(TrainConfig(**SMALL, pack=2, pack_critic="spread"), 2, 0, N_VOICES, GRID).eval()
    assert D.joint[0].in_features == GRID.bars * 32 + 2 + 1 + GRID.bars  # + one spread per bar
    take, other = torch.rand(1, 3, N_VOICES, GRID.n_steps), torch.rand(1, 3, N_VOICES, GRID.n_steps)
    cond = torch.rand(1, 2).repeat(4, 1)
    with torch.no_grad():
        repeated = D(torch.cat([take, take, take, other]), cond)  # group 1 repeats its take
        varied = D(torch.cat([take, other, take, other]), cond)
    assert repeated.shape == (4,)
    assert not torch.allclose(repeated[0], varied[0])  # the same pattern scores by its group's spread
    with pytest.raises(ValueError, match="groups of 2"):
        D(torch.rand(3, 3, N_VOICES, GRID.n_steps), torch.rand(3, 2))


def test_joint_critic_scores_a_group_from_its_rows_side_by_side():
    torch.manual_seed(0)
    D = Critic(TrainConfig(**SMALL, pack=4, pack_critic="joint"), 2, 3, N_VOICES, GRID).eval()
    assert D.joint[0].in_features == 4 * GRID.bars * 32 + 2 + 1
    patterns = torch.rand(8, 3, N_VOICES, GRID.n_steps)
    cond, style = torch.rand(8, 2), torch.tensor([0, 0, 0, 0, 2, 2, 2, 2])
    with torch.no_grad():
        scores = D(patterns, cond, style)
        assert scores.shape == (2,)  # one per group
        moved = cond.clone()
        moved[1:4] = 0.0  # only the anchor's condition counts
        torch.testing.assert_close(D(patterns, moved, style), scores)
        swapped = patterns.clone()
        swapped[5] = patterns[4]  # the second group now repeats a take
        changed = D(swapped, cond, style)
    torch.testing.assert_close(changed[0], scores[0])  # groups do not see each other
    assert not torch.allclose(changed[1], scores[1])
    with torch.no_grad():  # real and fake halves: the half's groups, one score each
        assert D(torch.cat([patterns, patterns]), cond.repeat(2, 1), style.repeat(2), groups=2).shape == (4,)


def test_without_groups_the_critic_is_as_before():
    for config in (
        TrainConfig(**SMALL, pack=2, pack_critic="none"),
        TrainConfig(**SMALL, pack=1, diversity_weight=0.0),
    ):
        assert Critic(config, 2, 0, N_VOICES, GRID).joint[0].in_features == GRID.bars * 32 + 2 + 1
