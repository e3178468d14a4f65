"""nst: Gatys et al. (2015) neural style transfer as an explicit tf.compat.v1 graph.

The data path, one module a step (open them in this order to follow it):
``images`` (load, resize, normalise) -> ``vgg`` (read the .mat, build the net)
-> ``costs`` (eq. 1, Gram, eq. 2, total) -> ``graph`` (session, targets, cost
nodes, Adam) -> ``train`` (the loop, saving) ; ``cli`` parses the command line.
"""

__version__ = "0.1.0"
