"""L-BFGS, the optimizer of Gatys et al.'s own code, driven through the same graph.

scipy's L-BFGS-B asks for J and dJ/dG at points it chooses; each request is
one assignment of G to the input variable and one session run of J and its
gradient, the session staying open throughout. Pixels are bounded so that G
plus the mean pixel stays within 0..255, which is also what is saved.
"""
import time

import numpy as np
import scipy.optimize

from nst.images import VGG_MEAN
from nst.tf1 import tf


class Objective:
    """J and its gradient as a function of the flat float64 image scipy works on."""

    def __init__(self, graph):
        self.graph = graph
        self.shape = graph.model["input"].shape.as_list()
        self.fetches = [graph.J, graph.J_content, graph.J_style,
                        tf.gradients(graph.J, graph.model["input"])[0]]
        self.evaluations = 0
        self.last = None  # (J, J_content, J_style) at the last point evaluated

    def __call__(self, x):
        self.graph.assign_input(x.reshape(self.shape).astype(np.float32))
        J, J_content, J_style, grad = self.graph.sess.run(self.fetches)
        self.evaluations += 1
        self.last = (float(J), float(J_content), float(J_style))
        return float(J), grad.astype(np.float64).ravel()


def pixel_bounds(shape, mean_pixel=VGG_MEAN):
    """Per-value (low, high) so that G + mean stays a valid 0..255 picture."""
    mean = np.broadcast_to(np.asarray(mean_pixel, np.float64), shape).ravel()
    return list(zip(-mean, 255.0 - mean))


def minimize_lbfgs(graph, generated_image, iterations, on_iteration=None, mean_pixel=VGG_MEAN):
    """Run up to ``iterations`` L-BFGS iterations from ``generated_image``.

    ``on_iteration(step, costs, seconds)`` is called after each iteration with
    the costs at the accepted point; a true return value stops the run there.
    Returns the final image (1, H, W, 3).
    """
    graph.initialize(generated_image)
    objective = Objective(graph)
    start = time.perf_counter()
    state = {"step": 0}

    def callback(xk):
        state["step"] += 1
        if on_iteration is not None and on_iteration(state["step"], objective.last, time.perf_counter() - start):
            raise StopIteration  # scipy ends the run and returns the current point

    result = scipy.optimize.minimize(
        objective, generated_image.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
        bounds=pixel_bounds(generated_image.shape, mean_pixel), callback=callback,
        options={"maxiter": iterations, "maxcor": 20, "maxfun": 2 * iterations + 20},
    )
    image = result.x.reshape(generated_image.shape).astype(np.float32)
    graph.assign_input(image)
    return image
