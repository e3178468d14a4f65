"""The course's literal graph: the oracle of the tests and the baseline of the benchmark.

It is built exactly as the course's notebook builds it, with none of the
package's speed-ups: the whole VGG-19 with its weights as graph constants, a_S
read by one session run per layer and its Gram matrices recomputed every step,
the transpose materialised, autodiff's gradients gated per op. The package's
graph (``nst.algorithm.graph``) must follow it step for step (tests/test_graph.py), and
``nst bench`` measures against it.
"""
from typing import Dict, Tuple

import numpy as np

from nst.algorithm.costs import (
    STYLE_LAYERS,
    compute_content_cost,
    compute_style_cost,
    total_cost,
)
from nst.algorithm.tf1 import Operation, Session, Tensor, tf
from nst.algorithm.vgg import VGGWeights, build_vgg


def course_graph(sess: Session, weights: VGGWeights, C: np.ndarray, S: np.ndarray, learning_rate: float = 2.0
                 ) -> Tuple[Dict[str, Tensor], Tensor, Operation]:
    """The course's graph, as its notebook builds it: returns (model, J, train_step).

    The reference the optimised graph is measured and tested against: the whole
    VGG-19 with its weights as graph constants, a_S held as constants and their
    Gram matrices recomputed every step, the transpose materialised, autodiff's
    gradients gated per op.
    """
    model = build_vgg(weights, C.shape[1], C.shape[2], sess=sess, constant_weights=True)  # all of VGG-19
    sess.run(model["input"].assign(C))
    out = model["conv4_2"]
    J_content = compute_content_cost(tf.constant(sess.run(out)), out)
    sess.run(model["input"].assign(S))
    J_style = compute_style_cost(model, STYLE_LAYERS)  # one session run per layer
    J = total_cost(J_content, J_style)
    return model, J, tf.train.AdamOptimizer(learning_rate).minimize(J)
