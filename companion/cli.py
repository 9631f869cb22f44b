"""``nudge``: the companion daemon and its offline tools."""

from __future__ import annotations

from collections.abc import Sequence

from companion.core.cli_base import run_cli

# command    module                         help
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("companion.commands.serve", "run the daemon: OSC requests in, patterns out (and live MIDI)"),
    "generate": (
        "companion.commands.generate",
        "write generated or nudged patterns to .mid files, no DAW needed",
    ),
    "info": ("companion.commands.info", "show a model's metadata: conditions, styles, grid, training"),
    "service": (
        "companion.commands.service",
        "run nudge serve at login (macOS launchd, Linux systemd --user, Windows Task Scheduler)",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(
        "nudge", "Nudge: a groove companion. New drum patterns on request, in your DAW.", COMMANDS, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
