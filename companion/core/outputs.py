"""What a command may write over: the ``-o`` rules every ``nudge`` and ``nudge-train`` command follows.

1. Only a regular file, or nothing, is replaced (``regular_files.check_replaceable``): never a symbolic
   link, a FIFO, a device or a folder.
2. An existing file is replaced only when it is of the kind the command writes (a Standard MIDI File for
   a ``.mid``, a PNG for a ``.png``, ONNX for a model): ``-o notes.txt`` does not turn someone's notes into
   MIDI unless ``--force`` says so (as ``cp -i`` asks and ffmpeg refuses without ``-y``).
3. ``--count N`` writes ``NAME_1 .. NAME_N``. Numbered files past N that an earlier, longer ``--count``
   left are named in a note (never removed: they may be the takes the user wants).

A command adds its options with ``add_output_arguments`` and checks everything before any work with
``plan_outputs`` (which raises ``OutputError`` naming the file and what it holds); the files are then
written atomically (``companion.core.atomic``). A new command that writes files uses these two, so every
command answers ``-o`` the same way.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from companion.core.errors import UsageError
from companion.core.regular_files import check_replaceable

MAX_COUNT = 1000


class OutputError(UsageError):
    """An output path the command must not write; the message names it and says what to do."""


@dataclass(frozen=True)
class FileKind:
    """A kind of file a command writes, known by the bytes it starts with."""

    words: str  # "a Standard MIDI File"
    suffix: str  # ".mid"
    magic: tuple[bytes, ...]  # any of these starts a file of this kind

    def holds(self, path: Path) -> bool:
        """Whether the regular file at ``path`` starts like a file of this kind."""
        longest = max(len(m) for m in self.magic)
        try:
            with open(path, "rb") as handle:
                head = handle.read(longest)
        except OSError:
            return False
        return any(head.startswith(m) for m in self.magic)


MIDI = FileKind("a Standard MIDI File", ".mid", (b"MThd",))
PNG = FileKind("a PNG image", ".png", (b"\x89PNG\r\n\x1a\n",))
ONNX = FileKind("an ONNX model", ".onnx", (b"\x08",))  # a ModelProto starts with its ir_version field
MARKDOWN = FileKind("a Markdown file", ".md", (b"#", b"<!--"))


@dataclass
class OutputPlan:
    """The files to write, and notes for the user (printed before the work starts)."""

    paths: list[Path]
    notes: list[str] = field(default_factory=list)


def add_output_arguments(
    parser: argparse.ArgumentParser, what: str, count: bool = False, required: bool = True
) -> None:
    """``-o/--output PATH`` (``what`` is its help), ``--force``, and with ``count`` ``--count N``."""
    parser.add_argument("-o", "--output", type=Path, required=required, metavar="PATH", help=what)
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing file even when it is not of the kind written here (never a link, FIFO, "
        "device or folder)",
    )
    if count:
        from companion.core.cli_args import int_in

        parser.add_argument(
            "--count",
            type=int_in(1, MAX_COUNT),
            default=1,
            metavar="N",
            help=f"write N variations: NAME_1 .. NAME_N, 1..{MAX_COUNT} (default 1)",
        )


def numbered_paths(output: Path, count: int) -> list[Path]:
    """``output`` itself for one file, else ``NAME_1.EXT .. NAME_N.EXT`` beside it."""
    if count == 1:
        return [output]
    return [_numbered(output, i) for i in range(1, count + 1)]


def leftover_paths(output: Path, count: int) -> list[Path]:
    """Numbered files past ``count`` that an earlier run left (``NAME_k`` for k = count+1, ... while they
    exist; from ``NAME_1`` when one file is written now)."""
    found: list[Path] = []
    i = count + 1 if count > 1 else 1
    while os.path.lexists(_numbered(output, i)) and len(found) < 100_000:
        found.append(_numbered(output, i))
        i += 1
    return found


def check_output(path: Path, kind: FileKind, force: bool = False) -> None:
    """``OutputError`` unless ``path`` holds nothing or a regular file of ``kind`` (any with ``force``)."""
    try:
        check_replaceable(path)
    except OSError as error:
        raise OutputError(str(error)) from None
    if force or not os.path.lexists(path) or kind.holds(path):
        return
    raise OutputError(
        f"{path}: exists and is not {kind.words}; not replaced (choose another name, or add --force to "
        "replace it)"
    )


def plan_outputs(
    output: Path,
    kind: FileKind,
    count: int = 1,
    force: bool = False,
    beside: tuple[FileKind, ...] = (),
) -> OutputPlan:
    """Check every file a command will write (``beside``: a file of that kind next to each, e.g. a
    ``.png`` for each ``.mid``); ``OutputError`` for the first that must not be written."""
    if not 1 <= count <= MAX_COUNT:
        raise OutputError(f"--count must be in 1..{MAX_COUNT}, got {count}")
    paths = numbered_paths(Path(output), count)
    for path in paths:
        check_output(path, kind, force)
        for other in beside:
            check_output(path.with_suffix(other.suffix), other, force)
    plan = OutputPlan(paths)
    left = leftover_paths(Path(output), count)
    if left:
        names = left[0].name if len(left) == 1 else f"{left[0].name} .. {left[-1].name}"
        verb = "is" if len(left) == 1 else "are"
        where = "" if str(left[0].parent) == "." else f" in {left[0].parent}"
        plan.notes.append(
            f"{names}{where} {verb} from an earlier run and stay as they are (this run writes {_span(paths)})"
        )
    return plan


def _span(paths: list[Path]) -> str:
    return paths[0].name if len(paths) == 1 else f"{paths[0].name} .. {paths[-1].name}"


def _numbered(output: Path, i: int) -> Path:
    suffix = output.suffix or MIDI.suffix
    return output.with_name(f"{output.stem}_{i}{suffix}")
