"""Evaluating a model against held-out real drummers.

- ``evaluate``: the whole evaluation (``nudge-train evaluate``); ``report``, ``report_dynamics`` and
  ``figures``: its report, tables and plots.
- ``sampling``: the exported generator sampled as the evaluation needs; ``baselines``: what a model must beat.
- ``metrics``: realism and diversity figures; ``dynamics``: velocities and micro-timing; ``control``: whether
  the sliders steer.
- ``diversity``: takes at one fixed setting against real neighbours (conditional diversity); ``vary_eval``:
  what Nudge (vary) changes on real clips and on clips Nudge made.
- ``lock_eval``: the voice lock's measurement (``nudge-train evaluate-lock``).
- ``summary``: the headline figures of a ``metrics.json``, for model cards and ``evaluate --compare``.
- ``tools_eval``: the tools' measurement (``nudge-train evaluate-tools``): ``tools_context`` (what its tasks
  share), ``tools_rows`` and ``tools_groove`` (the tasks and their baselines), ``tools_report`` (its page),
  ``tools_targets`` (issue 22's targets read off its figures);
  ``fill_classifier``: whether a bar is a fill.
"""
