"""The model runtime: an exported generator loaded with onnxruntime, the models folder, the candidate search.

- ``model``: ``load_model`` (the one ONNX loader) -> ``Model``, with its metadata checked.
- ``models_dir``: the models folder (names, listing, loading by name).
- ``model_info``: whether a model can be served (its ``/nudge/model/info`` fits one datagram).
- ``serving``: the serving model, hot-swapped by a load or a changed file.
- ``search_request``: ``SearchRequest``, one generate or vary checked, its defaults and cost resolved once.
- ``search``: ``search(model, request)``, the one entry of the search; it picks ``engine`` or ``lock``.
- ``candidates``: the primitives the search and the voice lock share (draw, run, cut, measure, compare).
- ``engine``: sliders + style -> the best of N generated candidates; the nudge (``vary``).
- ``lock``: the voice lock: kept voices exactly, the others searched in latent space to fit them.
- ``tools_model``: the tools graph beside a generator (``NAME.tools.onnx``); ``tools``: Groove, Drumify,
  Continue and Fill on patterns, through ``completion`` (the tools graph's inputs) or, without a tools graph,
  ``tool_search`` (a latent search); ``interpolate``: a path from one pattern to another; ``tool_clips``:
  the tools on a clip's notes (the daemon's and the CLI's one path).

Imports only the core (tests/test_layering.py); no OSC, no MIDI ports, no torch.
"""
