"""``nudge generate``: write generated (or nudged) patterns to .mid files, no DAW needed.

Follows the conventions of every command that writes files (``companion.core.outputs``): ``-o`` replaces
only a Standard MIDI File (or nothing) unless ``--force``; ``--count`` says when numbered files of an
earlier run stay behind. ``--from`` is read by ``companion.commands.source_clip`` (the file named in every
error; which bars were used; a warning when it is no drum part). An option that would do nothing
(``--amount`` without ``--from``) is an error, as is any value outside its range (the flag named).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from companion.core.cli_args import int_in, number_in, seed
from companion.core.descriptors import DESCRIPTOR_NAMES, describe
from companion.core.errors import NudgeError, UsageError
from companion.core.midi_values import DEFAULT_BPM, MAX_BPM, MIN_BPM
from companion.core.model_meta import STYLE_ANY, ConditionMeta
from companion.core.outputs import MIDI, PNG, add_output_arguments
from companion.core.pattern import DEFAULT_CANDIDATES, MAX_BARS, MAX_CANDIDATES, MIN_CANDIDATES, Pattern
from companion.runtime.models_dir import default_model_path

if TYPE_CHECKING:
    from companion.runtime.model import Model

DEFAULT_AMOUNT, DEFAULT_AMOUNT_KEEP = 0.2, 1.0


def add_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] = ()) -> None:
    """The options; the slider options are those of the model that ``argv``'s ``--model`` (or the
    default model) has, described by its metadata."""
    parser.add_argument("--model", type=Path, help=f"model file (default: {default_model_path()})")
    add_output_arguments(
        parser, "the .mid file to write (with --count: NAME_1.mid .. NAME_N.mid)", count=True
    )
    parser.add_argument(
        "--png",
        action="store_true",
        help="also draw each pattern as a piano roll, NAME.png beside NAME.mid (needs matplotlib)",
    )
    parser.add_argument(
        "--bars",
        type=int_in(1, MAX_BARS),
        help=f"length in bars, 1..{MAX_BARS} (default: the model's; --from: the file's)",
    )
    parser.add_argument(
        "--style", default=STYLE_ANY, help=f"a style of the model (see nudge info), or '{STYLE_ANY}'"
    )
    parser.add_argument(
        "--seed", type=seed(), help="same seed + same options = same file, 0..2147483647 (default: random)"
    )
    parser.add_argument(
        "--tempo",
        type=number_in(MIN_BPM, MAX_BPM, "bpm"),
        help=f"tempo written to the file, {MIN_BPM:g}..{MAX_BPM:g} bpm (default {DEFAULT_BPM:g}; --from: "
        "the file's)",
    )
    parser.add_argument(
        "--candidates",
        type=int_in(MIN_CANDIDATES, MAX_CANDIDATES),
        default=DEFAULT_CANDIDATES,
        help=f"search width: generator samples per pattern, {MIN_CANDIDATES}..{MAX_CANDIDATES} "
        f"(default {DEFAULT_CANDIDATES}; the OSC option `candidates` takes the same)",
    )
    parser.add_argument("--from", dest="source", type=Path, help="nudge this .mid file instead of generating")
    parser.add_argument(
        "--amount",
        type=number_in(0.0, 1.0),
        help=f"with --from: 0 unchanged .. 1 fresh (default {DEFAULT_AMOUNT:g}; with --keep: "
        f"{DEFAULT_AMOUNT_KEEP:g})",
    )
    parser.add_argument(
        "--keep",
        default="",
        metavar="VOICES",
        help="with --from: voices kept exactly, e.g. kick,snare (also hats, toms, cymbals); the others are "
        "generated to fit them (or nudged by --amount)",
    )
    _add_condition_arguments(parser, _model_path(argv))


def _model_path(argv: Sequence[str]) -> Path:
    """The model ``nudge generate`` will load: ``--model`` in ``argv``, else the default."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--model", type=Path)
    known, _ = peek.parse_known_args(list(argv))
    return known.model or default_model_path()


def _add_condition_arguments(parser: argparse.ArgumentParser, path: Path) -> None:
    """One ``--NAME 0..1`` option per condition of the model at ``path``, with what its two ends mean.

    Only those are offered. The other descriptors' options are still understood, unlisted, so that
    ``--swing`` for a model without swing (or with a model that cannot be read) gets the clear error of
    ``run`` naming the model's conditions (or why the model cannot be used) rather than argparse's."""
    from companion.runtime.model import ModelError, load_model

    conditions: tuple[ConditionMeta, ...]
    try:
        meta = load_model(path).meta
    except ModelError as error:
        conditions, title = (), f"conditions: none offered ({error})"
    else:
        conditions = meta.conditions
        title = (
            f"conditions of the model {path.name} (sliders 0..1; missing ones take the model's defaults, "
            "the training data's median)"
        )
    group = parser.add_argument_group(title)
    taken = {option for action in parser._actions for option in action.option_strings}
    offered: list[str] = []

    def add(name: str, help_text: str) -> None:
        flag = f"--{name.replace('_', '-')}"
        if flag not in taken:  # a condition named like another option is reachable through --cond
            group.add_argument(
                flag, dest=f"cond_{name}", type=number_in(0.0, 1.0), metavar="0..1", help=help_text
            )
            taken.add(flag)
            offered.append(name)

    for condition in conditions:
        add(condition.name, f"{condition.description} (default {condition.default:.2f})")
    for name in DESCRIPTOR_NAMES:
        add(name, argparse.SUPPRESS)
    group.add_argument(
        "--cond",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a condition of the model by name (any of them, e.g. --cond danceability=0.8)",
    )
    parser.set_defaults(_conditions=tuple(offered))


