"""The model runtime: an exported generator loaded with onnxruntime, the models folder, the candidate search.

- ``model``: ``load_model`` (the one ONNX loader) -> ``Model``, with its metadata checked.
- ``models_dir``: the models folder (names, listing, loading by name).
- ``model_info``: whether a model can be served (its ``/nudge/model/info`` fits one datagram).
- ``serving``: the serving model, hot-swapped by a load or a changed file.
- ``engine``: sliders + style -> the best of N generated candidates (the product's search).

Imports only the core (tests/test_layering.py); no OSC, no MIDI ports, no torch.
"""
