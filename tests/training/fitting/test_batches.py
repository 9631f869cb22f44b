"""Seeded, resumable batches and per-step noise (training.fitting.batches)."""

import torch

from training.fitting.batches import BatchSampler, step_generator


def test_batch_sampler_covers_rows_and_shards_between_processes():
    whole = BatchSampler(10, 4, seed=3)
    seen = torch.cat([whole.next()[0] for _ in range(2)])
    assert len(set(seen.tolist())) == 8
    ranks = [BatchSampler(10, 2, seed=3, rank=r, world_size=2) for r in range(2)]
    parts = [s.next()[0] for s in ranks]
    assert torch.equal(torch.cat(parts), BatchSampler(10, 4, seed=3).next()[0])
    tiny = BatchSampler(3, 8, seed=0)
    rows, ends = tiny.next()
    assert len(rows) == 8 and ends and set(rows.tolist()) == {0, 1, 2}


def test_a_sampler_restored_from_its_state_continues_as_the_original():
    original = BatchSampler(11, 3, seed=5)
    for _ in range(5):  # into the second epoch
        original.next()
    restored = BatchSampler(11, 3, seed=5)
    restored.load_state_dict(original.state_dict())
    for _ in range(6):
        (a, a_ends), (b, b_ends) = original.next(), restored.next()
        assert torch.equal(a, b) and a_ends == b_ends


def test_step_noise_depends_on_seed_step_and_rank_only():
    def draw(seed, step, rank):
        return torch.rand(4, generator=step_generator(seed, step, rank))

    assert torch.equal(draw(1, 10, 0), draw(1, 10, 0))
    others = [draw(2, 10, 0), draw(1, 11, 0), draw(1, 10, 1)]
    assert all(not torch.equal(draw(1, 10, 0), other) for other in others)
