"""Spatial and scale control of Gatys et al. (2017): guided Gram matrices, each style in its region and scale.

Each style image k may have a guidance mask m over G (where it applies), a mask s over itself (which part
of it is the source) and its own style layers with their lambda. A mask weights each position's features
before the Gram matrix, as the 2017 paper's guided Gram matrices do:

    Gram_m(F) = (F * m)^T (F * m) = sum_p m_p^2 f_p f_p^T          F: (nH nW, nC), m: one value per position
    M         = sum_p m_p^2                                          the region's mass: nH nW for a mask of ones
    J^l_r     = 1 / (4 nC^2 M_G^2) * sum_ij (M_G T^l_r - Gram_m(F_G))_ij^2
    T^l_r     = sum_(k in r) (a_k / A) Gram_s_k(F_S_k) / M_S_k,    a_k = w_k lambda_k^l,  A = sum_(k in r) a_k
    J_style   = sum_l sum_r c^l_r J^l_r,    c^l_r = A / sum_(k uses l) w_k

M takes the place of eq. (2)'s nH nW, so a region's cost is on the scale of a whole picture's; with masks
of ones M_G T is nst.styles' blended target and J^l is eq. (2). A region r is the styles that share one G
mask at layer l; they blend into one target, because sum_k a_k |X - T_k|^2 = A |X - sum_k a_k T_k / A|^2
+ a constant (the same gradient, one Gram matrix in the graph). At each layer the blend weights w_k of
the styles that use it are renormalised, so that a style alone at a layer (scale control: S1 on conv1_1
.. conv3_1, S2 on conv4_1 and conv5_1) gets that layer's whole lambda.

A mask is resized to each layer's feature map by averaging (the paper's simple down-sampling), or, in
the ``eroded`` mode, first eroded by the layer's receptive field (each pixel takes the smallest mask
value in the window a feature there sees), so that a region's features see no pixel outside it.
"""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from nst.algorithm.costs import gram_op
from nst.algorithm.tf1 import Tensor, tf
from nst.algorithm.styles import normalize_blend, style_grams
from nst.algorithm.vgg import LAYER_ORDER, apply_vgg, deepest, layer_shape, receptive_field  # noqa: F401

MASK_MODES = ("resize", "eroded")
Layers = Tuple[Tuple[str, float], ...]


class StyleGuide(NamedTuple):
    """One style's controls: masks as (H, W) float arrays in 0..1 (None: everywhere), its own layers."""

    mask: Optional[np.ndarray] = None  # over G, any size of G's aspect
    source_mask: Optional[np.ndarray] = None  # over the style image, any size of its aspect
    layers: Optional[Layers] = None  # (layer, lambda); None: the run's style layers
    region: Optional[str] = None  # what makes styles one region (a video's mask folder); None: the mask's bytes
    per_frame: bool = False  # the mask changes from frame to frame (a video's folder of masks): a variable


def _resize(mask: np.ndarray, size: Sequence[int], method) -> np.ndarray:
    if tuple(size) == mask.shape:
        return np.asarray(mask, np.float64)
    plane = Image.fromarray(np.ascontiguousarray(mask, np.float32))  # mode F
    return np.clip(np.asarray(plane.resize((size[1], size[0]), method), np.float64), 0.0, 1.0)


def layer_mask(mask: np.ndarray, layer: str, size: Sequence[int], mode: str = "resize") -> np.ndarray:
    """``mask`` at ``layer``'s resolution for an input of ``size`` (float64 (nH, nW)).

    The mask is brought to the input's size, eroded by the layer's receptive field in ``eroded`` mode, and
    area-averaged down to the layer's positions.
    """
    mask = _resize(mask, size, Image.Resampling.BILINEAR)
    if mode == "eroded":
        from scipy import ndimage

        mask = ndimage.minimum_filter(mask, size=receptive_field(layer)[0], mode="nearest")
    return _resize(mask, layer_shape(size, layer), Image.Resampling.BOX)


def mass(mask: np.ndarray) -> float:
    """M = sum of m^2 over a layer's positions."""
    return float(np.sum(np.square(mask, dtype=np.float64)))


def is_everywhere(mask: Optional[np.ndarray]) -> bool:
    """A mask that changes nothing: none, or ones at every pixel."""
    return mask is None or bool(np.all(np.asarray(mask) == 1.0))


MaskNode = Union[np.ndarray, Tensor]  # a layer's mask, (nH, nW): fixed, or a variable set per video frame


