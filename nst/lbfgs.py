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


def cost_nodes(graph):
    """J, J_content, J_style (and J_tv when the graph has it): what a history row holds."""
    return [graph.J, graph.J_content, graph.J_style] + ([graph.J_tv] if graph.J_tv is not None else [])


class Objective:
    """J and its gradient as a function of the flat float64 image scipy works on."""

    def __init__(self, graph):
        self.graph = graph
        self.shape = graph.model["input"].shape.as_list()
        self.costs = cost_nodes(graph)
        self.gradient = tf.gradients(graph.J, graph.model["input"])[0]
        self.evaluations = 0
        self.last_x, self.last = None, None  # the last point evaluated and its costs

    def __call__(self, x):
        self.graph.assign_input(self.image(x))
        *costs, grad = self.graph.sess.run(self.costs + [self.gradient])
        self.evaluations += 1
        self.last_x, self.last = x.copy(), tuple(float(c) for c in costs)
        return self.last[0], grad.astype(np.float64).ravel()

    def image(self, x):
        return x.reshape(self.shape).astype(np.float32)

    def costs_at(self, x):
        """The costs at ``x``: from the last evaluation when it was there (the usual case)."""
        if self.last_x is None or not np.array_equal(x, self.last_x):
            self(x)
        return self.last


def pixel_bounds(shape, mean_pixel=VGG_MEAN):
    """Per-value (low, high) so that G + mean stays a valid 0..255 picture."""
    mean = np.broadcast_to(np.asarray(mean_pixel, np.float64), shape).ravel()
    return list(zip(-mean, 255.0 - mean))


def minimize_lbfgs(graph, generated_image, iterations, on_iteration=None, mean_pixel=VGG_MEAN):
    """Run up to ``iterations`` L-BFGS iterations from ``generated_image``.

    ``on_iteration(step, costs, seconds, image)`` is called after each
    iteration with the accepted point and its costs; a true return value stops
    the run there. Returns the final image (1, H, W, 3), also left in the
    input variable. Nothing needs initialising first: every evaluation assigns
    its point to the input, and L-BFGS has no slots in the graph.
    """
    objective = Objective(graph)
    start = time.perf_counter()
    state = {"step": 0}

    def callback(xk):
        state["step"] += 1
        if on_iteration is None:
            return
        costs, image = objective.costs_at(xk), objective.image(xk)
        if on_iteration(state["step"], costs, time.perf_counter() - start, image):
            raise StopIteration  # scipy ends the run and returns the current point

    result = scipy.optimize.minimize(
        objective, generated_image.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
        bounds=pixel_bounds(generated_image.shape, mean_pixel), callback=callback,
        options={"maxiter": iterations, "maxcor": 20, "maxfun": 2 * iterations + 20},
    )
    image = result.x.reshape(generated_image.shape).astype(np.float32)
    graph.assign_input(image)
    return image
