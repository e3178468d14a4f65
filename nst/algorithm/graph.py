"""The paper's steps 1-4 as code: session, targets, cost nodes, optimizer.

The content activations are computed once, by assigning C to the input
variable, and the style's Gram targets once, by a forward pass of each style
image at its own size through a second input of the same network
(``nst.styles``); both enter the cost graph as constants. The network itself
is built once and only as deep as the costs need. Every node the notebook
steps through is a field of :class:`StyleTransferGraph` and also named in the
TF graph (``J``, ``J_content``, ``J_style``, ``input``).
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm.costs import (
    ALPHA,
    BETA,
    CONTENT_LAYER,
    STYLE_LAYERS,
    TV_COSTS,
    compute_blended_content_cost,
    compute_style_cost,
    total_cost,
)
from nst.algorithm.guides import (
    MASK_MODES,
    FrameMasks,
    StyleGuide,
    compute_guided_style_cost,
    guided_terms,
    is_everywhere,
)
from nst.algorithm.styles import StyleImages, gram_targets
from nst.algorithm.tf1 import Operation, Optimizer, Session, Tensor, tf
from nst.algorithm.vgg import (
    VGGWeights,
    build_vgg,
    canonical_layers,
    deepest,
    precision_dtype,
)
from nst.errors import NSTError

if TYPE_CHECKING:  # imported where a video's graph is built
    from nst.algorithm.temporal import FrameInputs

LEARNING_RATE = 2.0  # Adam, as in the course


@dataclass(frozen=True)
class CostSettings:
    """What defines the objective and its optimizer; the defaults are the course's.

    Layer names are made canonical here ('relu4_2' -> 'conv4_2'), once, and
    checked against VGG-19.
    """

    content_layers: Tuple[Tuple[str, float], ...] = ((CONTENT_LAYER, 1.0),)  # eq. (1) at each layer, weighted
    style_layers: Tuple[Tuple[str, float], ...] = tuple(STYLE_LAYERS)  # (layer, lambda) of eq. (2)
    alpha: float = ALPHA
    beta: float = BETA
    learning_rate: float = LEARNING_RATE
    pooling: str = "avg"
    tv_weight: float = 0.0  # weight of J_tv in J; 0 leaves it out of the graph
    tv_form: str = "mean"  # which J_tv: a key of nst.algorithm.costs.TV_COSTS
    precision: str = "fp32"  # the network's dtype: "fp32", or "bf16" (the costs stay float32)
    mask_mode: str = "resize"  # how style masks reach each layer: a key of nst.algorithm.guides.MASK_MODES
    tile: Optional[str] = None  # how J is computed, not what: None untiled, "auto" or px (nst.algorithm.tiled)

    def __post_init__(self) -> None:
        if self.tv_form not in TV_COSTS:
            raise NSTError(f"{{option}}: unknown value {self.tv_form!r}: use one of {', '.join(TV_COSTS)}",
                           "tv_form")
        precision_dtype(self.precision)
        if self.mask_mode not in MASK_MODES:
            raise NSTError(f"{{option}}: unknown mode {self.mask_mode!r}: use one of {', '.join(MASK_MODES)}",
                           "mask_mode")
        for name in ("content_layers", "style_layers"):
            object.__setattr__(self, name, canonical_layers(getattr(self, name)))

    def deepest(self) -> str:
        """The deepest layer any cost reads: where the network can stop."""
        return deepest([name for name, _ in self.content_layers + self.style_layers])

    def deepest_with(self, guides: Optional[Sequence[StyleGuide]]) -> str:
        """The deepest layer, the styles' own layers included."""
        own = [name for guide in guides or () for name, _ in guide.layers or ()]
        return deepest([self.deepest(), *own])


def guided(guides: Optional[Sequence[StyleGuide]]) -> bool:
    """Whether any style has a mask that changes something, or layers of its own: the guided J_style."""
    return any(not (is_everywhere(g.mask) and is_everywhere(g.source_mask)) or g.layers or g.per_frame
               for g in guides or ())


def session_config() -> Any:
    """Threads as ``tf.config.threading`` sets them (0, the default: all cores; a batch worker sets its
    share); soft placement so GPU/CPU both work."""
    threads = tf.config.threading
    return tf.ConfigProto(allow_soft_placement=True,
                          intra_op_parallelism_threads=threads.get_intra_op_parallelism_threads(),
                          inter_op_parallelism_threads=threads.get_inter_op_parallelism_threads())


def new_session() -> Session:
    """Step 1: a fresh default graph and an InteractiveSession over it."""
    previous = tf.get_default_session()
    if previous is not None:
        previous.close()
    tf.reset_default_graph()
    return tf.InteractiveSession(config=session_config())


class StyleTransferGraph(NamedTuple):
    """The named nodes of one style-transfer problem, ready to run."""

    sess: Session
    model: Dict[str, Tensor]
    J_content: Tensor
    J_style: Tensor
    J: Tensor
    optimizer: Optimizer
    train_step: Operation
    assign_input: Callable[[np.ndarray], object]  # callable(image): sets the input variable without growing the graph
    J_tv: Optional[Tensor] = None  # only when settings.tv_weight is not 0
    reset: Optional[Operation] = None  # initialises Adam's slots and counters; G is then set by assign_input
    J_temporal: Optional[Tensor] = None  # a video's graph only (nst.algorithm.temporal)
    frame: Optional["FrameInputs"] = None  # a video's graph only: the FrameInputs set for each frame
    masks: Optional[FrameMasks] = None  # a video's graph with masks that change per frame: set for each frame

    def initialize(self, generated_image: np.ndarray) -> None:
        """Reset Adam's slots and put G into the input variable.

        The weights stay as loaded: initialising them again would hold a second copy of them
        for a moment, the peak memory of a whole run.
        """
        self.sess.run(self.reset)
        self.assign_input(generated_image)

    def image(self) -> np.ndarray:
        """The current G, (1, H, W, 3), normalised."""
        return self.sess.run(self.model["input"])

    def costs(self) -> Tuple[float, ...]:
        """(J, J_content, J_style) of the current G."""
        return tuple(float(v) for v in self.sess.run([self.J, self.J_content, self.J_style]))


