"""nst: Gatys et al. (2015) neural style transfer as an explicit tf.compat.v1 graph.

Read it in three layers, each importing only the ones before it:

- the algorithm, ``nst.algorithm``: ``images`` (load, resize, normalise) -> ``vgg`` (read
  the .mat, build the net) -> ``costs`` (eq. 1, Gram, eq. 2, total) -> ``styles`` (Gram
  targets) -> ``graph`` (session, targets, cost nodes) -> ``optimize`` (Adam and L-BFGS as
  generators of steps); ``reference`` is the course's literal graph, the tests' oracle;
- the run, ``nst.run``: ``config`` (one typed configuration) -> ``inputs`` -> ``problem``
  (one preparation for every front-end) -> ``loop`` (``follow``, the one loop) ->
  ``consumers`` (history, images, checkpoint) -> ``outputs`` (the run folder);
- the front-ends: ``nst.commands`` (``nst train``, ``nst download``), ``nst.video``
  (``nst video``), ``nst.web`` (``nst serve``), ``nst.batch`` (``nst batch`` on Ray),
  and ``nst.entry`` on top (``nst COMMAND``).

``nst.tools`` holds the dev tools (benchmarks, the gallery, screenshots): nothing imports them.
"""

__version__ = "0.2.0"