def guided_gram(a: Tensor, mask: Optional[MaskNode]) -> Tensor:
    """Gram_m(F) of a (1, nH, nW, nC) activation: the features weighted by the layer's mask, F^T F."""
    _, n_H, n_W, n_C = a.get_shape().as_list()
    F = tf.reshape(a, [n_H * n_W, n_C])
    if mask is not None:
        F = F * tf.reshape(tf.cast(mask, a.dtype), [n_H * n_W, 1])
    return gram_op()(F)


def compute_guided_layer_style_cost(target: np.ndarray, a_G: Tensor, mask: Optional[MaskNode]) -> Tensor:
    """J^l_r for the region ``mask`` at the layer (None: everywhere): eq. (2) with the mass M for nH nW.

    ``target`` is T^l_r, the styles' Gram per unit of mass; written as (T - Gram_m / M)^2 / (4 nC^2), the
    same value, so that M may be a node (a video's mask changes per frame).
    """
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    if mask is None:
        M: Union[float, Tensor] = float(n_H * n_W)
    elif isinstance(mask, np.ndarray):
        M = mass(mask)
    else:  # a region empty in one frame costs a constant there, with no gradient
        M = tf.maximum(tf.reduce_sum(tf.square(tf.cast(mask, a_G.dtype))), 1e-30)
    return guided_distance(target, guided_gram(a_G, mask), M, n_C)


def guided_distance(target: np.ndarray, gram: Tensor, M: Union[float, Tensor], n_C: int) -> Tensor:
    """J^l_r from a region's Gram_m and mass M: sum of (T - Gram_m / M)^2 over 4 nC^2."""
    difference = tf.constant(target, dtype=gram.dtype) - gram / M
    return tf.reduce_sum(tf.square(difference)) / (4.0 * n_C**2)


class Term(NamedTuple):
    """One region's cost at one layer: c^l_r J^l_r."""

    layer: str
    coefficient: float  # c^l_r
    target: np.ndarray  # T^l_r, float32 (nC, nC)
    mask: Optional[MaskNode]  # G's mask at the layer (nH, nW); None: everywhere
    styles: Tuple[int, ...]  # the styles of the region


def compute_guided_style_cost(model: Dict[str, Tensor], terms: Sequence[Term]) -> Tensor:
    """J_style = sum of c^l_r J^l_r over the terms (module doc)."""
    J_style = 0.0
    for term in terms:
        J_style += term.coefficient * compute_guided_layer_style_cost(term.target, model[term.layer], term.mask)
    return J_style


def style_terms(layer_sets: Sequence[Layers], weights: Sequence[float], regions: Sequence[object],
                g_masks: Sequence[Optional[Dict[str, MaskNode]]],
                grams: Sequence[Dict[str, Tuple[np.ndarray, float]]]) -> List[Term]:
    """The terms of J_style, a region per layer and distinct ``regions`` key among the styles that use it.

    For style k: its layers, blend weight, region key, G mask by layer (None: everywhere) and
    (Gram_s, M_S) by layer. A fixed mask whose mass is 0 at a layer (eroded away) adds no term there.
    """
    terms = []
    for layer in [name for name in LAYER_ORDER if any(name == n for s in layer_sets for n, _ in s)]:
        users = [k for k, s in enumerate(layer_sets) if layer in dict(s)]
        total_w = sum(weights[k] for k in users)
        by_region: Dict[object, List[int]] = {}
        for k in users:
            by_region.setdefault(regions[k], []).append(k)
        for members in by_region.values():
            mask = None if g_masks[members[0]] is None else g_masks[members[0]][layer]  # type: ignore[index]
            if isinstance(mask, np.ndarray) and mass(mask) == 0:
                continue
            coefficient, target = _blend(layer, members, layer_sets, weights, total_w, grams)
            terms.append(Term(layer, coefficient, target, mask, tuple(members)))
    return terms


def _blend(layer, members, layer_sets, weights, total_w, grams):
    """c^l_r and T^l_r of one region's styles."""
    a = [weights[k] * dict(layer_sets[k])[layer] for k in members]
    target = sum((a_k / sum(a)) * grams[k][layer][0].astype(np.float64) / grams[k][layer][1]
                 for a_k, k in zip(a, members))
    return sum(a) / total_w, np.asarray(target, np.float32)


def region_keys(guides: Sequence[StyleGuide]) -> List[object]:
    """Each style's region key: its ``region``, else its mask's bytes (None: everywhere)."""
    keys: List[object] = []
    for guide in guides:
        if guide.region is not None:
            keys.append(guide.region)
        elif is_everywhere(guide.mask):
            keys.append(None)
        else:
            mask = np.ascontiguousarray(guide.mask, np.float64)
            keys.append((mask.shape, mask.tobytes()))
    return keys


