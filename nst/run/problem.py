"""What a run optimises, read and checked once for every front-end: :func:`prepare` gives a :class:`Problem`.

``nst train``, ``nst video`` (with its first frame as the content), the web page and a
batch's jobs all prepare here, so each refuses the same inputs with the same words.
"""
import hashlib
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from nst.algorithm import colors, images, memory
from nst.algorithm.graph import CostSettings
from nst.algorithm.vgg import LAYER_ORDER, VGGWeights, read_vgg_weights, resolve_weights_path
from nst.errors import NSTError
from nst.algorithm.guides import StyleGuide
from nst.run.config import RunConfig
from nst.run.inputs import (
    Inputs,
    content_inputs,
    read_inputs,
    read_pictures,
    style_size,
    target_size,
)
from nst.run.masks import mask_arrays, mask_files, style_guides
from nst.run.outputs import prepare_output_dir


class Problem(NamedTuple):
    """What a run optimises, read and checked: the settings, the weights and the pictures."""

    config: RunConfig
    weights: VGGWeights
    inputs: Inputs
    C: np.ndarray  # normalised (1, H, W, 3)
    S: List[np.ndarray]  # normalised style images
    costs: CostSettings  # the objective's settings, derived once from config
    vgg_path: str  # the weights file read
    digests: Dict[str, List[str]]  # of the files read, by setting (file_digests)
    guides: Optional[List[StyleGuide]] = None  # the styles' masks and own layers; None: none has any
    tile: Optional[int] = None  # the tile (px) of G's step at its full size; None: untiled (nst.algorithm.tiled)

    def picture(self, image: np.ndarray) -> np.ndarray:
        """uint8 pixels of a normalised G as saved: mean added, clipped, colours as asked."""
        pixels = images.to_pixels(image, self.weights.mean_pixel)
        transform = colors.output_transform(self.inputs.original, self.config.preserve_colors)
        return np.rint(transform(pixels)).astype(np.uint8) if transform else pixels

    def with_content(self, picture: np.ndarray) -> "Problem":
        """The same problem for another content picture (a video's next frame), at the same size."""
        seen, original = content_inputs(picture, self.C.shape[1:3], self.config.preserve_colors)
        C = images.reshape_and_normalize_image(seen, self.weights.mean_pixel)
        return self._replace(inputs=self.inputs._replace(content=seen, original=original), C=C)

    def fingerprint(self) -> str:
        """A digest of what defines the costs: C, the styles, the start picture and the weights."""
        digest = hashlib.sha256(self.weights.digest().encode())
        arrays = [self.C, *self.S] + ([self.inputs.init] if self.inputs.init is not None else [])
        arrays += mask_arrays(self.guides)
        for array in arrays:
            _add_array(digest, array)
        return digest.hexdigest()

    def changed_files(self, digests: Dict[str, List[str]]) -> List[str]:
        """The files whose digest differs from the one in ``digests`` (an earlier run's file_digests)."""
        names = {"content": [self.inputs.content_name], "style": list(self.config.style),
                 "init": [str(self.config.init_image)], "vgg": [self.vgg_path],
                 "masks": mask_files(self.config)}
        changed: List[str] = []
        for setting, now in self.digests.items():
            was = digests.get(setting, []) + [""] * len(now)  # padded: a digest it lacks differs
            changed += [name for name, old, new in zip(names[setting], was, now) if old != new]
        return changed


def file_digests(pictures, weights: VGGWeights, guides=None) -> Dict[str, List[str]]:
    """A digest of each picture as read (and of the weights' arrays, the masks as used), by setting: a
    checkpoint keeps them, so that a resume refused for changed inputs names the files that changed."""
    content, styles, start, _ = pictures
    digests = {"content": [_array_digest(content)], "style": [_array_digest(s) for s in styles],
               "init": [] if start is None else [_array_digest(start)], "vgg": [weights.digest()]}
    if guides:
        digests["masks"] = [_array_digest(m) for m in mask_arrays(guides)]
    return digests


def _add_array(digest, array):
    array = np.ascontiguousarray(array)
    digest.update(str((array.dtype.str, array.shape)).encode())
    digest.update(array.tobytes())


def _array_digest(array) -> str:
    digest = hashlib.sha256()
    _add_array(digest, array)
    return digest.hexdigest()


def prepare(config: RunConfig, content: Optional[Tuple[np.ndarray, str]] = None, frame: Optional[int] = None
            ) -> Problem:
    """Every check before the graph: settings, images, weights, memory, output folder. A :class:`Problem`.

    ``content`` is (picture, name) to use instead of the configured content file: a video's first frame
    (``frame`` 0, where a folder of masks gives that frame's).
    Every front-end prepares here, so each refuses the same inputs with the same words.
    """
    config.validate()
    costs = config.costs()
    pictures = read_pictures(config, content)
    size = target_size(config, pictures[0].shape)
    scaled = style_size(size, config.style_scale)
    vgg_path = resolve_weights_path(config.vgg)
    weights = read_vgg_weights(vgg_path)
    deepest = max([costs.deepest()] + [n for layers in config.style_layer_sets for n, _ in layers],
                  key=LAYER_ORDER.index)
    tile = memory.plan_tile(weights, size, deepest, costs.content_layers, costs.tile)
    if tile is None:  # untiled: G's step and the styles' forward passes each at their whole size
        memory.check_fits(weights, size, costs.deepest(), option="size" if config.size else "max_side")
        try:
            memory.check_fits(weights, scaled, costs.deepest())
        except NSTError as exc:
            raise NSTError(f"{{option}}: {exc.message()}", "style_scale") from None
    inputs = read_inputs(config, pictures, size, scaled)
    guides = style_guides(config, pictures[0].shape, [s.shape for s in pictures[1]] or [scaled], size, scaled,
                          frame)
    for folder in (config.output, config.logdir):
        if folder:
            prepare_output_dir(folder)
    mean = weights.mean_pixel
    C = images.reshape_and_normalize_image(inputs.content, mean)
    S = [images.reshape_and_normalize_image(s, mean) for s in inputs.styles]
    return Problem(config, weights, inputs, C, S, costs, vgg_path, file_digests(pictures, weights, guides), guides,
                   tile)
