"""The one build step setuptools' configuration cannot state: the shipped model goes into the wheel.

The model lives once in git, in the top-level ``models/`` folder (``nudge-train export`` writes there, the
model card and the evaluation report sit beside it). Building copies ``SHIPPED`` into the package as
``companion/models/``, where ``companion.runtime.models_dir`` finds it through ``importlib.resources``; an
editable install and a source checkout read ``models/`` in place. ``MANIFEST.in`` puts the same files in
the sdist, from which ``python -m build`` builds the wheel. Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# the files of models/ that ship: the default model and its card (the Groove MIDI Dataset's credit)
SHIPPED = ("default.onnx", "default.tools.onnx", "MODEL_CARD.md")  # + the tools graph (issue 22)
SOURCE, TARGET = Path("models"), Path("companion") / "models"


class BuildPyWithModels(build_py):
    """``build_py``, then ``models/SHIPPED`` -> ``<build>/companion/models/`` (not for editable installs)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        self.mkpath(str(Path(self.build_lib) / TARGET))
        for name in SHIPPED:
            self.copy_file(str(SOURCE / name), str(Path(self.build_lib) / TARGET / name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        shipped = [] if getattr(self, "editable_mode", False) else SHIPPED
        return [
            *super().get_outputs(include_bytecode),
            *(str(Path(self.build_lib) / TARGET / n) for n in shipped),
        ]


setup(cmdclass={"build_py": BuildPyWithModels})
