"""``nudge-train fit-tools --base RUN/best.pt --data D.npz --fills F.npz --out runs/tools``: teach a trained
generator Groove, Drumify, Continue and Fill (``training/tools``)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from companion.core.errors import UsageError
from training.tools.config import ToolsConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for f in fields(ToolsConfig):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=f"(default {f.default})"
            )
        elif isinstance(f.default, tuple):
            parser.add_argument(
                flag, default=None, metavar="A,B,...", help=f"comma-separated (default {f.default})"
            )
        else:
            parser.add_argument(flag, type=type(f.default), default=None, help=f"(default {f.default!r})")


def run(args: argparse.Namespace) -> int:
    import logging

    from training.dataset import DatasetError
    from training.tools.train import fit_tools

    try:
        data = {}
        for f in fields(ToolsConfig):
            value = getattr(args, f.name)
            if value is None:
                continue
            if isinstance(f.default, tuple):
                try:
                    value = tuple(float(x) for x in value.split(","))
                except ValueError:
                    flag = "--" + f.name.replace("_", "-")
                    raise ValueError(f"{flag} takes comma-separated numbers, got {value!r}") from None
            data[f.name] = value
        config = ToolsConfig.from_dict(data)
        for name in ("base", "data", "fills"):
            if not getattr(config, name):
                raise ValueError(f"--{name} is required")
        logging.getLogger("training").setLevel(logging.INFO)
        best = fit_tools(config)
    except (ValueError, DatasetError, FileNotFoundError) as error:  # one line, exit 2 (run_cli)
        raise UsageError(str(error)) from None
    print(f"best tools checkpoint: {best}")
    return 0
