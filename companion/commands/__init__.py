"""The ``nudge`` commands, one module each (``companion.cli`` imports only the chosen one).

- ``serve``: the daemon; ``generate``: ``.mid`` files without a DAW; ``info``: a model's metadata.
- ``service``: ``nudge serve`` at login; ``service_files``: the launchd, systemd and Task Scheduler files.
- ``source_clip``: reading a ``--from FILE.mid`` the same way in every command (file named, bars said).
- ``groove``, ``drumify``, ``continue_`` (``nudge continue``), ``interpolate``, ``fill``: the tools on
  ``.mid`` files; ``tool_common``: what they share (options, reading the clip, writing the answer).
"""
