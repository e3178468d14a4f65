"""The costs of Gatys et al., written exactly as the paper's equations.

    J_content = 1 / (4 nH nW nC) * sum (a_C - a_G)^2                     (1)
    Gram(A)   = A A^T,  A of shape (nC, nH*nW)
    J_style^l = 1 / (4 nC^2 (nH nW)^2) * sum_ij (Gram_S - Gram_G)_ij^2    (2)
    J_style   = sum_l lambda^l J_style^l
    J         = alpha J_content + beta J_style

Beyond the paper (each off unless asked for): eq. (1) at several layers with
weights, eq. (2) against a given Gram target (a style of another size, or a
blend of styles; see ``nst.styles``), and a total-variation term
``J_tv`` added as ``tv_weight * J_tv``.
"""
import functools
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from nst.algorithm.tf1 import Tensor, tf

Layers = Sequence[Tuple[str, float]]  # (layer name, weight) pairs: lambda^l of eq. (2), w^l of eq. (1)

# The course's style layers, each weighted 0.2.
STYLE_LAYERS = [("conv1_1", 0.2), ("conv2_1", 0.2), ("conv3_1", 0.2), ("conv4_1", 0.2), ("conv5_1", 0.2)]
CONTENT_LAYER = "conv4_2"
ALPHA, BETA = 10.0, 40.0


def _dims(a):
    _, n_H, n_W, n_C = a.get_shape().as_list()
    return n_H, n_W, n_C


def compute_content_cost(a_C: Tensor, a_G: Tensor) -> Tensor:
    """Eq. (1): squared distance of the content-layer activations, over 4 nH nW nC."""
    n_H, n_W, n_C = _dims(a_G)
    return content_distance(a_C, a_G, n_H * n_W, n_C)


def content_distance(a_C: Tensor, a_G: Tensor, n_positions: int, n_C: int) -> Tensor:
    """Eq. (1)'s sum of squared differences over 4 nH nW nC, the layer's nH nW given: a tile's share of
    it sums over the tile's own positions, divided by the whole picture's (nst.algorithm.tiled)."""
    return tf.reduce_sum(tf.square(a_C - a_G)) / (4.0 * n_positions * n_C)


def unroll(a: Tensor) -> Tensor:
    """(1, nH, nW, nC) activations -> A of shape (nC, nH*nW): one row per channel."""
    n_H, n_W, n_C = _dims(a)
    return tf.transpose(tf.reshape(a, [n_H * n_W, n_C]))


def gram_matrix(A: Tensor) -> Tensor:
    """G_A = A A^T: how strongly each pair of channels fires together."""
    return tf.matmul(A, A, transpose_b=True)


def _gram_FtF(F):
    """F^T F, with the gradient F (dG + dG^T): one matmul where autodiff builds two."""

    def grad(dG):
        return tf.matmul(F, dG + tf.transpose(dG))

    return tf.matmul(F, F, transpose_a=True), grad


@functools.lru_cache(maxsize=None)
def gram_op():
    """_gram_FtF as an op with its gradient; made on first use, as importing costs.py loads no TensorFlow."""
    return tf.custom_gradient(_gram_FtF)


def gram_of_activations(a: Tensor) -> Tensor:
    """gram_matrix(unroll(a)) computed as F^T F, F = a as (nH*nW, nC).

    The same sums of products, but the matmul reads F transposed in place
    instead of materialising the transpose, and its gradient is one matmul
    (tests/test_costs.py proves both equal to the course's form).
    """
    n_H, n_W, n_C = _dims(a)
    return gram_op()(tf.reshape(a, [n_H * n_W, n_C]))


def _gram_distance(GS, GG, a_G):
    n_H, n_W, n_C = _dims(a_G)
    return gram_distance(GS, GG, n_H * n_W, n_C)


def gram_distance(GS: Tensor, GG: Tensor, n_positions: int, n_C: int) -> Tensor:
    """Eq. (2)'s sum of squared differences and its normaliser 4 nC^2 (nH nW)^2, the layer's nH nW given
    (a Gram summed over tiles has no activation to read it from)."""
    return tf.reduce_sum(tf.square(GS - GG)) / (4.0 * n_C**2 * n_positions ** 2)


def compute_layer_style_cost(a_S: Tensor, a_G: Tensor) -> Tensor:
    """Eq. (2), literally: unroll both, Gram both, squared distance over 4 nC^2 (nH nW)^2."""
    return _gram_distance(gram_matrix(unroll(a_S)), gram_matrix(unroll(a_G)), a_G)


