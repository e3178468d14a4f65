"""One run, one configuration: every setting of a style transfer, typed, normalised and checked once.

A :class:`RunConfig` is made from the command line (``nst.commands.train``) or from
Python (``RunConfig(content="photo.jpg", iterations=100)``). Making one
normalises it (paths absolute, layer names canonical, sequences as tuples);
:meth:`RunConfig.validate` checks every value before anything is read or
written. The graph, the loop and the files all take the same object, and the
checkpoint stores it as JSON, so ``--resume`` continues with exactly the
settings of the run it continues.
"""
import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from nst.algorithm import colors, lbfgs
from nst.algorithm.costs import ALPHA, BETA, CONTENT_LAYER, STYLE_LAYERS, TV_COSTS
from nst.algorithm.graph import LEARNING_RATE, CostSettings
from nst.algorithm.guides import MASK_MODES
from nst.algorithm.images import (
    DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_SIDE, MIN_SIDE, is_image_path, unwritable_extension)
from nst.algorithm.optimize import OPTIMIZERS
from nst.algorithm.styles import normalize_blend
from nst.algorithm.vgg import PRECISIONS, canonical_layers
from nst.errors import NSTError
from nst.run.inputs import GAUSSIAN_STD

INITS = ("mix", "content", "noise", "style", "gaussian", "image")  # G's start; "mix" is the paper's noise + C
POOLINGS = ("avg", "max")
TV_FORMS = tuple(TV_COSTS)
SEED_RANGE = (0, 2**32 - 1)  # what numpy's RandomState takes
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the graph's number format: a larger setting would become inf
GRAPH_NUMBERS = ("learning_rate", "alpha", "beta", "tv_weight", "init_std")  # settings the graph holds as float32
PATHS = ("content", "init_image", "output", "output_image", "logdir", "vgg")
RUN_FOLDER_SUFFIX = ".run"  # --output out.jpg: the image there, the run's other files in out.run/
MASKS = ("style_masks", "style_source_masks")
NO_MASK = "none"  # a mask setting's word for "everywhere": the style has no mask


def mask_path(value):
    """A mask setting's entry: an absolute path, or NO_MASK as it is."""
    return value if value == NO_MASK else os.path.abspath(value)


