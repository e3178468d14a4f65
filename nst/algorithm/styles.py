"""Style targets: the Gram matrices of one or several style images, each at its own size.

Eq. (2) divides by 4 nC^2 (nH nW)^2 with the nH nW of G, and a Gram entry is
a sum over positions, so the Gram of a style image of another size (a style
scale) is on another scale. Each style's Gram is rescaled to G's number of
positions before the styles are blended:

    target^l = sum_k w_k (nH_G nW_G / nH_k nW_k) Gram_k^l,    sum_k w_k = 1

Eq. (2) against this target is
``sum((sum_k w_k Gram_k / (nH_k nW_k) - Gram_G / (nH_G nW_G))^2) / (4 nC^2)``:
channel products averaged over positions, comparable at any scale. With one
style at G's size (w = 1, ratio 1) the target is Gram_S and eq. (2) is
unchanged, bit for bit.

Blending the targets rather than adding one style cost per style (as the
best-known implementation does) gives the same gradient, since
``sum_k w_k |Gram_G - T_k|^2 = |Gram_G - sum_k w_k T_k|^2 + const``, with one
Gram per layer in the graph instead of one per style.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from nst.algorithm.costs import gram_of_activations
from nst.algorithm.tf1 import Session, Tensor, tf
from nst.algorithm.vgg import apply_vgg, deepest
from nst.errors import NSTError

Grams = Dict[str, Tuple[np.ndarray, int]]  # {layer: (Gram, nH nW)} of one style image
StyleImages = Union[np.ndarray, List[np.ndarray], Tuple[np.ndarray, ...]]  # one style image, or a list of them


def positions(tensor: Tensor) -> int:
    """nH * nW of a (1, nH, nW, nC) activation."""
    _, n_H, n_W, _ = tensor.get_shape().as_list()
    return n_H * n_W


def normalize_blend(blend: Optional[Sequence[float]], count: int) -> List[float]:
    """The blend weights w_k of ``count`` styles: equal by default, else the given ones over their sum."""
    if blend is None:
        return [1.0 / count] * count if count > 1 else [1.0]
    blend = [float(w) for w in blend]
    if len(blend) != count:
        raise NSTError(f"{{option}}: {len(blend)} weights for {count} style images", "style_blend")
    if any(not w >= 0 for w in blend) or not 0 < sum(blend) < float("inf"):
        raise NSTError(f"{{option}}: weights must be zero or positive with a positive, finite sum, got {blend}",
                       "style_blend")
    return [w / sum(blend) for w in blend]


def style_grams(sess: Session, model: Dict[str, Tensor], style_image: np.ndarray, layer_names: Sequence[str],
                pooling: str = "avg", index: int = 0) -> Grams:
    """{layer: (Gram_S, nH nW)} of one normalised style image, by a forward pass at its own size.

    The pass is a branch of the model's own network (:func:`nst.algorithm.vgg.apply_vgg`),
    so the weights are not built twice.
    """
    image = tf.placeholder(tf.float32, style_image.shape, name=f"style_{index}")
    branch = apply_vgg(model, image, pooling, deepest(layer_names), scope=f"style_{index}")
    grams = sess.run([gram_of_activations(branch[name]) for name in layer_names], {image: style_image})
    return {name: (gram, positions(branch[name])) for name, gram in zip(layer_names, grams)}


def gram_targets(sess: Session, model: Dict[str, Tensor], style_images: Sequence[np.ndarray],
                 layer_names: Sequence[str], pooling: str = "avg",
                 blend: Optional[Sequence[float]] = None, grams_of: Callable[..., Grams] = style_grams
                 ) -> Dict[str, np.ndarray]:
    """{layer: float32 target} on G's scale: the styles' Grams rescaled and blended (module doc).

    ``grams_of`` computes each style's Grams (as :func:`style_grams`; a tiled graph's sums them over tiles).
    """
    weights = normalize_blend(blend, len(style_images))
    per_style = [grams_of(sess, model, image, layer_names, pooling, k) for k, image in enumerate(style_images)]
    targets = {}
    for name in layer_names:
        n_G = positions(model[name])
        total: Union[float, np.ndarray] = 0.0
        for w, grams in zip(weights, per_style):
            gram, n_S = grams[name]
            total = total + w * (n_G / n_S) * gram.astype(np.float64)
        targets[name] = np.asarray(total, np.float32)
    return targets
