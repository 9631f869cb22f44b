"""The training step as it was before issue 14, kept as the same-run baseline of ``bench_train.py --speed``.

Per step it built CPU generators, drew rows and noise on the CPU and copied them to the device, and read
five losses back with ``.item()`` (a host sync each on CUDA); Adam in torch's default form for the device.
It trains the same networks as ``training.fitting.step``; only the mechanics differ.
"""

from __future__ import annotations

import torch

from training.fitting.batches import BatchSampler, step_generator
from training.fitting.losses import (
    condition_loss,
    critic_loss,
    dynamics_loss,
    generator_loss,
    gradient_penalty,
    interp,
    torch_descriptors,
)
from training.fitting.model import harden


class LegacyStep:
    def __init__(self, trainer) -> None:
        self.t = trainer
        cfg = trainer.config
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(trainer.G.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(trainer.D.parameters(), lr=cfg.lr_d, betas=betas)
        self.step_no = 0
        ctx = trainer.ctx  # the old sampler kept its permutation and rows on the CPU
        self.sampler = BatchSampler(
            trainer.n_rows, cfg.batch_size, cfg.seed, ctx.rank, ctx.world_size, device="cpu"
        )

    def _conditions(self, rows, gen, mix):
        t = self.t
        cond = t.train_cond[rows].clone()
        style = t.train_style[rows] if t.train_style is not None else None
        if mix and t.config.cond_mix > 0 and t.measured:
            b = len(rows)
            chosen = torch.rand(b, generator=gen) < t.config.cond_mix
            column = torch.tensor(t.measured)[torch.randint(len(t.measured), (b,), generator=gen)]
            new = torch.rand(b, generator=gen)
            idx = torch.nonzero(chosen).squeeze(1)
            cond[idx.to(cond.device), column[idx].to(cond.device)] = new[idx].to(cond.device)
        return cond, style

    def _autocast(self):
        t = self.t
        if t.amp is None:
            import contextlib

            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=t.amp)

    def __call__(self) -> dict[str, float]:
        t, cfg, dev = self.t, self.t.config, self.t.ctx.device
        gen = step_generator(cfg.seed, self.step_no, t.ctx.rank)
        stats: dict[str, float] = {}
        for _ in range(cfg.n_critic):
            rows, _ = self.sampler.next()
            real = t.train_patterns[rows.to(dev)]
            cond, style = self._conditions(rows.to(dev), gen, mix=False)
            z = torch.randn(len(rows), cfg.latent_dim, generator=gen).to(dev)
            with torch.no_grad(), self._autocast():
                fake = harden(t.G(z, cond, style), cfg.hit_threshold, cfg.hit_estimator)
            with self._autocast():
                both_style = torch.cat([style, style]) if style is not None else None
                scores = t.D(torch.cat([real, fake.to(real.dtype)]), torch.cat([cond, cond]), both_style, 2)
                real_s, fake_s = scores.float().chunk(2)
                loss_d = critic_loss(cfg.loss, real_s, fake_s)
                if cfg.loss == "wgan-gp":
                    penalty = gradient_penalty(t.D, real, fake.float(), cond, style, generator=gen)
                    loss_d = loss_d + cfg.gp_weight * penalty
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        stats.update(loss_d=loss_d.item(), d_real=real_s.mean().item(), d_fake=fake_s.mean().item())
        rows, _ = self.sampler.next()
        cond, style = self._conditions(rows.to(dev), gen, mix=True)
        z = torch.randn(len(rows), cfg.latent_dim, generator=gen).to(dev)
        t.D.requires_grad_(False)
        with self._autocast():
            out = t.G(z, cond, style)
            fake = harden(out, cfg.hit_threshold, cfg.hit_estimator)
            loss_adv = generator_loss(cfg.loss, t.D(fake, cond, style).float())
        loss_cond = torch.zeros((), device=dev)
        if t.measured and cfg.cond_weight > 0:
            with torch.autocast(device_type=dev.type, enabled=False):
                decoded = harden(out.float(), cfg.hit_threshold, cfg.hit_estimator)
                measured = torch_descriptors(decoded, t.grid, t.measured_names)
                idx = t.measured
                target = interp(cond[:, idx], t.probs.expand(len(idx), -1), t.quantiles[idx])
                loss_cond = condition_loss(measured, target, t.scale[idx])
        loss_dyn = torch.zeros((), device=dev)
        if cfg.dynamics_weight > 0:
            with torch.autocast(device_type=dev.type, enabled=False):
                real = t.train_patterns[rows.to(dev)]
                loss_dyn = dynamics_loss(out.float(), real, cfg.hit_threshold, t.grid)
        loss_g = loss_adv + cfg.cond_weight * loss_cond + cfg.dynamics_weight * loss_dyn
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        t.D.requires_grad_(True)
        stats.update(loss_g=loss_adv.item(), loss_cond=loss_cond.item(), loss_dyn=loss_dyn.item())
        self.step_no += 1
        return stats
