"""Fitting the conditional GAN.

- ``config``: ``TrainConfig``, saved beside the weights; ``model``: the generator and critic networks.
- ``losses``: adversarial losses, the gradient penalty, descriptor losses, the diversity floor; ``batches``:
  seeded batches; ``groups``: same-setting groups (an anchor window and its neighbours; takes of one setting).
- ``step``: one training step; ``train``: the loop; ``checkpoint``: saving and loading; ``metrics_log``: the
  metrics file; ``distributed``: devices and DDP.
- ``run_folder``: a new dated run folder, never a silent overwrite; ``run_logs``: progress, best lines,
  TensorBoard events and ``curves.png``.
"""