class FrameMasks:
    """G's masks of the styles whose mask changes per frame (a video's): a variable per layer, set per frame.

    The variables are kept out of the global variables (as nst.algorithm.temporal's), so a frame's reset of G
    and Adam's slots leaves them as set.
    """

    def __init__(self, sess, size: Sequence[int], layer_sets: Sequence[Layers], styles: Sequence[int],
                 mode: str) -> None:
        self.sess, self.size, self.mode = sess, tuple(size), mode
        self.variables: Dict[int, Dict[str, Tuple[Tensor, Tensor, Tensor]]] = {}
        for k in styles:
            self.variables[k] = {}
            for name, _ in layer_sets[k]:
                shape = layer_shape(size, name)
                variable = tf.Variable(tf.zeros(shape), trainable=False, collections=[], name=f"mask_{k}_{name}")
                value = tf.placeholder(tf.float32, shape, name=f"mask_{k}_{name}_value")
                self.variables[k][name] = (variable, value, variable.assign(value))

    def nodes(self, count: int) -> List[Optional[Dict[str, Tensor]]]:
        """Per style: {layer: mask variable}, or None for a style whose mask is fixed."""
        return [{n: v[0] for n, v in self.variables[k].items()} if k in self.variables else None
                for k in range(count)]

    def set(self, k: int, mask: np.ndarray) -> None:
        """Style k's G mask, at G's size, for the frame about to be optimised."""
        layers = self.variables[k]
        self.sess.run([v[2] for v in layers.values()],
                      {v[1]: layer_mask(mask, n, self.size, self.mode) for n, v in layers.items()})


def source_grams(sess, model: Dict[str, Tensor], style_image: np.ndarray, layer_names: Sequence[str],
                 pooling: str = "avg", index: int = 0, source_mask: Optional[np.ndarray] = None,
                 mode: str = "resize") -> Dict[str, Tuple[np.ndarray, float]]:
    """{layer: (Gram_s, M_S)} of one style image with its source mask (None: all of it)."""
    if source_mask is None:
        return {name: (gram, float(n)) for name, (gram, n) in
                style_grams(sess, model, style_image, layer_names, pooling, index).items()}
    image = tf.placeholder(tf.float32, style_image.shape, name=f"style_{index}")
    branch = apply_vgg(model, image, pooling, deepest(layer_names), scope=f"style_{index}")
    masks = {name: layer_mask(source_mask, name, style_image.shape[1:3], mode) for name in layer_names}
    grams = sess.run([guided_gram(branch[name], masks[name]) for name in layer_names], {image: style_image})
    return {name: (gram, mass(masks[name])) for name, gram in zip(layer_names, grams)}  # none empty: checked


def guided_terms(sess, model: Dict[str, Tensor], style_images: Sequence[np.ndarray], guides: Sequence[StyleGuide],
                 layers: Layers, pooling: str = "avg", blend: Optional[Sequence[float]] = None,
                 mode: str = "resize", grams_of: Callable[..., Dict[str, Tuple[np.ndarray, float]]] = source_grams
                 ) -> Tuple[List[Term], Optional[FrameMasks]]:
    """The terms of J_style for normalised style images with their guides (``layers``: the run's own), and the
    variables of the masks that change per frame (set to the guides' masks), or None. ``grams_of`` computes
    a style's (Gram_s, M_S) as :func:`source_grams` does (a tiled graph's sums them over tiles)."""
    weights = normalize_blend(blend, len(style_images))
    layer_sets = [guide.layers or tuple(layers) for guide in guides]
    size = model["input"].get_shape().as_list()[1:3]
    g_masks: List[Optional[Dict[str, MaskNode]]] = [
        None if is_everywhere(guide.mask) else {name: layer_mask(guide.mask, name, size, mode) for name, _ in s}
        for guide, s in zip(guides, layer_sets)]
    moving = [k for k, guide in enumerate(guides) if guide.per_frame]
    frame_masks = FrameMasks(sess, size, layer_sets, moving, mode) if moving else None
    if frame_masks:
        g_masks = [nodes or fixed for nodes, fixed in zip(frame_masks.nodes(len(guides)), g_masks)]
        for k in moving:
            frame_masks.set(k, guides[k].mask)
    grams = []
    for k, (image, guide, names) in enumerate(zip(style_images, guides, layer_sets)):
        source = None if is_everywhere(guide.source_mask) else guide.source_mask
        grams.append(grams_of(sess, model, image, [n for n, _ in names], pooling, k, source, mode))
    return style_terms(layer_sets, weights, region_keys(guides), g_masks, grams), frame_masks
