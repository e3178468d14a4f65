"""J and its gradient summed over tiles: the untiled graph's values, in the memory of one tile.

Every cost of the paper is a sum over positions (nst.algorithm.tiles has the geometry). A step is two
passes over the tiles:

1. forward only: each tile's core adds its outer products to each style term's Gram matrix
   (``Gram = sum_p f_p f_p^T``), so the sums are the whole picture's Grams; J_style and
   W = beta dJ_style/dGram follow from them, as the untiled graph computes them;
2. forward and backward: each tile's share of J, ``alpha J_content`` and ``tv_weight J_tv`` over its own
   positions plus ``sum <W, Gram_core>``, is differentiated with respect to its crop, and the crops'
   gradients are added into the picture's. The last term has the gradient of beta J_style with respect
   to the core's features, because dJ_style/dF_p depends on the other positions only through the Gram.

G, Adam's slots and the step are the untiled graph's (the same variables, so a checkpoint moves between
both); only the gradient is fed. The content targets are computed once (a video's once per frame), tile
by tile; the styles' Grams too, at each style's own size. A video's J_temporal is a sum over pixels, so
each core adds its own; masks that change per frame are not tiled.
"""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm import memory, tiles
from nst.algorithm.costs import content_distance, gram_distance, gram_op
from nst.algorithm.graph import (
    CostSettings, build_graph, guided, input_assigner, reset_op)
from nst.algorithm.guides import (
    StyleGuide, guided_distance, guided_terms, layer_mask, layer_shape, mass)
from nst.algorithm.styles import StyleImages, gram_targets
from nst.algorithm.tf1 import Session, Tensor, tf
from nst.algorithm.vgg import VGGWeights, apply_vgg, build_vgg
from nst.errors import NSTError

Progress = Callable[[str, int, int], None]  # (pass, tiles done, tiles in all), after each tile


class GramNode(NamedTuple):
    """A Gram matrix of a tile's core features at one layer, weighted by a mask when it has one."""

    layer: str
    gram: Tensor
    mask: Optional[Tensor]  # placeholder: the mask's values at the core's positions, flattened


class StyleTerm(NamedTuple):
    """One term of J_style: c^l times eq. (2) (or its guided form) against a fixed target."""

    layer: str
    coefficient: float
    target: np.ndarray
    mask: Optional[np.ndarray]  # G's mask at the layer, (nH, nW); None: everywhere
    guided: bool  # the 2017 form, (T - Gram_m / M)^2 / (4 nC^2), else eq. (2) against a Gram target


class TileNetwork:
    """VGG-19 on one crop of any size, with the core's features and Gram matrices at each layer."""

    def __init__(self, sess: Session, model: Dict[str, Tensor], pooling: str, up_to: str) -> None:
        self.sess = sess
        self.crop = tf.placeholder(tf.float32, [1, None, None, 3], name="tile")
        self.layers = apply_vgg(model, self.crop, pooling, up_to, scope="tile")
        self.boxes: Dict[str, Tensor] = {}
        self._cores: Dict[str, Tensor] = {}
        self._grams: Dict[Tuple[str, bool], GramNode] = {}

    def core(self, layer: str) -> Tensor:
        """The features of the core's positions at ``layer``, (1, h, w, nC)."""
        if layer not in self._cores:
            box = self.boxes[layer] = tf.placeholder(tf.int32, [4], name=f"box_{layer}")
            core = tf.slice(self.layers[layer], tf.stack([0, box[0], box[1], 0]), tf.stack([1, box[2], box[3], -1]))
            core.set_shape([1, None, None, self.layers[layer].get_shape().as_list()[-1]])
            self._cores[layer] = core
        return self._cores[layer]

    def gram(self, layer: str, masked: bool, shared: bool = True) -> GramNode:
        """The core's Gram_m at ``layer`` (``shared``: one node per layer and kind, else a new one)."""
        key = (layer, masked)
        if shared and key in self._grams:
            return self._grams[key]
        features = self.core(layer)
        F = tf.reshape(features, [-1, features.get_shape().as_list()[-1]])
        mask = tf.placeholder(tf.float32, [None], name=f"mask_{layer}") if masked else None
        node = GramNode(layer, gram_op()(F if mask is None else F * mask[:, None]), mask)
        if shared:
            self._grams[key] = node
        return node

    def feed(self, picture: np.ndarray, tile: tiles.Tile, masks: Sequence[Tuple[GramNode, np.ndarray]] = ()
             ) -> Dict[Tensor, np.ndarray]:
        """What one tile's run reads: its crop of ``picture``, the core's box at each layer, the masks' values."""
        top, left, height, width = tile.crop
        feed = {self.crop: picture[:, top:top + height, left:left + width]}
        feed.update({box: tile.layer_box(layer) for layer, box in self.boxes.items()})
        for node, mask in masks:
            r, c, h, w = tile.positions(node.layer)
            feed[node.mask] = mask[r:r + h, c:c + w].ravel()
        return feed

    def gram_sums(self, picture: np.ndarray, grid: Sequence[tiles.Tile],
                  nodes: Sequence[Tuple[GramNode, Optional[np.ndarray]]],
                  progress: Optional[Progress] = None, label: str = "grams") -> List[np.ndarray]:
        """Each node's Gram of the whole ``picture``: the cores' Grams added up in float64 (pass 1)."""
        sums = [np.zeros(node.gram.get_shape().as_list(), np.float64) for node, _ in nodes]
        masked = [(node, mask) for node, mask in nodes if node.mask is not None]
        for done, tile in enumerate(grid, 1):
            for total, gram in zip(sums, self.sess.run([n.gram for n, _ in nodes], self.feed(picture, tile, masked))):
                total += gram
            if progress:
                progress(label, done, len(grid))
        return sums