def _sliders(args: argparse.Namespace) -> dict[str, float]:
    sliders = {name: getattr(args, f"cond_{name}") for name in getattr(args, "_conditions", ())}
    sliders = {k: v for k, v in sliders.items() if v is not None}
    for item in args.cond:
        name, sep, value = item.partition("=")
        try:
            sliders[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UsageError(f"--cond must look like NAME=VALUE with a number, got {item!r}")
    return sliders


def _check_combinations(args: argparse.Namespace) -> None:
    """Options that would do nothing are errors (as git refuses an option its command ignores)."""
    if args.source is None:
        for flag, value in (("--amount", args.amount), ("--keep", args.keep)):
            if value not in (None, ""):
                raise UsageError(
                    f"{flag} needs --from FILE.mid: it says how the notes of that file are used "
                    "(without --from a fresh pattern is generated)"
                )


def run(args: argparse.Namespace) -> int:
    from companion.commands.source_clip import read_source_clip
    from companion.core.drum_map import PitchMapper, merged_pitch_table, voices_from_names
    from companion.core.midi_file import write_pattern_midi
    from companion.core.outputs import plan_outputs
    from companion.core.piano_roll import require_matplotlib
    from companion.runtime.model import load_model
    from companion.runtime.search import SearchRequest, search

    def note(text: str) -> None:
        print(f"nudge generate: note: {text}", file=sys.stderr)

    try:
        _check_combinations(args)
        if args.png:
            require_matplotlib()
        model = load_model(args.model or default_model_path())
        sliders = _sliders(args)
        style = None if args.style == STYLE_ANY else args.style
        options = {"sliders": sliders, "style": style, "candidates": args.candidates}
        SearchRequest.of(model.meta, seed=0, **options)  # conditions, style, candidates: before any work
        plan = plan_outputs(args.output, MIDI, args.count, args.force, beside=(PNG,) if args.png else ())
        keep = voices_from_names(args.keep, "--keep")
        amount = args.amount if args.amount is not None else (DEFAULT_AMOUNT_KEEP if keep else DEFAULT_AMOUNT)
        seed_ = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
        clip, bpm = None, DEFAULT_BPM
        if args.source is not None:
            mapper = PitchMapper(merged_pitch_table(model.meta.output_pitches))
            # bars: the file's, a last bar counting when half played (a note-off past the loop end is not)
            source = read_source_clip(
                args.source,
                model.meta.steps_per_beat,
                mapper,
                bars=args.bars,
                tempo_given=args.tempo is not None,
            )
            clip, bpm = source.pattern, source.bpm
            for line in source.notes:
                note(line)
        for line in plan.notes:
            note(line)
        bpm = args.tempo if args.tempo is not None else bpm
        if clip is not None:
            options.update(amount=amount, keep=keep, clip=clip)
        for i, path in enumerate(plan.paths):
            pattern = search(model, SearchRequest.of(model.meta, seed=seed_ + i, bars=args.bars, **options))
            write_pattern_midi(path, pattern, bpm=bpm, output_pitches=model.meta.output_pitches)
            measured = describe(pattern)
            extra = ""
            if args.png:
                extra = f" (+ {_write_png(path, pattern, seed_ + i, bpm, model).name})"
            print(
                f"{path}: {pattern.grid.bars} bars, {pattern.n_hits} hits, seed {seed_ + i}, "
                f"density {measured['density']:.1f}/bar, syncopation {measured['syncopation']:.2f}{extra}"
            )
    except (NudgeError, OSError) as error:
        print(f"nudge generate: {error}", file=sys.stderr)
        return 2
    return 0


def _write_png(path: Path, pattern: Pattern, seed_: int, bpm: float, model: Model) -> Path:
    from companion.core.atomic import atomic_write_bytes
    from companion.core.piano_roll import piano_roll_png

    title = f"{path.name}: {pattern.grid.bars} bars at {bpm:g} bpm, {pattern.n_hits} hits, seed {seed_}"
    data = piano_roll_png(pattern.to_array(), pattern.grid, title, model.meta.output_pitches)
    return atomic_write_bytes(path.with_suffix(PNG.suffix), data)
