import numpy as np
import pytest
import torch

from companion.core.descriptors import DESCRIPTOR_NAMES, describe_batch
from companion.core.drum_map import N_VOICES
from companion.core.pattern import Grid, binarize
from training.fitting.losses import (
    condition_loss,
    critic_loss,
    dynamics_loss,
    generator_loss,
    gradient_penalty,
    interp,
    masked_quantiles,
    torch_descriptors,
)


def _random_batch(grid: Grid, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    batch = np.stack(
        [
            rng.random((n, N_VOICES, grid.n_steps)) < rng.uniform(0.02, 0.6, (n, 1, 1)),
            rng.random((n, N_VOICES, grid.n_steps)),
            rng.uniform(-0.5, 0.5, (n, N_VOICES, grid.n_steps)),
        ],
        axis=1,
    ).astype(np.float32)
    batch[:3, 0] = 0  # empty patterns
    batch[3, 0, :, ::4] = 1  # on-beat only
    return binarize(batch)


@pytest.mark.parametrize("grid", [Grid(4, 4, 4), Grid(4, 3, 2), Grid(4, 4, 1), Grid(3, 4, 2)])
def test_torch_descriptors_match_the_numpy_reference(grid):
    batch = _random_batch(grid, 200, seed=grid.n_steps)
    want = describe_batch(batch, grid)
    got = torch_descriptors(torch.from_numpy(batch), grid).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_torch_descriptors_subset_in_the_asked_order():
    grid = Grid(4, 4, 2)
    batch = _random_batch(grid, 20, seed=1)
    got = torch_descriptors(torch.from_numpy(batch), grid, ["syncopation", "density"]).numpy()
    want = describe_batch(batch, grid)[
        :, [DESCRIPTOR_NAMES.index("syncopation"), DESCRIPTOR_NAMES.index("density")]
    ]
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="not descriptors"):
        torch_descriptors(torch.from_numpy(batch), grid, ["loudness"])


def test_density_gradient_points_towards_more_hits():
    grid = Grid(4, 4, 1)
    hits = torch.full((1, 3, N_VOICES, grid.n_steps), 0.3, requires_grad=True)
    torch_descriptors(hits, grid, ["density"]).sum().backward()
    assert (hits.grad[:, 0] > 0).all()


def test_losses_on_known_scores():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert critic_loss("hinge", real, fake).item() == pytest.approx(0.25 + 0.5)
    assert critic_loss("wgan-gp", real, fake).item() == pytest.approx(-1.0 - 1.25)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(real, torch.ones(2)) + bce(fake, torch.zeros(2))
    assert critic_loss("bce", real, fake).item() == pytest.approx(want.item())
    assert generator_loss("hinge", fake).item() == pytest.approx(1.0)
    assert generator_loss("bce", fake).item() == pytest.approx(bce(fake, torch.ones(2)).item())
    with pytest.raises(ValueError, match="unknown loss"):
        critic_loss("mse", real, fake)


def test_gradient_penalty_of_a_linear_critic_is_known():
    weight = torch.full((1, 3, 2, 4), 0.5)  # ||w|| = 0.5 * sqrt(24)

    def critic(x, cond, style):
        return (x * weight).flatten(1).sum(1)

    x = torch.rand(5, 3, 2, 4)
    gp = gradient_penalty(
        critic, x, torch.rand(5, 3, 2, 4), None, None, generator=torch.Generator().manual_seed(0)
    )
    assert gp.item() == pytest.approx((0.5 * 24**0.5 - 1) ** 2, rel=1e-5)


