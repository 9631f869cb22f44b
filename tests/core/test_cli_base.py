"""The lazy sub-command CLI shared by `nudge` and `nudge-train`."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from companion.core.cli_base import build_parser, run_cli

MODULE = """
import numpy as np
from companion.core.errors import MidiFileError, UsageError

def add_arguments(parser):
    parser.add_argument("--value", type=int, default=1)

def run(args):
    if args.value == 99:
        raise KeyboardInterrupt
    if args.value == 98:
        raise UsageError("--value must be in 1..97, got 98")
    if args.value == 97:
        raise MidiFileError("in.mid: not a readable MIDI file")
    if args.value == 96:
        np.zeros(3) + np.zeros(5)  # a bug: numpy's own ValueError
    return args.value
"""


@pytest.fixture
def table(tmp_path, monkeypatch):
    """Three real command modules on sys.path: one plain command and a two-word group."""
    for name in ("clitest_alpha", "clitest_group_one", "clitest_group_two"):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    return {
        "alpha": ("clitest_alpha", "the alpha command"),
        "group one": ("clitest_group_one", "first of the group"),
        "group two": ("clitest_group_two", "second of the group"),
    }


def test_only_the_chosen_module_is_imported(table):
    assert run_cli("prog", "desc", table, ["group", "two", "--value", "7"]) == 7
    assert "clitest_group_two" in sys.modules
    assert "clitest_group_one" not in sys.modules and "clitest_alpha" not in sys.modules


def test_single_word_command_and_defaults(table):
    assert run_cli("prog", "desc", table, ["alpha"]) == 1


def test_keyboard_interrupt_returns_130(table):
    assert run_cli("prog", "desc", table, ["alpha", "--value", "99"]) == 130


def test_help_lists_commands_and_groups(table, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("prog", "desc", table, ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "group" in out and "the alpha command" in out
    with pytest.raises(SystemExit):
        run_cli("prog", "desc", table, ["group", "--help"])
    out = capsys.readouterr().out
    assert "first of the group" in out and "second of the group" in out


def test_unknown_and_missing_commands_exit_2(table, capsys):
    for argv in (["nope"], [], ["group"], ["alpha", "--value", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            run_cli("prog", "desc", table, argv)
        assert exit_info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_verbose_sets_logging_level(table, monkeypatch):
    seen = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: seen.update(kwargs))
    run_cli("prog", "desc", table, ["-vv", "alpha"])
    assert seen["level"] == logging.DEBUG
    run_cli("prog", "desc", table, ["alpha"])
    assert seen["level"] == logging.WARNING


def test_parser_adds_arguments_of_the_chosen_command_only(table):
    parser = build_parser("prog", "desc", table, ["alpha", "--value", "3"])
    assert parser.parse_args(["alpha", "--value", "3"]).value == 3
    assert "clitest_group_one" not in sys.modules


def test_verbose_after_the_command_counts_too(table, monkeypatch):
    seen = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: seen.update(kwargs))
    assert run_cli("prog", "desc", table, ["alpha", "-v"]) == 1
    assert seen["level"] == logging.INFO
    run_cli("prog", "desc", table, ["-v", "group", "one", "-v", "--value", "2"])
    assert seen["level"] == logging.DEBUG


def test_a_bad_option_prints_one_usage_line_and_the_error(table, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("prog", "desc", table, ["alpha", "--value", "x"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "usage: prog alpha [options]  (prog alpha --help for all)",
        "prog alpha: error: argument --value: invalid int value: 'x'",
    ]


def test_a_nudge_error_is_one_line_and_exit_2(table, capsys):
    assert run_cli("prog", "desc", table, ["alpha", "--value", "98"]) == 2
    assert capsys.readouterr().err == "prog alpha: --value must be in 1..97, got 98\n"
    assert run_cli("prog", "desc", table, ["group", "one", "--value", "97"]) == 2
    assert capsys.readouterr().err == "prog group one: in.mid: not a readable MIDI file\n"


def test_any_other_exception_is_a_bug_traceback_and_invitation_exit_1(table, capsys):
    assert run_cli("prog", "desc", table, ["alpha", "--value", "96"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "ValueError: operands could not be broadcast together" in err
    last = err.strip().splitlines()[-1]
    assert (
        last.startswith("prog alpha: internal error: this is a bug in Nudge") and "Please report it" in last
    )


def test_from_args_fills_a_config_from_the_options_of_its_field_names():
    import argparse
    from dataclasses import dataclass

    from companion.core.cli_base import from_args

    @dataclass(frozen=True)
    class Config:
        bars: int = 4
        seed: int = 0
        mark: bool = True

        def __post_init__(self) -> None:
            if not 1 <= self.bars <= 8:
                raise ValueError(f"bars must be in 1..8, got {self.bars}")

    args = argparse.Namespace(bars=2, seed=None, no_mark=True, other="x")
    assert from_args(Config, args, mark=not args.no_mark) == Config(bars=2, seed=0, mark=False)
    assert from_args(Config, argparse.Namespace(seed=5), Config(bars=3)) == Config(bars=3, seed=5)  # a base
    with pytest.raises(ValueError, match=r"bars must be in 1\.\.8, got 9"):
        from_args(Config, argparse.Namespace(bars=9))