def _setting(default, effect):
    """A setting whose ``effect`` on the result is not "result": "input" (a file: its bytes count),
    "length" (iterations: a run may continue to more), "place" (where the run writes) or "none"."""
    return field(default=default, metadata={"effect": effect})


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run; the defaults are the course's (the faithful reproduction)."""

    content: Optional[str] = _setting(None, "input")  # content image C; None: matplotlib's Grace Hopper
    style: Tuple[str, ...] = _setting((), "input")  # style image(s) S; (): a procedurally painted swirl
    style_blend: Optional[Tuple[float, ...]] = None  # weights of several styles; None: equal
    style_scale: float = 1.0  # style images' size relative to G's
    # one per style: where over G it applies, and the part of it that is the source (nst.algorithm.guides);
    # a grey image (0..1 weights) or "none" (everywhere)
    style_masks: Tuple[str, ...] = _setting((), "input")
    style_source_masks: Tuple[str, ...] = _setting((), "input")
    mask_mode: str = "resize"  # how the masks reach each layer: "resize" (area average) or "eroded"
    preserve_colors: Optional[str] = None  # None, "luminance" or "histogram"
    # folder for the run's files (an image name: see output_image); None: nothing
    output: Optional[str] = _setting("output", "place")
    output_image: Optional[str] = _setting(None, "place")  # the final image, in its extension's format; files beside it
    iterations: int = _setting(200, "length")
    learning_rate: float = LEARNING_RATE
    alpha: float = ALPHA
    beta: float = BETA
    tv_weight: float = 0.0
    tv_form: str = "mean"  # J_tv's form: "mean" (the best-known TF implementation's) or "jcjohnson"
    init: str = "mix"  # one of INITS
    init_image: Optional[str] = _setting(None, "input")  # the picture G starts from when init is "image"
    noise_ratio: float = 0.6  # r of the "mix" start: G = noise * r + C * (1 - r)
    init_std: float = GAUSSIAN_STD  # std of the "gaussian" start: the mean pixel plus N(0, std^2)
    content_layers: Tuple[Tuple[str, float], ...] = ((CONTENT_LAYER, 1.0),)
    style_layers: Tuple[Tuple[str, float], ...] = tuple(STYLE_LAYERS)
    style_layer_weight_exp: Optional[float] = None  # lambda_i proportional to exp**i, summing to 1
    # one per style: its own (layer, lambda) pairs (scale control); (): every style on style_layers
    style_layer_sets: Tuple[Tuple[Tuple[str, float], ...], ...] = ()
    size: Optional[Tuple[int, int]] = None  # (height, width) of G, inputs cropped to it; None: see max_side
    max_side: Optional[int] = None  # longer side of G, the content's aspect kept; None: 400
    pooling: str = "avg"
    precision: str = "fp32"  # the network's dtype: fp32 (the paper's), bf16 (faster where the CPU has it), auto
    # J and its gradient computed tile by tile, the same values in bounded memory: None (untiled), "auto"
    # (tiles only where the untiled step would not fit free memory) or a tile's side in px, as text
    tile: Optional[str] = _setting(None, "none")
    optimizer: str = "adam"
    lbfgs_memory: int = lbfgs.MEMORY  # curvature pairs L-BFGS keeps
    line_search: str = lbfgs.LINE_SEARCHES[0]  # L-BFGS's: "wolfe" (as scipy's) or "fixed" (torch's unit steps)
    coarse_to_fine: int = 0  # iterations at half size first
    # (longer side in px, iterations) of smaller runs first, in order, each starting from the last one's G
    levels: Tuple[Tuple[int, int], ...] = ()
    seed: Optional[int] = None  # seed of the noise
    save_every: int = _setting(20, "none")
    logdir: Optional[str] = _setting(None, "none")  # TensorBoard logs
    # the VGG-19 .mat; None: $NST_VGG19, else pretrained-model/, else the cache (the weights count by their digest)
    vgg: Optional[str] = _setting(None, "none")
    quiet: bool = _setting(False, "none")
    overwrite: bool = _setting(False, "none")  # replace an earlier run in the output folder (its files removed)
    max_pixels: int = _setting(DEFAULT_MAX_PIXELS, "none")  # larger input images are refused from their header

    def __post_init__(self):
        if self.output and is_image_path(self.output):  # a file was named: its run folder goes beside it
            object.__setattr__(self, "output_image", self.output)
            object.__setattr__(self, "output", os.path.splitext(self.output)[0] + RUN_FOLDER_SUFFIX)
        for name in PATHS:
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, os.path.abspath(value))
        object.__setattr__(self, "style", tuple(os.path.abspath(p) for p in self.style))
        for name in MASKS:
            object.__setattr__(self, name, tuple(mask_path(p) for p in getattr(self, name)))
        for name in ("style_blend", "size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "levels", tuple(tuple(level) for level in self.levels))
        if isinstance(self.tile, int) and not isinstance(self.tile, bool):
            object.__setattr__(self, "tile", str(self.tile))
        for name in ("content_layers", "style_layers"):
            try:
                object.__setattr__(self, name, canonical_layers(getattr(self, name)))
            except NSTError as exc:
                raise NSTError(f"{{option}}: {exc}", name) from None
        try:
            object.__setattr__(self, "style_layer_sets", tuple(canonical_layers(s) for s in self.style_layer_sets))
        except NSTError as exc:
            raise NSTError(f"{{option}}: {exc}", "style_layer_sets") from None

    def replace(self, **changes):
        """A copy with some settings changed (and normalised)."""
        return dataclasses.replace(self, **changes)

    def without(self, settings):
        """A copy with ``settings`` at their defaults: what two configurations share, compared."""
        return self.replace(**{name: default(name) for name in settings})

    def costs(self):
        """The objective's settings, layer names made canonical (raises for an unknown layer)."""
        return CostSettings(self.content_layers, self.effective_style_layers(), self.alpha, self.beta,
                            self.learning_rate, self.pooling, self.tv_weight, self.tv_form, self.precision,
                            self.mask_mode, self.tile)

    def length(self):
        """What the run does, in words: '150 Adam steps', '1000 L-BFGS iterations' (after those at half size)."""
        optimizer = OPTIMIZERS[self.optimizer]
        steps = f"{self.iterations} {optimizer.label} {optimizer.unit}s"
        if self.levels:
            smaller = ", ".join(f"{n} at {side} px" for side, n in self.levels)
            return f"{smaller}, then {steps}"
        return f"{self.coarse_to_fine} at half size, then {steps}" if self.coarse_to_fine else steps

    def effective_style_layers(self):
        """The style layers with their lambda: as given, or proportional to exp**i if that is set."""
        exp, n = self.style_layer_weight_exp, len(self.style_layers)
        if exp is None:
            return self.style_layers
        top = n - 1 if exp > 1 else 0  # divide by the largest power first: no overflow for any exp
        raw = [exp ** (i - top) for i in range(n)]
        return tuple((name, w / sum(raw)) for (name, _), w in zip(self.style_layers, raw))

    def validate(self):
        """Check every setting; raise an NSTError naming the first bad one. Returns self.

        A configuration is checked once: the command line checks it as it parses, and the run's
        preparation, which checks what Python callers give it, then finds it already checked.
        """
        if not self.__dict__.get("_checked"):
            for check in (_check_counts, _check_weights, _check_choices, _check_layers, _check_sizes, _check_tile,
                          _check_start, _check_float32):
                check(self)
            object.__setattr__(self, "_checked", True)  # frozen, so it stays valid; replace() makes a new one
        return self

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        """The configuration ``to_dict`` gave; a key or value of the wrong kind raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"settings are a {type(data).__name__}, not a mapping")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]}")
        return cls(**{name: _typed(name, value) for name, value in data.items()})


def settings_of_effect(*effects):
    """The names of the settings whose effect on the result is one of ``effects`` (see ``_setting``)."""
    return tuple(f.name for f in dataclasses.fields(RunConfig) if f.metadata.get("effect", "result") in effects)


# What changes a result, from the fields' declarations: a resumed run may change only what changes no
# cost; a batch's fingerprint leaves out what changes nothing (and the paths, replaced by their bytes); a
# batch's job continues a checkpoint whose settings differ only in what changes nothing but the length.
RESUMABLE = settings_of_effect("length", "none")
UNFINGERPRINTED = settings_of_effect("input", "place", "none")
CONTINUABLE = settings_of_effect("place", "length", "none")


def default(setting):
    """A setting's default value, as declared (paths not yet made absolute)."""
    return RunConfig.__dataclass_fields__[setting].default


def _typed(name, value):
    """``value`` as the type of setting ``name`` declares, or ValueError."""
    kind = {f.name: f.type for f in dataclasses.fields(RunConfig)}[name]
    optional = type(None) in getattr(kind, "__args__", ())
    if value is None:
        if not optional:
            raise ValueError(f"{name} is missing")
        return None
    base = [a for a in kind.__args__ if a is not type(None)][0] if optional else kind
    if getattr(base, "__origin__", base) is not tuple:
        return _scalar(name, value, base)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} holds {value!r}, not a list")
    if name.endswith("_layers"):
        return _typed_layers(name, value)
    if name == "style_layer_sets":
        return tuple(_typed_layers(name, _listed(name, s)) for s in value)
    if name == "levels":
        return tuple((_scalar(name, side, int), _scalar(name, n, int)) for side, n in map(_pair(name), value))
    item = base.__args__[0]
    return tuple(_scalar(name, v, item) for v in value)