def tile_tv(crop: Tensor, box: Tensor, form: str, size: Sequence[int]) -> Tensor:
    """A tile's share of J_tv (nst.algorithm.costs.TV_COSTS): the neighbour differences its core owns.

    ``box`` is (top, left, height, width, below, right) of the core in the crop (``Tile.pixel_box``); a
    core owns the differences from each of its pixels to the next row and column, those across its lower
    and right edges included where the picture goes on (``below``, ``right``).
    """
    height, width = size
    top, left, h, w, below, right = (box[i] for i in range(6))
    ext = crop[:, top:top + h + below, left:left + w + right, :]
    if form == "mean":  # the sums of compute_tv_cost's means, over the whole picture's counts
        dy, dx = ext[:, 1:, :w] - ext[:, :-1, :w], ext[:, :h, 1:] - ext[:, :h, :-1]
        return tf.reduce_sum(tf.square(dy)) / float((height - 1) * width * 3) + \
            tf.reduce_sum(tf.square(dx)) / float(height * (width - 1) * 3)
    rows, columns = h + below - 1, w + right - 1  # compute_tv_cost_jcjohnson's top-left block
    corner = ext[:, :rows, :columns]
    x_diff, y_diff = corner - ext[:, :rows, 1:columns + 1], corner - ext[:, 1:rows + 1, :columns]
    return 0.5 * (tf.reduce_sum(tf.square(x_diff)) + tf.reduce_sum(tf.square(y_diff)))


