"""``nudge service install | uninstall | show``: run ``nudge serve`` at login, so a producer never opens a
terminal. macOS: a launchd agent; Linux: a systemd user unit; Windows: a Task Scheduler task
(``companion.commands.service_files``). ``install`` writes the file (atomically) and loads it with the
system's own tool; ``--no-start`` only writes it and prints the commands; ``show`` writes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

from companion.commands.service_files import PLATFORMS, ServiceFile, service_file
from companion.core.atomic import atomic_open

NO_USER_BUS = "Failed to connect to bus"  # systemctl --user without a user session's D-Bus


def this_platform() -> str:
    return {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "uninstall", "show"), help="what to do")
    parser.add_argument(
        "--platform",
        choices=PLATFORMS,
        default=this_platform(),
        help=f"whose service file (default: this system's, {this_platform()})",
    )
    parser.add_argument(
        "--no-start", action="store_true", help="write or remove the file only; print the commands to run"
    )


def _user() -> str:
    domain = os.environ.get("USERDOMAIN")
    return f"{domain}\\{getpass.getuser()}" if domain else getpass.getuser()


def _commands_text(commands: tuple[tuple[str, ...], ...]) -> str:
    return "\n".join(
        "  " + subprocess.list2cmdline(c) if os.name == "nt" else "  " + " ".join(c) for c in commands
    )


def _run_all(commands: tuple[tuple[str, ...], ...], check: bool) -> int:
    for command in commands:
        if shutil.which(command[0]) is None:
            print(f"nudge service: {command[0]} not found; run these yourself:", file=sys.stderr)
            print(_commands_text(commands), file=sys.stderr)
            return 1
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 and check:
            print(
                f"nudge service: {' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}",
                file=sys.stderr,
            )
            if NO_USER_BUS in done.stderr or "DBUS_SESSION_BUS_ADDRESS" in done.stderr:
                print(
                    "nudge service: there is no systemd user session here (as over ssh, under sudo or in a "
                    "container). Install with --no-start, then run the commands it prints in your desktop "
                    "session:\n" + _commands_text(commands),
                    file=sys.stderr,
                )
            else:
                print("nudge service: to write the file only, use --no-start", file=sys.stderr)
            return 1
    return 0


def run(args: argparse.Namespace) -> int:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    service = service_file(args.platform, sys.executable, Path.home(), uid, _user())
    if args.action == "show":
        print(f"# {service.path}")
        print(service.data.decode("utf-16" if service.platform == "windows" else "utf-8"))
        print("# loaded with:\n" + _commands_text(service.load))
        return 0
    starts = not args.no_start
    if starts and args.platform != this_platform():
        print(
            f"nudge service: this system is {this_platform()}; for {args.platform} use --no-start or show",
            file=sys.stderr,
        )
        return 2
    if args.action == "install":
        return _install(service, starts)
    return _uninstall(service, starts)


def _install(service: ServiceFile, starts: bool) -> int:
    reinstall = service.path.exists()
    with atomic_open(service.path) as handle:
        handle.write(service.data)
    print(f"nudge service: wrote {service.path}")
    if not starts:
        print("start it now and at every login with:\n" + _commands_text(service.load))
        return 0
    if reinstall:
        _run_all(service.unload, check=False)  # the old one goes first (launchd refuses a second bootstrap)
    if _run_all(service.load, check=True):
        return 1
    print("nudge service: nudge serve runs now and at every login (undo: nudge service uninstall)")
    return 0


def _uninstall(service: ServiceFile, starts: bool) -> int:
    if not service.path.exists():
        print(f"nudge service: not installed ({service.path} does not exist)")
        return 0
    if starts:
        _run_all(service.unload, check=False)
    service.path.unlink()
    print(f"nudge service: removed {service.path}")
    if not starts:
        print("stop it with:\n" + _commands_text(service.unload))
    return 0
