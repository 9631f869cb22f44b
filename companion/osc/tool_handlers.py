"""The daemon's tool handlers (``/nudge/groove``, ``drumify``, ``continue``, ``interpolate``, ``fill``): a
mixin of ``companion.osc.dispatch.Daemon``, which owns ``prepare`` and ``finish`` (a search's replies) and
``_fresh_seeds``. The tools run where the searches run (``companion.osc.tool_searches``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from companion.osc import searches, tool_searches
from companion.osc.api import MAX_ID
from companion.osc.request import Request
from companion.runtime.model import Model


class ToolHandlers:
    """A tool is priced and seeded on arrival, then run as a search is (in a search process when any)."""

    _fresh_seeds: np.random.Generator
    prepare: Callable[[Request], None]  # the Daemon's
    finish: Callable[[searches.SearchResult], list[bytes]]

    def _tool_arrival(self, request: Request, model: Model) -> float:
        """A tool on arrival: a fresh seed when it brings none (as generate and vary); its price."""
        if "seed" not in request.options:
            request.options["seed"] = int(self._fresh_seeds.integers(0, MAX_ID))
        return tool_searches.price(request, model.meta, model.tools is not None)

    def _tool(self, request: Request, model: Model) -> list[bytes]:
        self.prepare(request)
        return self.finish(searches.run_search(request, model))

    _groove = _drumify = _continue = _interpolate = _fill = _tool
