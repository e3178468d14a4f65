"""The run layer: what every front-end shares to run the algorithm from one configuration.

``config`` (one typed configuration) and ``presets`` -> ``inputs`` (the pictures) -> ``problem``
(one preparation: every check before the graph) -> ``loop`` (the graph and the one public loop,
``follow``) -> ``consumers`` (history, images, checkpoint, TensorBoard, progress) -> ``outputs``
(the run folder and its file names), with ``checkpoint``, ``summaries``, ``interrupt`` and
``figure`` (the C + S = G picture). ``from nst.run import run_style_transfer`` runs one.
"""

PUBLIC = {"run_style_transfer": "nst.run.loop", "follow": "nst.run.loop", "prepare": "nst.run.problem",
          "Consumer": "nst.run.consumers"}


def __getattr__(name):
    """The public functions, imported when first asked for: ``nst.run.figure`` alone needs no TensorFlow."""
    if name not in PUBLIC:
        raise AttributeError(f"module 'nst.run' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(PUBLIC[name]), name)
