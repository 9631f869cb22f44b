"""The OSC protocol of ``nudge serve`` (the wire format itself is ``companion.core.osc_codec``).

- ``api``: the registry of every address, argument and limit; ``api_doc``: docs/osc-api.md, generated from it.
- ``request``: decoded messages -> checked requests; ``replies``: reply datagrams; ``reply_routes``: where
  replies go; ``clip_parts``: the parts of a long clip, held until its ``/nudge/vary``.
- ``dispatch``: the daemon (request -> handler -> replies); ``tool_handlers``: its handlers of the tools;
  ``scheduler``: where slow requests run, in turn per sender; ``server``: the UDP loop.

Built on the core and the runtime; training never imports it (tests/test_layering.py).
"""