def input_assigner(sess: Session, model: Dict[str, Tensor]) -> Callable[[np.ndarray], object]:
    """callable(image): sets G's input variable by feeding its one assign op (the graph does not grow)."""
    value = tf.placeholder(tf.float32, model["input"].shape, name="input_value")
    assign = model["input"].assign(value)
    return lambda image: sess.run(assign, {value: image})


def reset_op(optimizer: Optimizer) -> Operation:
    """One op that initialises Adam's slots and counters, all made after the graph last ran.

    Not G's variable: its initializer (``input/Assign``) was already in the graph when C's forward pass
    ran, and grouping it sets an attribute on it, which TF warns "will trigger an error in the future";
    G is assigned right after the reset anyway.
    """
    return tf.variables_initializer(optimizer.variables(), name="reset")


def _style_cost(sess, model, styles, settings, style_blend, guides):
    """(J_style, the per-frame masks or None): eq. (2) against the blended targets, or the guided form when the
    styles have controls."""
    if guided(guides):
        if len(guides) != len(styles):
            raise NSTError(f"{len(guides)} style guides for {len(styles)} style images")
        terms, frame_masks = guided_terms(sess, model, styles, guides, settings.style_layers, settings.pooling,
                                          style_blend, settings.mask_mode)
        return compute_guided_style_cost(model, terms), frame_masks
    names = [name for name, _ in settings.style_layers]
    grams = gram_targets(sess, model, styles, names, settings.pooling, style_blend)
    return compute_style_cost(model, settings.style_layers, style_grams=grams), None


def build_graph(sess: Session, weights: VGGWeights, content_image: np.ndarray,
                style_image: StyleImages, settings: Optional[CostSettings] = None,
                style_blend: Optional[Sequence[float]] = None, *, peer: bool = False,
                temporal_weight: Optional[float] = None,
                guides: Optional[Sequence[StyleGuide]] = None) -> StyleTransferGraph:
    """Steps 3-4: VGG-19 on the input, a_C and the Gram targets held fixed, J, Adam's train_step.

    ``content_image`` is a normalised (1, H, W, 3) array; ``style_image`` one
    such array or a list of them, of any size (see :mod:`nst.styles`), blended
    with the weights ``style_blend`` (default equal); ``weights`` comes from
    :func:`nst.algorithm.vgg.read_vgg_weights`. ``peer=True`` builds the same costs the
    way the best-known TF implementation does, for the benchmark: weights as
    constants, TF's default gradient gating. With a ``temporal_weight`` (a
    video, even 0) a_C is set per frame and J_temporal, times that weight, joins J. ``guides`` (one
    :class:`nst.algorithm.guides.StyleGuide` per style) give the styles masks and layers of their own;
    without them, or with masks of ones, J_style is the same graph as without.
    """
    settings = settings or CostSettings()
    content_layers = settings.content_layers
    _, height, width, _ = content_image.shape
    model = build_vgg(weights, height, width, settings.pooling, settings.deepest_with(guides), sess=sess,
                      constant_weights=peer, precision=settings.precision)
    assign_input = input_assigner(sess, model)

    assign_input(content_image)
    names = [name for name, _ in content_layers]
    a_C = dict(zip(names, sess.run([model[name] for name in names])))
    frame = None
    if temporal_weight is not None:
        from nst.algorithm.temporal import FrameInputs

        frame = FrameInputs(sess, model, a_C)
        a_C = frame.content_targets()
    J_content = tf.identity(compute_blended_content_cost(model, content_layers, a_C), name="J_content")

    styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
    J_style, masks = _style_cost(sess, model, styles, settings, style_blend, guides)
    J_style = tf.identity(J_style, name="J_style")

    J_tv = tf.identity(TV_COSTS[settings.tv_form](model["input"]), name="J_tv") if settings.tv_weight else None
    J = total_cost(J_content, J_style, settings.alpha, settings.beta, J_tv, settings.tv_weight)
    J_temporal = tf.identity(frame.cost(), name="J_temporal") if frame else None
    J = tf.identity(J + temporal_weight * J_temporal if temporal_weight else J, name="J")  # type: ignore[operator]
    optimizer = tf.train.AdamOptimizer(settings.learning_rate)
    # GATE_NONE: the default GATE_OP makes TF compute every gradient of each conv, the unused
    # filter gradients included (a third of a step); the gradient to the image is the same.
    gating = tf.train.Optimizer.GATE_OP if peer else tf.train.Optimizer.GATE_NONE
    train_step = optimizer.minimize(J, var_list=[model["input"]], gate_gradients=gating)
    reset = reset_op(optimizer)
    return StyleTransferGraph(sess, model, J_content, J_style, J, optimizer, train_step, assign_input, J_tv, reset,
                              J_temporal, frame, masks)
