"""The daemon's model handlers (``/nudge/model/list``, ``/nudge/model/load``, ``/nudge/model/info``): a mixin
of ``companion.osc.dispatch.Daemon``, which owns ``serving`` (the hot-swapped model) and ``models`` (the
models folder, or None)."""

from __future__ import annotations

from companion.core.errors import UsageError
from companion.core.osc_codec import encode_message
from companion.osc.api import MAX_DATAGRAM_BYTES
from companion.osc.request import Request
from companion.runtime.model import Model
from companion.runtime.model_info import model_info_reply
from companion.runtime.models_dir import ModelsDir
from companion.runtime.serving import ServingModel


class ModelHandlers:
    """Which models there are, load one (on the loader thread with defer), and what the serving one is."""

    serving: ServingModel

    @property
    def models(self) -> ModelsDir | None:
        return self.serving.models

    def _model_list(self, request: Request, model: Model) -> list[bytes]:
        names = self.models.names() if self.models else [model.name]
        reply = encode_message("/nudge/model/list", "is" + "s" * len(names), (request.id, model.name, *names))
        if len(reply) > MAX_DATAGRAM_BYTES:
            folder = self.models.directory if self.models else "the models folder"
            raise UsageError(
                f"the models folder holds {len(names)} models; their names need {len(reply)} bytes, more "
                f"than one {MAX_DATAGRAM_BYTES}-byte datagram: move some out of {folder}"
            )
        return [reply]

    def _model_load(self, request: Request, model: Model) -> list[bytes]:
        new = self.serving.load(request.values["name"])  # ModelError -> /nudge/error; the old one serves on
        return [encode_message("/nudge/model/loaded", "is", (request.id, new.name))]

    def _model_info(self, request: Request, model: Model) -> list[bytes]:
        return [model_info_reply(request.id, model.name, model.meta)]
