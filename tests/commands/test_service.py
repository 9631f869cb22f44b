"""``nudge service``: the launchd agent, systemd user unit and Task Scheduler task it writes (parsed as their
tools would; `systemd-analyze verify` where it is installed), and install/uninstall as real processes with
--no-start (the service managers themselves cannot run here)."""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from companion.commands.service_files import LABEL, TASK, TASK_NS, UNIT, service_file

PYTHON = "/opt/my python/bin/python3"  # a space: quoting must hold


def test_launchd_agent_runs_the_daemon_at_login(tmp_path: Path):
    service = service_file("macos", PYTHON, tmp_path, uid=501)
    assert service.path == tmp_path / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    plist = plistlib.loads(service.data)
    assert plist["Label"] == LABEL
    assert plist["ProgramArguments"] == [PYTHON, "-m", "companion.cli", "serve"]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["StandardErrorPath"].endswith("Library/Logs/nudge-serve.log")
    assert service.load == (("launchctl", "bootstrap", "gui/501", str(service.path)),)
    assert service.unload == (("launchctl", "bootout", f"gui/501/{LABEL}"),)


def test_systemd_user_unit(tmp_path: Path):
    service = service_file("linux", PYTHON, tmp_path)
    assert service.path == tmp_path / ".config" / "systemd" / "user" / UNIT
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str
    unit.read_string(service.data.decode("utf-8"))
    assert unit["Service"]["ExecStart"] == f'"{PYTHON}" "-m" "companion.cli" "serve"'
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "default.target"
    assert service.load[-1] == ("systemctl", "--user", "enable", "--now", UNIT)
    odd = service_file("linux", '/x/50%"q\\/python', tmp_path)
    assert 'ExecStart="/x/50%%\\"q\\\\/python"' in odd.data.decode()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path):
    service = service_file("linux", sys.executable, tmp_path)
    service.path.parent.mkdir(parents=True)
    service.path.write_bytes(service.data)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(service.path)], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, ""), "systemd reads it without a warning"
    bad = service.path.with_name("broken.service")
    bad.write_text(service.data.decode().replace("Restart=on-failure", "Restart=sometimes"))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(bad)], capture_output=True, text=True)
    assert "restart specifier" in done.stderr  # the check can fail


def test_task_scheduler_task_at_logon_without_a_console(tmp_path: Path):
    python = r"C:\Users\Ana Lu\AppData\Local\Programs\Python\Python312\python.exe"
    service = service_file("windows", python, tmp_path, user=r"PC\Ana Lu")
    assert service.data[:2] == b"\xff\xfe", "UTF-16 with its byte order mark, as schtasks /XML wants"
    root = ElementTree.fromstring(service.data.decode("utf-16").split("\n", 1)[1])
    ns = {"t": TASK_NS}
    assert root.find("t:Triggers/t:LogonTrigger/t:UserId", ns).text == r"PC\Ana Lu"
    exe = root.find("t:Actions/t:Exec", ns)
    assert exe.find("t:Command", ns).text == python.replace("python.exe", "pythonw.exe")
    assert exe.find("t:Arguments", ns).text == "-m companion.cli serve"
    assert root.find("t:Settings/t:ExecutionTimeLimit", ns).text == "PT0S"
    assert service.load[0] == ("schtasks", "/Create", "/TN", TASK, "/XML", str(service.path), "/F")


def test_unknown_platform_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="platform must be one of macos, linux, windows, got 'beos'"):
        service_file("beos", PYTHON, tmp_path)


def nudge(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "USERPROFILE": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "companion.cli", "service", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
def test_install_and_uninstall_write_and_remove_the_file(tmp_path: Path, platform: str):
    done = nudge(tmp_path, "install", "--platform", platform, "--no-start")
    assert done.returncode == 0, done.stderr
    path = service_file(platform, sys.executable, tmp_path).path
    assert f"wrote {path}" in done.stdout
    assert path.read_bytes()[:2] in (b"<?", b"[U", b"\xff\xfe")
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")], "written atomically"
    assert {
        "linux": "systemctl --user enable --now",
        "macos": "launchctl bootstrap gui/",
        "windows": "schtasks /Create",
    }[platform] in done.stdout
    done = nudge(tmp_path, "uninstall", "--platform", platform, "--no-start")
    assert done.returncode == 0 and not path.exists()
    assert "not installed" in nudge(tmp_path, "uninstall", "--platform", platform, "--no-start").stdout


def test_show_writes_nothing_and_another_platform_needs_no_start(tmp_path: Path):
    done = nudge(tmp_path, "show", "--platform", "macos")
    assert done.returncode == 0 and "<key>ProgramArguments</key>" in done.stdout
    assert not (tmp_path / "Library").exists()
    other = "macos" if sys.platform != "darwin" else "linux"
    done = nudge(tmp_path, "install", "--platform", other)
    assert done.returncode == 2 and "use --no-start or show" in done.stderr


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("systemctl") is None,
    reason="needs systemctl (Linux)",
)
def test_install_without_a_user_session_points_to_no_start(tmp_path: Path):
    """The real systemctl, pointed at a user bus that does not exist (as over ssh or in a container)."""
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "companion.cli", "service", "install", "--platform", "linux"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert "there is no systemd user session here" in done.stderr, done.stderr
    assert "Install with --no-start" in done.stderr and "systemctl --user enable --now" in done.stderr
