"""nst: Gatys et al. (2015) neural style transfer as an explicit tf.compat.v1 graph.

Read it in three layers, each in the order of the data:

- the algorithm: ``images`` (load, resize, normalise) -> ``vgg`` (read the
  .mat, build the net) -> ``costs`` (eq. 1, Gram, eq. 2, total) -> ``styles``
  (Gram targets) -> ``graph`` (session, targets, cost nodes, Adam) ->
  ``optimize`` (Adam and L-BFGS as generators of steps);
- the run: ``config`` (one typed configuration) -> ``inputs`` (the pictures of
  a run) -> ``run`` (the consumers of the steps: history, images, checkpoint)
  -> ``cli`` (``nst train``: options <-> configuration, messages) -> ``entry``
  (``nst COMMAND``);
- the tools, apart: ``nst.tools`` (bench, gallery, figure, download) and
  ``reference`` (the course's literal graph, the tests' oracle).
"""

__version__ = "0.2.0"