def compute_layer_style_cost_from_gram(GS: Tensor, a_G: Tensor) -> Tensor:
    """Eq. (2) with Gram_S given (computed once, not every step; on G's scale, see nst.styles)."""
    return _gram_distance(GS, gram_of_activations(a_G), a_G)


def compute_style_cost(model: Mapping[str, Tensor], STYLE_LAYERS: Layers = STYLE_LAYERS,
                       style_activations: Optional[Mapping[str, np.ndarray]] = None,
                       style_grams: Optional[Mapping[str, np.ndarray]] = None) -> Tensor:
    """Sum of lambda^l J_style^l over the style layers.

    As in the course, a_S is read by running each layer in the default session
    while the style image is assigned to the input, unless the style's
    activations (``style_activations``) or, cheaper, its Gram matrices
    (``style_grams``) are given: layer name -> array.
    """
    J_style = 0.0
    for layer_name, coeff in STYLE_LAYERS:
        a_G = model[layer_name]
        if style_grams is not None:
            J_layer = compute_layer_style_cost_from_gram(tf.constant(style_grams[layer_name]), a_G)
        else:
            a_S = style_activations[layer_name] if style_activations is not None \
                else tf.get_default_session().run(a_G)
            J_layer = compute_layer_style_cost(tf.constant(a_S), a_G)
        J_style += coeff * J_layer
    return J_style


def compute_blended_content_cost(model: Mapping[str, Tensor], CONTENT_LAYERS: Layers,
                                 content_activations: Mapping[str, Union[np.ndarray, Tensor]]) -> Tensor:
    """Sum of w^l J_content^l: eq. (1) at several layers (e.g. conv4_2 and conv5_2), weighted.

    With the one layer of the course at weight 1 this is eq. (1) itself, bit for bit. An
    activation given as a variable (a video's, set per frame) is used as it is.
    """
    J_content = 0.0
    for layer_name, coeff in CONTENT_LAYERS:
        a_C = content_activations[layer_name]
        a_C = tf.constant(a_C) if isinstance(a_C, np.ndarray) else a_C
        J_content += coeff * compute_content_cost(a_C, model[layer_name])
    return J_content


def compute_tv_cost(image: Tensor) -> Tensor:
    """J_tv: mean squared difference of vertical plus of horizontal neighbours.

    A smoothness prior against the high-frequency noise Adam leaves; it is the
    term of the best-known TF implementation (its 2 * l2_loss / size).
    """
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_mean(tf.square(dy)) + tf.reduce_mean(tf.square(dx))


def compute_tv_cost_jcjohnson(image: Tensor) -> Tensor:
    """J_tv of jcjohnson/neural-style's TVLoss: half the sum of squared right and down differences.

    Both differences are taken over the top-left (nH-1) x (nW-1) block, as its
    ``x_diff = x[:-1, :-1] - x[:-1, 1:]`` and ``y_diff = x[:-1, :-1] - x[1:, :-1]``
    (the last row has no right differences, the last column no down
    differences); summed, not averaged, over positions and channels. TVLoss
    itself only writes the gradient, ``strength * (x_diff + y_diff)`` at each
    top-left position minus ``strength * x_diff`` / ``y_diff`` at its right /
    down neighbour, which is the gradient of ``strength`` times this value.
    """
    corner = image[:, :-1, :-1, :]
    x_diff = corner - image[:, :-1, 1:, :]
    y_diff = corner - image[:, 1:, :-1, :]
    return 0.5 * (tf.reduce_sum(tf.square(x_diff)) + tf.reduce_sum(tf.square(y_diff)))


# The forms of J_tv, by the name a setting gives them; "mean" is the default.
TV_COSTS: Dict[str, Callable[[Tensor], Tensor]] = {"mean": compute_tv_cost, "jcjohnson": compute_tv_cost_jcjohnson}


def total_cost(J_content: Tensor, J_style: Tensor, alpha: float = ALPHA, beta: float = BETA,
               J_tv: Optional[Tensor] = None, tv_weight: float = 0.0) -> Tensor:
    """J = alpha J_content + beta J_style (+ tv_weight J_tv, only when tv_weight is not 0)."""
    J = alpha * J_content + beta * J_style
    return J + tv_weight * J_tv if tv_weight else J  # type: ignore[operator]  # J_tv comes with a tv_weight