def _listed(name, value):
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} holds {value!r}, not a list")
    return value


def _typed_layers(name, value):
    return tuple((_scalar(name, n, str), _scalar(name, w, float)) for n, w in map(_pair(name), value))


def _pair(name):
    what = "(side, iterations)" if name == "levels" else "(layer, weight)"

    def pair(value):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"{name} holds {value!r}, not a {what} pair")
        return value
    return pair


def _scalar(name, value, kind):
    """JSON's value as ``kind``: ints stay ints, numbers become floats, nothing else converts."""
    ok = {bool: isinstance(value, bool), str: isinstance(value, str),
          int: isinstance(value, int) and not isinstance(value, bool),
          float: isinstance(value, (int, float)) and not isinstance(value, bool)}[kind]
    if not ok:
        raise ValueError(f"{name} holds {value!r}, not {'an' if kind is int else 'a'} {kind.__name__}")
    return kind(value)


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def _check_counts(c):
    if c.output == "":
        raise NSTError("{option} is empty: name a folder or an image file (None writes nothing)", "output")
    if c.output_image and not c.output:
        raise NSTError("{option}: a final image needs a run folder beside it", "output")
    if c.output and not c.output_image and unwritable_extension(c.output):
        raise NSTError(f"{{option}} {c.output}: a result is saved as {', '.join(IMAGE_EXTENSIONS)}, not "
                       f"{unwritable_extension(c.output)}; name one of those, or a folder", "output")
    for name in ("iterations", "save_every"):
        if not getattr(c, name) >= 1:
            raise NSTError(f"{{option}} must be positive, got {getattr(c, name)}", name)
    if not c.coarse_to_fine >= 0:
        raise NSTError(f"{{option}} must be zero or positive, got {c.coarse_to_fine}", "coarse_to_fine")
    if not c.lbfgs_memory >= 1:
        raise NSTError(f"{{option}} must be positive, got {c.lbfgs_memory}", "lbfgs_memory")
    _check_levels(c.levels, c.coarse_to_fine)
    if not c.max_pixels >= 1:
        raise NSTError(f"{{option}} must be positive, got {c.max_pixels}", "max_pixels")
    if c.seed is not None and not SEED_RANGE[0] <= c.seed <= SEED_RANGE[1]:
        raise NSTError(f"{{option}} must be between 0 and 2**32 - 1, got {c.seed}", "seed")


