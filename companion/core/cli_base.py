"""A lazy sub-command CLI: a table of ``name -> (module, help)``; only the chosen module is imported.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``. Two-word names
("ingest midi") become nested sub-commands. Shared by ``nudge`` and ``nudge-train``.

Exit codes: what ``run`` returns; 2 for a ``NudgeError`` (the user's mistake: one line, ``prog command:
reason``) as for argparse's own refusals; 1 for anything else, a bug: the traceback and an invitation to
report it; 130 for Ctrl-C.

Command-line conventions (as git and pip keep them): ``-v`` works before or after the command; a bad
option prints one usage line and the error, not the whole synopsis (``--help`` has that); option types
with ranges are in ``companion.core.cli_args``, the ``-o`` rules in ``companion.core.outputs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import inspect
import logging
import platform
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from companion.core.errors import NudgeError
from companion.core.provenance import command_text

USAGE_EXIT, INTERNAL_EXIT, INTERRUPTED_EXIT = 2, 1, 130
Config = TypeVar("Config")

VERBOSE_HELP = "more logging (-v info, -vv debug); before or after the command"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors show one usage line (``--help`` shows the rest)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{short_usage(self)}\n{self.prog}: error: {message}\n")


def short_usage(parser: argparse.ArgumentParser) -> str:
    """``usage: PROG [options] REQUIRED...  (PROG --help for all)`` on one line."""
    words = []
    for action in parser._actions:
        if action.option_strings and action.required:
            words.append(f"{action.option_strings[0]} {action.metavar or action.dest.upper()}")
        elif not action.option_strings and action.help is not argparse.SUPPRESS:
            words.append(str(action.metavar or action.dest))
    return f"usage: {parser.prog} [options] {' '.join(words)}".rstrip() + f"  ({parser.prog} --help for all)"


def _add_verbose(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument("-v", "--verbose", dest=dest, action="count", default=0, help=VERBOSE_HELP)


def build_parser(
    prog: str, description: str, table: Mapping[str, tuple[str, str]], argv: Sequence[str]
) -> argparse.ArgumentParser:
    parser = Parser(prog=prog, description=description)
    _add_verbose(parser, "verbose")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    words = [a for a in argv if not a.startswith("-")][:2]
    for name, (module, help_text) in table.items():
        head, _, tail = name.partition(" ")
        if tail:
            if head not in groups:
                group_parser = top.add_parser(head, help=f"{head} ... (see {prog} {head} --help)")
                groups[head] = group_parser.add_subparsers(dest="subcommand", metavar="SOURCE", required=True)
            sub = groups[head].add_parser(tail, help=help_text, description=help_text)
            chosen = words == [head, tail]
        else:
            sub = top.add_parser(name, help=help_text, description=help_text)
            chosen = words[:1] == [name]
        sub.set_defaults(_module=module)
        if chosen:
            _add_verbose(sub, "verbose_after")  # `nudge serve -v` as `nudge -v serve` (they add up)
            # a command whose options depend on the command line (a model's sliders) gets it too
            add = importlib.import_module(module).add_arguments
            if "argv" in inspect.signature(add).parameters:
                add(sub, argv=argv)
            else:
                add(sub)
    return parser


def run_cli(
    prog: str, description: str, table: Mapping[str, tuple[str, str]], argv: Sequence[str] | None
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog, description, table, argv).parse_args(argv)
    args.verbose += getattr(args, "verbose_after", 0)
    args.command_line = command_text(prog, argv)  # for the records a command writes (model cards, runs)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = " ".join([prog, *(w for w in (args.command, getattr(args, "subcommand", None)) if w)])
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT
    except NudgeError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return USAGE_EXIT
    except Exception:
        traceback.print_exc()
        print(internal_error_text(command), file=sys.stderr)
        return INTERNAL_EXIT


def internal_error_text(command: str) -> str:
    """What follows the traceback of a bug: that it is one, and what a useful report holds."""
    try:
        version = importlib.metadata.version("nudge")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        version = "from source"
    return (
        f"{command}: internal error: this is a bug in Nudge, not a mistake of yours. Please report it with "
        f"the command line and the traceback above (nudge {version}, Python {platform.python_version()}, "
        f"{platform.system()})."
    )


def from_args(
    cls: type[Config], args: argparse.Namespace, base: Config | None = None, **values: Any
) -> Config:
    """A config dataclass from the command line: ``base`` (default: the defaults), then each field from the
    option of the same name when it was given (not None), then ``values`` (options named otherwise). The
    config's own checks run (``__post_init__``), naming the field at fault."""
    names = {item.name for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {name: value for name, value in vars(args).items() if name in names and value is not None}
    start = cls() if base is None else base
    return dataclasses.replace(start, **{**given, **values})  # type: ignore[type-var]
