"""Fitting the conditional GAN: config, networks, losses, batches, the step, the loop, checkpoints, DDP."""
