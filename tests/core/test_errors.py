"""One error root (issue 24): every error Nudge raises for the user is a NudgeError of one domain."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from companion.core import errors
from companion.core.errors import NudgeError

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = {
    errors.UsageError: ValueError,
    errors.ModelError: ValueError,
    errors.MidiFileError: ValueError,
    errors.OscError: ValueError,
    errors.LiveMidiError: RuntimeError,
    errors.DataError: ValueError,
    errors.TrainingError: ValueError,
}
# exceptions that are not the user's business: control flow inside one module, or the file system's refusal
NOT_FOR_THE_USER = {
    "companion.core.regular_files.NotRegularFileError": "an OSError: callers report it as the OS's refusal",
    "companion.live.child._Terminated": "SIGTERM unwinding the live MIDI child",
    "companion.osc.search_pool.SearchFailed": "a bug or a dead search process: an internal error reply",
    "training.ingest.midi.SkipFile": "one file of a corpus left out, counted in the summary",
    "training.spotify.fetch.FetchStopped": "the fetch loop's stop signal, reported by its command",
}


def _modules() -> list[str]:
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for top in ("companion", "training")
        for p in (ROOT / top).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    )


def test_each_domain_is_a_nudge_error_and_the_builtin_it_replaces():
    for domain, builtin in DOMAINS.items():
        assert issubclass(domain, NudgeError) and issubclass(domain, builtin), domain
    listed = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)}
    assert listed == {NudgeError, *DOMAINS}
    for domain in DOMAINS:
        assert domain.__name__ in errors.__doc__, (
            f"{domain.__name__} is missing from the tree in the docstring"
        )


@pytest.mark.slow
def test_every_exception_class_of_nudge_is_under_one_domain():
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found[f"{name}.{cls.__name__}"] = cls
    outside = sorted(
        k for k, c in found.items() if not issubclass(c, NudgeError) and k not in NOT_FOR_THE_USER
    )
    assert outside == [], "raise a subclass of a companion.core.errors domain instead"
    for key, cls in found.items():
        if issubclass(cls, NudgeError) and cls is not NudgeError:
            assert any(issubclass(cls, d) for d in DOMAINS), f"{key} must sit under one domain, not the root"
    assert set(NOT_FOR_THE_USER) <= set(found), "a listed exception is gone: drop it from the list"
