"""The one entry of the search: ``search(model, request)`` serves a ``SearchRequest`` by the path it asks for.

| request                         | path                                                               |
|---------------------------------|--------------------------------------------------------------------|
| no clip                         | ``engine.generate``: the best of the candidates under the sliders   |
| a clip, ``amount`` None (keep)  | ``lock.generate_locked``: the kept voices, the others generated     |
| a clip, ``amount`` 1 with keep  | ``lock.generate_locked`` under the clip's own measured conditions   |
| a clip, ``amount`` 0..1         | ``engine.vary``: the clip nudged (kept voices never change)         |

``engine`` and ``lock`` never import each other; what they share is ``companion.runtime.candidates``.
"""

from __future__ import annotations

from companion.core.pattern import Pattern
from companion.runtime import engine, lock
from companion.runtime.candidates import condition_vector, vary_conditions
from companion.runtime.model import Model
from companion.runtime.search_request import DEFAULT_CANDIDATES, SearchRequest

__all__ = ["DEFAULT_CANDIDATES", "SearchRequest", "search"]


def search(model: Model, request: SearchRequest) -> Pattern:
    """The pattern ``request`` asks for (the table in the module docstring says which path serves it)."""
    clip = request.clip
    if clip is None:
        return engine.generate(model, request)
    if request.amount is None:
        return lock.generate_locked(model, request, condition_vector(model, request.sliders))
    if request.keep and request.amount == 1:
        fitted = engine.fitted_clip(model, request)
        cond = vary_conditions(model, fitted, request.sliders)
        return lock.generate_locked(model, request, cond)
    return engine.vary(model, request)
