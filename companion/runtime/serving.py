"""The model the daemon serves, hot-swappable: ``/nudge/model/load`` (on the server's loader thread) and
the models folder's poller (a changed file reloads) may swap it at any time; a request keeps the model it
started with. A model that cannot be loaded or served (``model_info.check_fits``) never replaces the
current one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from companion.core.errors import UsageError
from companion.runtime.model import Model, ModelError
from companion.runtime.model_info import check_fits
from companion.runtime.models_dir import ModelsDir

log = logging.getLogger(__name__)


class ServingModel:
    """The serving model and the models folder it may be swapped from (``None``: no folder)."""

    def __init__(self, model: Model, models: ModelsDir | None = None) -> None:
        self._model = check_fits(model)
        self.models = models
        self._swap = threading.Lock()  # the request thread's load and the poller's reload
        # checks a new model where else it must serve (the daemon's search processes load it) before the
        # swap: ModelError there keeps the old one, as a failed load here does
        self.check_elsewhere: Callable[[Model], None] | None = None
        # called after every swap with (new, old, why): nudge serve prints a line for its user
        self.listeners: list[Callable[[Model, Model, str], None]] = []

    def _announce(self, new: Model, old: Model, why: str) -> None:
        for listener in self.listeners:
            try:
                listener(new, old, why)
            except Exception:  # a listener's fault must not undo or block the swap
                log.exception("model change listener failed")

    @property
    def model(self) -> Model:
        return self._model

    def load(self, name: str) -> Model:
        """Serve the folder's model ``name`` from now on; ``ModelError`` (the current model serves on)."""
        if self.models is None:
            raise UsageError("no models folder is configured (start nudge serve with --models-dir)")
        new = check_fits(self.models.load(name))
        if self.check_elsewhere is not None:
            self.check_elsewhere(new)
        with self._swap:
            old, self._model = self._model, new
        log.info("model %s loaded from %s (was %s)", new.name, new.path, old.name)
        self._announce(new, old, "/nudge/model/load")
        return new

    def poll(self) -> None:
        """Reload the serving model when its file changed; log new models. A failed load keeps the old one."""
        if self.models is None:
            return
        current = self._model
        for name in self.models.poll():
            if name != current.name or current.path.parent.resolve() != self.models.directory.resolve():
                log.info(
                    "model %s is new or changed in %s: load it with /nudge/model/load",
                    name,
                    self.models.directory,
                )
                continue
            try:
                reloaded = check_fits(self.models.load(name))
                if self.check_elsewhere is not None:
                    self.check_elsewhere(reloaded)
            except ModelError as error:
                log.error(
                    "model %s changed on disk but cannot be loaded; still serving the old one: %s",
                    name,
                    error,
                )
                continue
            with self._swap:  # swap only if no load replaced the model while this one loaded
                if self._model is not current:
                    log.info(
                        "model %s changed on disk; not reloaded: another model was loaded meanwhile", name
                    )
                    continue
                self._model = reloaded
            log.info("model %s changed on disk and was reloaded", name)
            self._announce(reloaded, current, "its file changed")