def _check_levels(levels, coarse_to_fine):
    """Smaller runs first: longer sides growing from MIN_SIDE, each at least one iteration; not with
    coarse_to_fine, which is one such level at half size."""
    if levels and coarse_to_fine:
        raise NSTError("{option}: give the smaller runs as levels or as one half-size stage, not both",
                       ("levels", "coarse_to_fine"))
    sides = [side for side, _ in levels]
    if any(side < MIN_SIDE for side in sides) or sides != sorted(set(sides)):
        raise NSTError(f"{{option}}: the longer sides must grow, each at least {MIN_SIDE} px, got "
                       f"{', '.join(map(str, sides))}", "levels")
    if any(n < 1 for _, n in levels):
        raise NSTError("{option}: each level needs at least one iteration", "levels")


def _check_weights(c):
    for name in ("learning_rate", "style_scale"):
        value = getattr(c, name)
        if not (_finite(value) and value > 0):
            raise NSTError(f"{{option}} must be positive, got {value}", name)
    for name in ("alpha", "beta", "tv_weight"):
        value = getattr(c, name)
        if not (_finite(value) and value >= 0):
            raise NSTError(f"{{option}} must be zero or positive, got {value}", name)
    exp = c.style_layer_weight_exp
    if exp is not None and not (_finite(exp) and exp > 0):
        raise NSTError(f"{{option}} must be positive, got {exp}", "style_layer_weight_exp")
    normalize_blend(c.style_blend, max(1, len(c.style)))  # the graph's own check: count, signs, sum
    styles = max(1, len(c.style))
    for name, what, option in (("style_masks", "masks", "style_masks"),
                               ("style_source_masks", "masks", "style_source_masks"),
                               ("style_layer_sets", "layer sets", "style_layers")):
        given = len(getattr(c, name))
        if given and given != styles:
            raise NSTError(f"{{option}}: {given} {what} for {styles} style image{'s' * (styles > 1)}: give one for "
                           f"each{' (none for a style without one)' * (what == 'masks')}", option)