class TiledGraph:
    """The costs of :func:`nst.algorithm.graph.build_graph`, their values and G's gradient computed tile by
    tile; the optimizers (nst.algorithm.optimize) call :meth:`update`, :meth:`evaluate` and
    :meth:`value_and_gradient` where they run the untiled graph's nodes."""

    J, J_content, J_style = "J", "J_content", "J_style"  # what a step records, by name
    masks = None  # masks that change per frame are not tiled

    def __init__(self, sess: Session, weights: VGGWeights, content_image: np.ndarray, style_image: StyleImages,
                 settings: CostSettings, tile: int, style_blend: Optional[Sequence[float]] = None,
                 guides: Optional[Sequence[StyleGuide]] = None, margin: Optional[int] = None,
                 progress: Optional[Progress] = None, temporal_weight: Optional[float] = None) -> None:
        self.sess, self.settings, self.progress = sess, settings, progress
        self.temporal_weight = temporal_weight
        self.size = tuple(content_image.shape[1:3])
        up_to = settings.deepest_with(guides)
        self.tile, self.margin = tiles.aligned(tile, up_to), tiles.halo(up_to) if margin is None else margin
        self.grid = tiles.grid(self.size, self.tile, self.margin)
        self.J_tv = "J_tv" if settings.tv_weight else None
        self.J_temporal = "J_temporal" if temporal_weight is not None else None
        self.frame = TiledFrame(self) if temporal_weight is not None else None
        # G's variable and the full network's shapes; the full network itself never runs
        self.model = build_vgg(weights, *self.size, settings.pooling, up_to, sess=sess, precision=settings.precision)
        self.assign_input = input_assigner(sess, self.model)
        self.net = TileNetwork(sess, self.model, settings.pooling, up_to)
        styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
        self.terms = self._style_terms(styles, style_blend, guides)
        self.gram_nodes = [(self.net.gram(t.layer, t.mask is not None, shared=False), t.mask) for t in self.terms]
        self._global_style_cost()
        self._tile_objective()
        self.a_C = self.content_targets(content_image)
        self.optimizer = tf.train.AdamOptimizer(settings.learning_rate)
        self.gradient_value = tf.placeholder(tf.float32, self.model["input"].shape, name="gradient_value")
        self.train_step = self.optimizer.apply_gradients([(self.gradient_value, self.model["input"])])
        self.reset = reset_op(self.optimizer)

    # -- set-up --------------------------------------------------------------------------------------

    def _style_terms(self, styles, style_blend, guides) -> List[StyleTerm]:
        """J_style's terms, with the styles' Grams summed over their own tiles."""
        s = self.settings
        if guided(guides):
            if any(g.per_frame for g in guides):
                raise NSTError("{option}: masks that change per frame (a video's) are not tiled", "tile")
            if len(guides) != len(styles):
                raise NSTError(f"{len(guides)} style guides for {len(styles)} style images")
            terms, _ = guided_terms(self.sess, self.model, styles, guides, s.style_layers, s.pooling, style_blend,
                                    s.mask_mode, grams_of=self._source_grams)
            return [StyleTerm(t.layer, t.coefficient, t.target, t.mask, True) for t in terms]
        names = [name for name, _ in s.style_layers]
        targets = gram_targets(self.sess, self.model, styles, names, s.pooling, style_blend, grams_of=self._style_grams)
        return [StyleTerm(name, coefficient, targets[name], None, False) for name, coefficient in s.style_layers]

    def _style_grams(self, sess, model, image, names, pooling, index=0):
        """As nst.algorithm.styles.style_grams: {layer: (Gram_S, nH nW)}, summed over the style's tiles."""
        grid = tiles.grid(image.shape[1:3], self.tile, self.margin)
        sums = self.net.gram_sums(image, grid, [(self.net.gram(n, False), None) for n in names], self.progress,
                                  f"style {index + 1}")
        return {n: (g, int(np.prod(layer_shape(image.shape[1:3], n)))) for n, g in zip(names, sums)}

    def _source_grams(self, sess, model, image, names, pooling, index=0, source_mask=None, mode="resize"):
        """As nst.algorithm.guides.source_grams: {layer: (Gram_s, M_S)}, summed over the style's tiles."""
        if source_mask is None:
            return {n: (g, float(count)) for n, (g, count) in self._style_grams(sess, model, image, names,
                                                                                  pooling, index).items()}
        size = image.shape[1:3]
        masks = [layer_mask(source_mask, n, size, mode) for n in names]
        sums = self.net.gram_sums(image, tiles.grid(size, self.tile, self.margin),
                                  [(self.net.gram(n, True), m) for n, m in zip(names, masks)], self.progress,
                                  f"style {index + 1}")
        return {n: (g, mass(m)) for n, g, m in zip(names, sums, masks)}

    def _global_style_cost(self) -> None:
        """J_style from the summed Grams, as the untiled graph computes it, and W = beta dJ_style/dGram."""
        self.gram_sum_values = [tf.placeholder(tf.float32, node.gram.shape, name=f"gram_sum_{k}")
                                for k, (node, _) in enumerate(self.gram_nodes)]
        J_style = 0.0
        for term, gram in zip(self.terms, self.gram_sum_values):
            n_C = term.target.shape[0]
            positions = int(np.prod(layer_shape(self.size, term.layer)))
            if term.guided:
                M = float(positions) if term.mask is None else mass(term.mask)
                J_style += term.coefficient * guided_distance(term.target, gram, M, n_C)
            else:
                J_style += term.coefficient * gram_distance(tf.constant(term.target), gram, positions, n_C)
        self.J_style_value = tf.convert_to_tensor(J_style)
        self.style_weights = tf.gradients(self.settings.beta * self.J_style_value, self.gram_sum_values)

    def _tile_objective(self) -> None:
        """One tile's share of J (module doc), its content and TV shares, and its gradient to the crop."""
        s, net = self.settings, self.net
        self.W = [tf.placeholder(tf.float32, node.gram.shape, name=f"W_{k}") for k, (node, _) in
                  enumerate(self.gram_nodes)]
        self.a_C_values = {}
        J_content = 0.0
        for name, coefficient in s.content_layers:
            core = net.core(name)
            value = self.a_C_values[name] = tf.placeholder(tf.float32, core.shape, name=f"a_C_{name}")
            positions = int(np.prod(layer_shape(self.size, name)))
            J_content += coefficient * content_distance(value, core, positions, core.get_shape().as_list()[-1])
        self.J_content_share = tf.convert_to_tensor(J_content)
        share = s.alpha * self.J_content_share
        for W, (node, _) in zip(self.W, self.gram_nodes):
            share += tf.reduce_sum(W * node.gram)
        self.tv_box = tf.placeholder(tf.int32, [6], name="tv_box")
        self.J_tv_share = tile_tv(net.crop, self.tv_box, s.tv_form, self.size) if s.tv_weight else None
        if self.J_tv_share is not None:
            share += s.tv_weight * self.J_tv_share
        self.J_temporal_share = self._temporal_share() if self.J_temporal else None
        if self.temporal_weight:
            share += self.temporal_weight * self.J_temporal_share
        self.crop_gradient = tf.gradients(share, net.crop)[0]

    def _temporal_share(self) -> Tensor:
        """A tile's share of J_temporal (nst.algorithm.temporal): its core's pixels, over the picture's count."""
        top, left, h, w = (self.tv_box[i] for i in range(4))
        x = self.net.crop[:, top:top + h, left:left + w, :]
        self.warped = tf.placeholder(tf.float32, [1, None, None, 3], name="warped_core")
        self.reliability = tf.placeholder(tf.float32, [1, None, None, 1], name="reliability_core")
        return tf.reduce_sum(self.reliability * tf.square(x - self.warped)) / float(self.size[0] * self.size[1] * 3)

    def content_targets(self, content_image: np.ndarray) -> List[Dict[Tensor, np.ndarray]]:
        """a_C at each tile's core, computed once: the feed of each tile's content placeholders."""
        cores = [self.net.core(name) for name, _ in self.settings.content_layers]
        targets = []
        for done, tile in enumerate(self.grid, 1):
            values = self.sess.run(cores, self.net.feed(content_image, tile))
            targets.append(dict(zip(self.a_C_values.values(), values)))
            if self.progress:
                self.progress("content", done, len(self.grid))
        return targets

    # -- what the optimizers call ---------------------------------------------------------------------

    def value_and_gradient(self, image: np.ndarray) -> Tuple[List[float], np.ndarray]:
        """([J, J_content, J_style (, J_tv)], dJ/dG) at ``image`` (1, H, W, 3): both passes over the tiles."""
        sums = self.net.gram_sums(image, self.grid, self.gram_nodes, self.progress)
        J_style, *W = self.sess.run([self.J_style_value] + self.style_weights,
                                    dict(zip(self.gram_sum_values, (g.astype(np.float32) for g in sums))))
        gradient = np.zeros(image.shape, np.float32)
        J_content, extra = 0.0, [0.0, 0.0]
        optional = [node for node in (self.J_tv_share, self.J_temporal_share) if node is not None]
        fetches = [self.J_content_share, self.crop_gradient] + optional
        masked = [(node, mask) for node, mask in self.gram_nodes if node.mask is not None]
        for done, (tile, a_C) in enumerate(zip(self.grid, self.a_C), 1):
            feed = self.net.feed(image, tile, masked)
            feed.update(a_C)
            feed.update(zip(self.W, W))
            feed[self.tv_box] = tile.pixel_box(self.size)
            if self.frame is not None:
                feed.update(self.frame.feed(tile))
            content, crop_gradient, *shares = self.sess.run(fetches, feed)
            top, left, height, width = tile.crop
            gradient[:, top:top + height, left:left + width] += crop_gradient
            J_content, extra = J_content + float(content), [a + float(b) for a, b in zip(extra, shares)]
            if self.progress:
                self.progress("gradients", done, len(self.grid))
        s, optional = self.settings, extra[:len(optional)]
        J_tv = optional[0] if self.J_tv else 0.0
        J = s.alpha * J_content + s.beta * float(J_style) + s.tv_weight * J_tv
        if self.temporal_weight:
            J += self.temporal_weight * optional[-1]
        return [J, J_content, float(J_style)] + optional, gradient

    def update(self) -> Tuple[np.ndarray, List[float]]:
        """One Adam step: (G as the step read it, its costs); the variable then holds the next G."""
        before = self.image()
        costs, gradient = self.value_and_gradient(before)
        self.sess.run(self.train_step, {self.gradient_value: gradient})
        return before, costs

    def evaluate(self) -> Tuple[List[float], np.ndarray]:
        """(costs, G) of the G in the input variable, without a step."""
        image = self.image()
        return self.value_and_gradient(image)[0], image

    def initialize(self, generated_image: np.ndarray) -> None:
        """Reset Adam's slots and put G into the input variable (as StyleTransferGraph.initialize)."""
        self.sess.run(self.reset)
        self.assign_input(generated_image)

    def image(self) -> np.ndarray:
        return self.sess.run(self.model["input"])

    def costs(self) -> Tuple[float, ...]:
        """(J, J_content, J_style) of the current G."""
        return tuple(self.evaluate()[0][:3])


