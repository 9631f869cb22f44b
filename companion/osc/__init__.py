"""The OSC protocol of ``nudge serve``.

- ``api``: the registry of every address, argument and limit (docs/osc-api.md is generated from it, by
  ``api_doc``).
- ``codec``: OSC 1.0 messages and bundles <-> bytes.
- ``request``: decoded messages -> checked requests; ``replies``: reply datagrams; ``reply_routes``: where
  replies go.
- ``dispatch``: the daemon (request -> handler -> replies); ``server``: the UDP loop.

Built on the core and the runtime; training never imports it (tests/test_layering.py).
"""