def _check_shares(name, weights):
    """Weights that are scaled to sum 1: each finite and >= 0, their sum finite and > 0."""
    weights = list(weights)
    if not all(_finite(w) and w >= 0 for w in weights) or not (_finite(sum(weights)) and sum(weights) > 0):
        raise NSTError(f"{{option}}: weights must be zero or positive with a positive, finite sum, "
                       f"got {', '.join(f'{w:g}' for w in weights)}", name)


def _check_choices(c):
    for name, allowed in (("pooling", POOLINGS), ("precision", PRECISIONS), ("optimizer", OPTIMIZERS),
                          ("mask_mode", MASK_MODES),
                          ("line_search", lbfgs.LINE_SEARCHES),
                          ("init", INITS), ("tv_form", TV_FORMS), ("preserve_colors", (None,) + colors.MODES)):
        if getattr(c, name) not in allowed:
            shown = ", ".join(str(a) for a in allowed if a is not None)
            raise NSTError(f"{{option}}: unknown value {getattr(c, name)!r}: use one of {shown}", name)


def _check_layers(c):
    for name in ("content_layers", "style_layers"):
        pairs = getattr(c, name)
        if not pairs:
            raise NSTError("{option} is empty", name)
        _check_shares(name, [w for _, w in pairs])
    for pairs in c.style_layer_sets:
        if not pairs:
            raise NSTError("{option}: a style's layers are empty", "style_layers")
        _check_shares("style_layers", [w for _, w in pairs])


def _check_tile(c):
    if c.tile is not None and c.tile != "auto" and not (c.tile.isdigit() and int(c.tile) > 0):
        raise NSTError(f"{{option}}: {c.tile!r} is not auto or a tile's side in px, e.g. 512", "tile")


def _check_sizes(c):
    if c.size is not None and min(c.size) < MIN_SIDE:
        raise NSTError(f"{{option}} {c.size[0]}x{c.size[1]} is too small: each side must be at least "
                       f"{MIN_SIDE} px", "size")
    if c.size is not None and c.max_side is not None:
        raise NSTError("{option}: give the size of G or its longer side, not both", ("size", "max_side"))
    if c.max_side is not None and c.max_side < MIN_SIDE:
        raise NSTError(f"{{option}} must be at least {MIN_SIDE}, got {c.max_side}", "max_side")
    for name, value in (("size", max(c.size or (0,))), ("max_side", c.max_side or 0)):
        if value > MAX_SIDE:
            raise NSTError(f"{{option}}: {value} px is over {MAX_SIDE} px", name)


def _check_float32(c):
    for name in GRAPH_NUMBERS:
        if getattr(c, name) > FLOAT32_MAX:
            raise NSTError(f"{{option}} {getattr(c, name):g} is over {FLOAT32_MAX:.4g}, the largest number of the "
                           "graph's float32", name)


def _check_start(c):
    if not (_finite(c.noise_ratio) and 0.0 <= c.noise_ratio <= 1.0):
        raise NSTError(f"{{option}} must be between 0 and 1, got {c.noise_ratio}", "noise_ratio")
    if c.init != "mix" and c.noise_ratio != default("noise_ratio"):
        raise NSTError(f"{{option}} applies to the default start (noise + content) only, not to {c.init}",
                       "noise_ratio")
    if not (_finite(c.init_std) and c.init_std > 0):
        raise NSTError(f"{{option}} must be positive, got {c.init_std}", "init_std")
    if c.init != "gaussian" and c.init_std != default("init_std"):
        raise NSTError(f"{{option}} applies to the start 'gaussian' only, not to {c.init}", "init_std")
    if (c.init == "image") != bool(c.init_image):
        raise NSTError("{option}: an image to start from goes with the start 'image', and only with it",
                       ("init", "init_image"))