class TiledFrame:
    """A video's per-frame inputs for a tiled graph (as nst.algorithm.temporal.FrameInputs): a_C of the
    frame, tile by tile, and the warped last frame w with its reliability c, sliced to each core."""

    def __init__(self, graph: TiledGraph) -> None:
        self.graph = graph
        self.warped = self.weights = np.zeros((1, *graph.size, 1), np.float32)

    def set(self, assign_input: Callable[[np.ndarray], object], content: np.ndarray,
            warped: Optional[np.ndarray] = None, weights: Optional[np.ndarray] = None) -> None:
        """Make the graph this frame's; without ``warped`` (the first frame) c is 0. G is left holding C."""
        graph, shape = self.graph, (1, *self.graph.size)
        graph.a_C = graph.content_targets(content)
        self.warped = np.zeros(shape + (3,), np.float32) if warped is None else np.asarray(warped, np.float32)
        self.weights = np.zeros(shape + (1,), np.float32) if weights is None else \
            np.reshape(weights, shape + (1,)).astype(np.float32)
        assign_input(content)

    def feed(self, tile: tiles.Tile) -> Dict[Tensor, np.ndarray]:
        top, left, height, width = tile.core
        core = (slice(None), slice(top, top + height), slice(left, left + width))
        return {self.graph.warped: self.warped[core], self.graph.reliability: self.weights[core]}


def make_graph(sess: Session, weights: VGGWeights, content_image: np.ndarray, style_image: StyleImages,
               settings: Optional[CostSettings] = None, style_blend: Optional[Sequence[float]] = None,
               guides: Optional[Sequence[StyleGuide]] = None, progress: Optional[Progress] = None,
               temporal_weight: Optional[float] = None, planned: Optional[Tuple[Optional[int]]] = None):
    """The untiled graph, or a :class:`TiledGraph` where ``settings.tile`` asks for one at this size.

    ``planned`` is (the tile or None,) as :func:`nst.algorithm.memory.plan_tile` gave it before the run
    began: free memory read now would miss what this process freed but still holds (the levels before).
    """
    settings = settings or CostSettings()
    tile = planned[0] if planned is not None else memory.plan_tile(
        weights, content_image.shape[1:3], settings.deepest_with(guides), settings.content_layers, settings.tile)
    if tile is None:
        return build_graph(sess, weights, content_image, style_image, settings, style_blend, guides=guides,
                           temporal_weight=temporal_weight)
    return TiledGraph(sess, weights, content_image, style_image, settings, tile, style_blend, guides,
                      progress=progress, temporal_weight=temporal_weight)

