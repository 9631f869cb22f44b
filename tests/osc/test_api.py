"""The registry itself: handlers exist, addresses follow the grammar, note parts fit the datagram limit."""

from __future__ import annotations

from companion.core.osc_codec import encode_message
from companion.osc.api import (
    ENDPOINTS,
    MAX_ATOMS_PER_MESSAGE,
    MAX_DATAGRAM_BYTES,
    NOTES_PER_PART,
    OPTIONS,
    REPLIES,
    REPLY_PORT,
    Arg,
)
from companion.osc.dispatch import Daemon


def test_every_handler_named_in_the_registry_exists_on_the_daemon():
    for endpoint in ENDPOINTS:
        assert callable(getattr(Daemon, "_" + endpoint.handler, None)), endpoint.handler
    assert len({e.address for e in ENDPOINTS}) == len(ENDPOINTS)
    assert all(e.address.startswith("/nudge/") for e in ENDPOINTS)
    assert {"/nudge/pong", "/nudge/notes", "/nudge/error", "/nudge/ok"} <= {r.address for r in REPLIES}


def test_note_parts_fit_the_datagram_limit():
    part = encode_message(
        "/nudge/notes", "ii" + "iffi" * NOTES_PER_PART, (1, 0, *[1, 0.5, 0.5, 1] * NOTES_PER_PART)
    )
    assert len(part) <= MAX_DATAGRAM_BYTES
    assert 2 + 4 * NOTES_PER_PART <= MAX_ATOMS_PER_MESSAGE


def test_option_keys_are_unique_and_typed():
    keys = [o.key for o in OPTIONS]
    assert len(set(keys)) == len(keys) and all(o.tag in "ifs" for o in OPTIONS)
    assert all(a.tag in "ifs" for e in ENDPOINTS for a in e.args if hasattr(a, "tag"))


def test_optional_arguments_come_last_and_never_before_key_value_pairs():
    for endpoint in ENDPOINTS:
        flags = [a.optional for a in endpoint.args if isinstance(a, Arg)]
        assert flags == sorted(flags), f"{endpoint.address}: an optional argument before a required one"
        assert not (any(flags) and (endpoint.options or endpoint.clip)), endpoint.address
    ping = next(e for e in ENDPOINTS if e.address == "/nudge/ping")
    assert ping.args[-1] is REPLY_PORT and REPLY_PORT.spec() == "[reply_port:i]"
    assert (REPLY_PORT.low, REPLY_PORT.high) == (1, 65535)
