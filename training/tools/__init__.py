"""The tools graph: the generator trained further to fill in what is masked (Groove, Drumify, Continue, Fill).

``model`` (the tools generator and the critic that also knows the task), ``tasks`` (what each task gives
and hides, made from real windows on the device), ``fills`` (GMD's fill recordings after the beats they
follow), ``config`` (ToolsConfig), ``train`` (the fine-tuning loop), ``validate`` (model selection),
``calibrate`` (the Groove head's quantile map onto drummers' velocities and offsets).
Export: ``training.export.tools_export``.
"""
