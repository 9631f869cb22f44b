"""The files that make ``nudge serve`` a login service: a launchd agent (macOS), a systemd user unit (Linux)
and a Task Scheduler task (Windows), with the commands that load and unload them. Pure: text and argv lists,
no side effects (``companion.commands.service`` writes and runs them).

The service runs ``<python> -m companion.cli serve`` with the interpreter that installed it (on Windows its
``pythonw.exe``, so no console window opens at login), so it finds this Nudge whatever the PATH at login.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from xml.sax.saxutils import escape

from companion.core.errors import UsageError

LABEL = "org.nudge.serve"  # launchd label
UNIT = "nudge.service"  # systemd user unit
TASK = "Nudge serve"  # Task Scheduler task name
PLATFORMS = ("macos", "linux", "windows")
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"


@dataclass(frozen=True)
class ServiceFile:
    platform: str
    path: Path  # where the file goes
    data: bytes
    load: tuple[tuple[str, ...], ...]  # commands that start it now and at every login
    unload: tuple[tuple[str, ...], ...]  # commands that stop it and forget it


def service_file(platform: str, python: str, home: Path, uid: int = 0, user: str = "") -> ServiceFile:
    """The service for ``platform`` (macos | linux | windows) running ``python -m companion.cli serve``."""
    if platform == "macos":
        return _launchd(python, home, uid)
    if platform == "linux":
        return _systemd(python, home)
    if platform == "windows":
        return _task(python, home, user)
    raise UsageError(f"platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")


def _launchd(python: str, home: Path, uid: int) -> ServiceFile:
    path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    log = str(home / "Library" / "Logs" / "nudge-serve.log")
    plist = {
        "Label": LABEL,
        "ProgramArguments": [python, "-m", "companion.cli", "serve"],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restarted after a crash, not after a clean stop
        "ProcessType": "Interactive",  # no App Nap throttling: replies reach Live on time
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    domain = f"gui/{uid}"
    return ServiceFile(
        "macos",
        path,
        plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=False),
        load=(("launchctl", "bootstrap", domain, str(path)),),
        unload=(("launchctl", "bootout", f"{domain}/{LABEL}"),),
    )


def _systemd_quote(word: str) -> str:
    """One ExecStart word as systemd reads it: double-quoted, with \\ and " escaped and % doubled."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def _systemd(python: str, home: Path) -> ServiceFile:
    path = home / ".config" / "systemd" / "user" / UNIT
    command = " ".join(_systemd_quote(w) for w in (python, "-m", "companion.cli", "serve"))
    text = (
        "[Unit]\n"
        "Description=Nudge groove companion daemon (nudge serve)\n"
        "\n"
        "[Service]\n"
        f"ExecStart={command}\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )
    user = ("systemctl", "--user")
    return ServiceFile(
        "linux",
        path,
        text.encode("utf-8"),
        load=((*user, "daemon-reload"), (*user, "enable", "--now", UNIT)),
        unload=((*user, "disable", "--now", UNIT),),
    )


def _task(python: str, home: Path, user: str) -> ServiceFile:
    exe = PureWindowsPath(python)
    windowless = exe.with_name("pythonw.exe") if exe.name.lower() == "python.exe" else exe
    path = home / "AppData" / "Local" / "Nudge" / "nudge-serve-task.xml"
    who = f"<UserId>{escape(user)}</UserId>" if user else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<Task version="1.2" xmlns="{TASK_NS}">\n'
        "  <RegistrationInfo><Description>Nudge groove companion daemon (nudge serve)</Description>"
        "</RegistrationInfo>\n"
        f"  <Triggers><LogonTrigger><Enabled>true</Enabled>{who}</LogonTrigger></Triggers>\n"
        f'  <Principals><Principal id="Author">{who}<LogonType>InteractiveToken</LogonType>'
        "<RunLevel>LeastPrivilege</RunLevel></Principal></Principals>\n"
        "  <Settings>\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
        "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n"
        "    <RestartOnFailure><Interval>PT1M</Interval><Count>3</Count></RestartOnFailure>\n"
        "    <Priority>5</Priority>\n"
        "  </Settings>\n"
        '  <Actions Context="Author"><Exec>'
        f"<Command>{escape(str(windowless))}</Command><Arguments>-m companion.cli serve</Arguments>"
        "</Exec></Actions>\n"
        "</Task>\n"
    )
    return ServiceFile(
        "windows",
        path,
        xml.encode("utf-16"),  # schtasks /XML wants UTF-16 (with its byte order mark)
        load=(
            ("schtasks", "/Create", "/TN", TASK, "/XML", str(path), "/F"),
            ("schtasks", "/Run", "/TN", TASK),
        ),
        unload=(("schtasks", "/End", "/TN", TASK), ("schtasks", "/Delete", "/TN", TASK, "/F")),
    )