def test_interp_matches_numpy_including_ties_and_clamping():
    rng = np.random.default_rng(0)
    xp = np.sort(rng.random((3, 11)), axis=1)
    xp[1, 3:6] = xp[1, 3]  # a run of ties
    fp = np.sort(rng.random((3, 11)), axis=1)
    x = rng.uniform(-0.2, 1.2, (50, 3))
    got = interp(torch.from_numpy(x), torch.from_numpy(xp), torch.from_numpy(fp)).numpy()
    want = np.stack([np.interp(x[:, c], xp[c], fp[c]) for c in range(3)], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_condition_loss_is_zero_when_met_and_scaled():
    measured = torch.tensor([[10.0, 0.5]])
    assert condition_loss(measured, measured.clone(), torch.tensor([4.0, 0.1])).item() == 0
    far = condition_loss(measured, torch.tensor([[14.0, 0.5]]), torch.tensor([4.0, 0.1]))
    near = condition_loss(measured, torch.tensor([[14.0, 0.5]]), torch.tensor([40.0, 0.1]))
    assert far > near > 0


def _played(n: int, seed: int, low: float, high: float) -> torch.Tensor:
    """[n, 3, V, T] 0/1 hits with velocities uniform in low..high and offsets in -0.2..0.2."""
    g = torch.Generator().manual_seed(seed)
    hits = (torch.rand(n, N_VOICES, 32, generator=g) < 0.3).float()
    velocity = hits * (low + (high - low) * torch.rand(n, N_VOICES, 32, generator=g))
    offset = hits * (0.4 * torch.rand(n, N_VOICES, 32, generator=g) - 0.2)
    return torch.stack([hits, velocity, offset], dim=1)


def test_masked_quantiles_equal_numpy_per_voice():
    batch = _played(20, 0, 0.1, 0.9)
    q, counts = masked_quantiles(batch[:, 1], batch[:, 0] > 0.5, 5)
    for v in range(N_VOICES):
        values = batch[:, 1, v][batch[:, 0, v] > 0.5].numpy()
        assert counts[v] == len(values)
        np.testing.assert_allclose(q[v].numpy(), np.quantile(values, np.linspace(0, 1, 5)), atol=1e-6)


def test_dynamics_loss_is_zero_for_real_playing_and_grows_with_the_distance():
    grid = Grid(4, 4, 2)
    real = _played(64, 1, 0.2, 0.9)
    assert dynamics_loss(real, real, 0.5, grid).item() == pytest.approx(0.0, abs=1e-6)
    near = dynamics_loss(_played(64, 2, 0.2, 0.9), real, 0.5, grid).item()
    far = dynamics_loss(_played(64, 2, 0.0, 0.1), real, 0.5, grid).item()
    assert far > 5 * near > 0


def test_dynamics_loss_pulls_velocities_and_offsets_only():
    grid = Grid(4, 4, 2)
    real = _played(64, 1, 0.4, 0.6)
    fake = _played(64, 3, 0.0, 1.0).requires_grad_(True)  # ghost notes and full force: too spread
    dynamics_loss(fake, real, 0.5, grid).backward()
    hits = fake.detach()[:, 0] > 0.5
    assert torch.count_nonzero(fake.grad[:, 0]) == 0  # which cells hit is the critic's business
    loud = hits & (fake.detach()[:, 1] > 0.9)
    quiet = hits & (fake.detach()[:, 1] < 0.1)
    # descent moves the loud hits down and the quiet ones up (on average: the per-position means pull each
    # note a little either way, the quantiles pull the extremes towards the middle)
    assert fake.grad[:, 1][loud].mean() > 0 > fake.grad[:, 1][quiet].mean()
    assert torch.count_nonzero(fake.grad[:, 1][~hits]) == 0 and torch.count_nonzero(fake.grad[:, 2]) > 0


def test_interp_mirror_reads_the_extrapolated_normaliser_backwards():
    from companion.core.normaliser import QuantileNormaliser

    xp = torch.tensor([[0.0, 0.5, 1.0]])
    fp = torch.tensor([[0.0, 0.1, 0.4]])
    x = torch.tensor([[-0.5], [-0.25], [0.0], [0.25], [1.0], [1.5]])
    got = interp(x, xp, fp, mirror=True)[:, 0]
    np.testing.assert_allclose(got.numpy(), [-0.1, -0.05, 0.0, 0.05, 0.4, 0.7], atol=1e-6)
    norm = QuantileNormaliser(("swing",), fp.double().numpy(), xp[0].double().numpy())
    back = norm.transform(got.double().numpy()[:, None], extrapolate=True)[:, 0]
    np.testing.assert_allclose(back, x[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(interp(x, xp, fp)[:, 0].numpy(), [0, 0, 0, 0.05, 0.4, 0.4], atol=1e-6)


def test_soft_hit_change_equals_the_engines_on_hits_and_the_floor_hinge():
    from companion.runtime.engine import hit_change
    from training.fitting.losses import diversity_loss, soft_hit_change

    rng = np.random.default_rng(3)
    a, b = rng.random((4, 9, 16)) < 0.2, rng.random((4, 9, 16)) < 0.2
    got = soft_hit_change(torch.from_numpy(a).float(), torch.from_numpy(b).float()).numpy()
    np.testing.assert_allclose(got, hit_change(a, b), atol=1e-6)
    same = torch.full((4, 9, 16), -50.0)
    same[:, :, ::4] = 50.0  # four identical sure takes: every pair 0 apart -> the whole floor
    assert diversity_loss(same, 2, 0.3, 1.0).item() == pytest.approx(0.3)
    apart = same.clone()
    apart[1::2] = -50.0
    apart[1::2, :, 2::4] = 50.0  # pairs without a shared hit: change 1 > floor -> nothing
    assert diversity_loss(apart, 2, 0.3, 1.0).item() == 0.0


def test_the_tempered_floor_pushes_saturated_takes_apart():
    from training.fitting.losses import diversity_loss

    gen = torch.Generator().manual_seed(0)
    base = torch.where(torch.rand(2, 9, 16, generator=gen) < 0.15, 8.0, -10.0)  # sure hits and rests
    logits = (base.repeat_interleave(2, dim=0) + 0.01 * torch.randn(4, 9, 16, generator=gen)).requires_grad_()
    diversity_loss(logits, 2, 0.3, 1.0).backward()
    plain = logits.grad.abs().sum()
    logits.grad = None
    diversity_loss(logits, 2, 0.3, 4.0).backward()
    grad = logits.grad
    assert grad.abs().sum() > 100 * plain  # the sigmoid itself has saturated: tempered, the push is there
    higher = logits[0::2] > logits[1::2]  # of each pair of takes
    assert (grad[0::2][higher] < 0).all() and (grad[1::2][higher] > 0).all()  # descent moves them apart
