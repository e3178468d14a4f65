"""The algorithm: Gatys et al. (2015) as an explicit tf.compat.v1 graph over VGG-19, in the order of the data.

``images`` (load, resize, normalise) -> ``vgg`` (read the .mat, build the net) -> ``costs`` (eq. 1,
Gram, eq. 2, total) -> ``styles`` (Gram targets) -> ``graph`` (session, targets, cost nodes) ->
``optimize`` (Adam and L-BFGS as generators of steps); beside them ``colors`` (colour preservation),
``coarse`` (half size first), ``memory`` (will a size fit), ``temporal`` (a video's cost), ``onednn``
and ``tf1`` (the TensorFlow set-up) and ``reference`` (the course's literal graph, the tests' oracle).
It imports nothing above it.
"""
