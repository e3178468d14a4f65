"""The temporal cost of Ruder et al. (2016) and the per-frame inputs of a video's graph.

    J_temporal = (1/D) sum_k c_k (x_k - w_k)^2

x is G, w the previous stylised frame warped into this frame by the optical
flow, c the reliability weights (``nst.video.flow``), D the number of values of G.
One graph serves every frame of a size: the content targets, w and c live in
variables that :meth:`FrameInputs.set` assigns for each frame. They are kept
out of the global variables, so resetting G and Adam's slots for a new frame
(``StyleTransferGraph.reset``) leaves them as set.
"""
from typing import Callable, Dict, Mapping, Optional

import numpy as np

from nst.algorithm.tf1 import Session, Tensor, tf


def temporal_cost(x: Tensor, warped: Tensor, weights: Tensor) -> Tensor:
    """J_temporal of G ``x`` (1, H, W, 3), target ``warped`` (same shape) and weights (1, H, W, 1)."""
    size = int(np.prod(x.get_shape().as_list()))
    return tf.reduce_sum(weights * tf.square(x - warped)) / float(size)


class _Fed:
    """A variable outside the global variables, set by feeding its assign op (no constant in the graph)."""

    def __init__(self, shape, name):
        self.variable = tf.Variable(tf.zeros(shape), trainable=False, collections=[], name=name)
        self.value = tf.placeholder(tf.float32, shape, name=f"{name}_value")
        self.assign = self.variable.assign(self.value)


class FrameInputs:
    """What changes from frame to frame: the content targets a_C, the warped frame w, the weights c."""

    def __init__(self, sess: Session, model: Dict[str, Tensor], content_activations: Mapping[str, np.ndarray]
                 ) -> None:
        self.sess, self.model = sess, model
        _, height, width, _ = model["input"].get_shape().as_list()
        self.targets = {name: _Fed(value.shape, f"a_C_{name}") for name, value in content_activations.items()}
        self.warped = _Fed((1, height, width, 3), "warped")
        self.weights = _Fed((1, height, width, 1), "reliability")
        self._assign({self.targets[n]: v for n, v in content_activations.items()})
        self._assign({self.warped: np.zeros((1, height, width, 3)), self.weights: np.zeros((1, height, width, 1))})

    def content_targets(self) -> Dict[str, Tensor]:
        """{layer: a_C variable}: what eq. (1) compares G's activations with."""
        return {name: fed.variable for name, fed in self.targets.items()}

    def cost(self) -> Tensor:
        """The J_temporal node of G."""
        return temporal_cost(self.model["input"], self.warped.variable, self.weights.variable)

    def set(self, assign_input: Callable[[np.ndarray], object], content: np.ndarray,
            warped: Optional[np.ndarray] = None, weights: Optional[np.ndarray] = None) -> None:
        """Make the graph this frame's: a_C of ``content`` (normalised (1, H, W, 3)), w and c.

        Without ``warped`` (the first frame) c is 0: no temporal cost. G is left holding ``content``.
        """
        assign_input(content)
        names = list(self.targets)
        values = self.sess.run([self.model[name] for name in names])
        feeds = {self.targets[n]: v for n, v in zip(names, values)}
        shape = self.warped.value.get_shape().as_list()
        feeds[self.warped] = np.zeros(shape) if warped is None else warped
        feeds[self.weights] = np.zeros(shape[:3] + [1]) if weights is None else np.reshape(weights, shape[:3] + [1])
        self._assign(feeds)

    def _assign(self, feeds):
        self.sess.run([fed.assign for fed in feeds], {fed.value: value for fed, value in feeds.items()})
