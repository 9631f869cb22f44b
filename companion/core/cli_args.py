"""argparse types with ranges, shared by ``nudge`` and ``nudge-train``: a bad value is refused while the
command line is parsed, and the error names the flag, the range and the unit, as argparse prints it::

    nudge generate: error: argument --seed: must be an int in 0..2147483647, got -5

Each ``*_in`` function returns a parser for ``type=``; the message never repeats the flag (argparse puts
``argument --flag:`` before it). ``ranged_help`` writes the range into an option's help the same way.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SEED = 2**31 - 1


def _range_text(low: float, high: float, unit: str) -> str:
    def text(x: float) -> str:
        return str(x) if isinstance(x, int) else f"{x:g}"

    return f"{text(low)}..{text(high)}" + (f" {unit}" if unit else "")


def int_in(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An int in ``low..high``; ``"4.0"`` is accepted as 4, ``"4.5"`` and ``"x"`` are refused."""

    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value.is_integer():
            raise argparse.ArgumentTypeError(
                f"must be an int in {_range_text(low, high, unit)}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an int in {_range_text(low, high, unit)}, got {text}")
        return int(value)

    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


def number_in(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """A finite number in ``low..high`` (NaN and inf are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number in {_range_text(low, high, unit)}, got {text!r}"
            ) from None
        if not low <= value <= high:  # also refuses NaN and inf
            raise argparse.ArgumentTypeError(
                f"must be a number in {_range_text(low, high, unit)}, got {text}"
            )
        return value

    parse.__name__ = "number"
    return parse


def seed() -> Callable[[str], int]:
    """A seed: an int in 0..2**31-1 (what numpy's generators and the OSC API take)."""
    return int_in(0, MAX_SEED)


def ranged_help(text: str, low: float, high: float, default: object = None, unit: str = "") -> str:
    """``text, LOW..HIGH [unit] (default X)``: the one way option help states a range and a default."""
    tail = f" (default {default})" if default is not None else ""
    return f"{text}, {_range_text(low, high, unit)}{tail}"
