"""Atomic writes: all or nothing, no temp files left, usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from companion.core.atomic import atomic_open, atomic_write_bytes, atomic_write_text


def test_write_and_replace(tmp_path):
    target = tmp_path / "sub" / "model.onnx"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two" and os.listdir(target.parent) == ["model.onnx"]
    atomic_write_text(tmp_path / "t.json", "é")
    assert (tmp_path / "t.json").read_text(encoding="utf-8") == "é"


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "groove.mid"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"half written")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["groove.mid"]


def test_readers_never_see_partial_content(tmp_path):
    target = tmp_path / "data.npz"
    target.write_bytes(b"complete old")
    with atomic_open(target) as handle:
        handle.write(b"new")
        assert target.read_bytes() == b"complete old"  # still the old file while writing
    assert target.read_bytes() == b"new"


def test_permissions_follow_umask_or_the_replaced_file(tmp_path):
    fresh = atomic_write_bytes(tmp_path / "fresh.bin", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"x")
    kept.chmod(0o640)
    atomic_write_bytes(kept, b"y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_mode_checked():
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"), atomic_open("/tmp/never", "a"):
        pass
