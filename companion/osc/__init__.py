"""The OSC protocol of ``nudge serve`` (the wire format itself is ``companion.core.osc_codec``).

- ``api``: the registry of every address, argument and limit; ``api_doc``: docs/osc-api.md, generated from it.
- ``request``: decoded messages -> checked requests; ``replies``: reply datagrams; ``reply_routes``: where
  replies go; ``clip_parts``: the parts of a long clip, held until its ``/nudge/vary``.
- ``dispatch``: the daemon (request -> handler -> replies), with its mixins ``model_handlers`` (list, load,
  info), ``player_handlers`` (live MIDI requests, the hand-over of patterns) and ``tool_handlers`` (the five
  tools' arrival and run); ``scheduler``: where slow
  requests run, in turn per sender by work; ``server``: the UDP loop; ``guard``: per-sender rate limits
  and no reply to ourselves.
- ``searches``: the generate and vary searches and their price; ``search_pool``: the search processes the
  scheduler feeds; ``search_child``: a search process's side.
- ``tool_searches``: the tools (Groove, Drumify, Continue, Interpolate, Fill), run where the searches run.
- ``audio_source``: ``/nudge/drumify`` of an audio file: its keys, their checks, the clip they become.

Built on the core and the runtime; training never imports it (tests/test_layering.py).
"""
