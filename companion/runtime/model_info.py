"""Can the daemon serve this model? Its ``/nudge/model/info`` reply (the model describing itself to a
client: bars, conditions with descriptions and defaults, styles) must fit one datagram.

Here, below the OSC protocol, because two parties need the same answer: the daemon (``nudge serve``, at
every load) and the exporter (``nudge-train export`` refuses a model the daemon would refuse, before it
writes anything). The reply's shape is the registry's (``companion.osc.api.REPLIES``); tests check they agree.
"""

from __future__ import annotations

from companion.core.model_meta import ModelMeta
from companion.core.osc_codec import MAX_DATAGRAM_BYTES, OscError, encode_message
from companion.runtime.model import Model, ModelError


def model_info_reply(request_id: int, name: str, meta: ModelMeta) -> bytes:
    """``/nudge/model/info id name bars beats_per_bar n (name description default)*n m style*m``."""
    tags, args = "isiii", [request_id, name, meta.bars, meta.beats_per_bar, len(meta.conditions)]
    for condition in meta.conditions:
        tags += "ssf"
        args += [condition.name, condition.description, condition.default]
    tags += "i" + "s" * len(meta.styles)
    args += [len(meta.styles), *meta.styles]
    return encode_message("/nudge/model/info", tags, args)


def model_info_problem(name: str, meta: ModelMeta) -> str:
    """Why a model served as ``name`` cannot answer ``/nudge/model/info`` in one datagram ("" if it can)."""
    try:
        size = len(model_info_reply(0, name, meta))  # every id takes 4 bytes
    except (OscError, UnicodeError) as error:  # e.g. a file name that is not valid UTF-8
        return f"its name or metadata cannot travel in OSC ({error})"
    if size > MAX_DATAGRAM_BYTES:
        return (
            f"its /nudge/model/info reply would be {size} bytes, more than one {MAX_DATAGRAM_BYTES}-byte "
            "datagram: fewer or shorter conditions, descriptions or styles, or a shorter name"
        )
    return ""


def check_fits(model: Model) -> Model:
    """``model``, or ``ModelError`` when its ``/nudge/model/info`` reply would not fit one datagram."""
    problem = model_info_problem(model.name, model.meta)
    if problem:
        raise ModelError(f"{model.path}: {problem}")
    return model
