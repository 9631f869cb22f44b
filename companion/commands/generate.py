"""``nudge generate``: write generated (or nudged) patterns to .mid files, no DAW needed."""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from companion.commands.serve import DEFAULT_MODEL_NAME, DEFAULT_MODELS_DIR
from companion.core.descriptors import DESCRIPTOR_NAMES, describe
from companion.core.errors import NudgeError, UsageError
from companion.core.midi_values import DEFAULT_BPM
from companion.core.model_meta import STYLE_ANY
from companion.core.pattern import MAX_BARS


def add_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] = ()) -> None:
    """The options; the slider options are those of the model that ``argv``'s ``--model`` (or the
    default model) has, described by its metadata."""
    parser.add_argument("--model", type=Path, help=f"model file (default: {DEFAULT_MODELS_DIR}/default.onnx)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .mid file to write")
    parser.add_argument(
        "--bars", type=int, help="length in bars, 1..8 (default: the model's; --from: the file's)"
    )
    parser.add_argument(
        "--style", default=STYLE_ANY, help=f"a style of the model (see nudge info), or '{STYLE_ANY}'"
    )
    parser.add_argument("--seed", type=int, help="same seed + same options = same file (default: random)")
    parser.add_argument(
        "--tempo", type=float, help=f"bpm written to the file (default {DEFAULT_BPM:g}; --from: the file's)"
    )
    parser.add_argument("--count", type=int, default=1, help="write N variations: NAME_1.mid .. NAME_N.mid")
    parser.add_argument("--candidates", type=int, default=64, help="search width (default 64)")
    parser.add_argument("--from", dest="source", type=Path, help="nudge this .mid file instead of generating")
    parser.add_argument(
        "--amount", type=float, help="with --from: 0 unchanged .. 1 fresh (default 0.2; with --keep: 1)"
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
    return known.model or DEFAULT_MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx"


def _add_condition_arguments(parser: argparse.ArgumentParser, path: Path) -> None:
    """One ``--NAME 0..1`` option per condition of the model at ``path``, with what its two ends mean.

    Only those are offered. The other descriptors' options are still understood, unlisted, so that
    ``--swing`` for a model without swing (or with a model that cannot be read) gets the clear error of
    ``run`` naming the model's conditions (or why the model cannot be used) rather than argparse's."""
    from companion.runtime.model import ModelError, load_model

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
            group.add_argument(flag, dest=f"cond_{name}", type=float, metavar="0..1", help=help_text)
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


def _outputs(args: argparse.Namespace) -> list[Path]:
    """The file(s) to write: ``-o`` itself, or NAME_1.mid .. NAME_N.mid for ``--count N``."""
    if args.count == 1:
        return [args.output]
    suffix = args.output.suffix or ".mid"
    return [args.output.with_name(f"{args.output.stem}_{i + 1}{suffix}") for i in range(args.count)]


def run(args: argparse.Namespace) -> int:
    from companion.core.drum_map import PitchMapper, merged_pitch_table, voices_from_names
    from companion.core.midi_file import midi_file_to_pattern, write_pattern_midi
    from companion.core.regular_files import check_replaceable
    from companion.runtime.model import load_model
    from companion.runtime.search import SearchRequest, search

    try:
        model = load_model(args.model or DEFAULT_MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx")
        sliders = _sliders(args)
        style = None if args.style == STYLE_ANY else args.style
        options = {"sliders": sliders, "style": style, "candidates": args.candidates}
        SearchRequest.of(model.meta, seed=0, **options)  # conditions, style, candidates: before any work
        if not 1 <= args.count <= 1000:
            raise UsageError(f"--count must be in 1..1000, got {args.count}")
        if args.amount is not None and not 0.0 <= args.amount <= 1.0:  # (also NaN; with or without --from)
            raise UsageError(f"--amount must be a number in 0..1, got {args.amount}")
        if args.bars is not None and not 1 <= args.bars <= MAX_BARS:  # (0 is no default either)
            raise UsageError(f"--bars must be an int in 1..{MAX_BARS}, got {args.bars}")
        for path in _outputs(args):  # before any work: only regular files are replaced
            check_replaceable(path)
        keep = voices_from_names(args.keep, "--keep")
        if keep and args.source is None:
            raise UsageError("--keep needs --from FILE.mid: the notes of the kept voices come from it")
        amount = args.amount if args.amount is not None else (1.0 if keep else 0.2)
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
        clip, bpm = None, DEFAULT_BPM
        if args.source is not None:
            mapper = PitchMapper(merged_pitch_table(model.meta.output_pitches))
            # bars: the file's, a last bar counting when half played (a note-off past the loop end is not)
            clip, bpm = midi_file_to_pattern(args.source, args.bars, model.meta.steps_per_beat, mapper)
        bpm = args.tempo if args.tempo is not None else bpm
        if clip is not None:
            options.update(amount=amount, keep=keep, clip=clip)
        for i, path in enumerate(_outputs(args)):
            pattern = search(model, SearchRequest.of(model.meta, seed=seed + i, bars=args.bars, **options))
            write_pattern_midi(path, pattern, bpm=bpm, output_pitches=model.meta.output_pitches)
            measured = describe(pattern)
            print(
                f"{path}: {pattern.grid.bars} bars, {pattern.n_hits} hits, seed {seed + i}, "
                f"density {measured['density']:.1f}/bar, syncopation {measured['syncopation']:.2f}"
            )
    except (NudgeError, OSError) as error:
        print(f"nudge generate: {error}", file=sys.stderr)
        return 2
    return 0
