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
    "groove": (
        "companion.commands.groove",
        "humanise a .mid file: a drummer's velocities and timing for its hits",
    ),
    "drumify": (
        "companion.commands.drumify",
        "drums for any .mid clip (a bassline, a melody, taps) that follow its rhythm",
    ),
    "continue": ("companion.commands.continue_", "a .mid file's bars, then new bars that go on from them"),
    "interpolate": (
        "companion.commands.interpolate",
        "patterns that lead from one .mid file to another: OUT_1.mid .. OUT_N.mid",
    ),
    "fill": ("companion.commands.fill", "a .mid file with its last bar replaced by a fill"),
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
