"""Test modules that need the ``[train]`` extra (torch) skip with that reason where it is not installed,
instead of failing at collection. CI installs the extra (scripts/test.sh), so there they all run."""

from __future__ import annotations

import pytest

OPTIONAL = {"torch": "needs torch: the [train] extra (pip install -e '.[train]')"}


class _OptionalDepsModule(pytest.Module):
    def collect(self):
        try:
            return super().collect()
        except self.CollectError as error:
            for package, reason in OPTIONAL.items():
                if f"No module named '{package}'" in str(error):
                    pytest.skip(reason, allow_module_level=True)
            raise


def pytest_pycollect_makemodule(module_path, parent):
    return _OptionalDepsModule.from_parent(parent, path=module_path)
