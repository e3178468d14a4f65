"""Where the tiles of a big picture go: cores that cover it, halos that cover their receptive field.

Every cost of the paper is a sum over positions, so each tile owns a *core* of the picture and computes
its positions' share exactly, from a *crop* that is the core plus a halo on each side (clipped at the
picture's true borders, where VGG-19's own zero padding applies, as it does untiled). The halo must hold
everything a feature of the core sees: at the deepest layer used, a position at stride s sees its own s
pixels and ``extent = (size - s) / 2`` more on each side (70 px at conv5_1, whose field is 156 px at
stride 16). Core and crop edges fall on that stride, so every pooling cuts the crop where it cuts the
picture; the halo is the extent rounded up to the stride (80 px at conv5_1). One stride less leaves
the features at a core's edge reading the crop's zero padding: ``tests/test_tiled.py`` shows that this
changes J.
"""
import math
from typing import List, NamedTuple, Sequence, Tuple

from nst.algorithm.vgg import receptive_field

Box = Tuple[int, int, int, int]  # (top, left, height, width)


def stride(layer: str) -> int:
    """Pixels between two positions of ``layer``: the alignment of every tile edge."""
    return receptive_field(layer)[1]


def halo(layer: str) -> int:
    """Pixels of context each side of a core, for features up to ``layer`` computed exactly (module doc)."""
    size, step = receptive_field(layer)
    return math.ceil((size - step) / 2 / step) * step


class Tile(NamedTuple):
    """One tile: its core (the positions it owns) and its crop (what it computes them from), in pixels."""

    core: Box
    crop: Box

    def positions(self, layer: str) -> Box:
        """The core's positions at ``layer``, in the picture's positions there.

        Each 'SAME' pooling rounds a length up, ceil(ceil(n / 2) / 2) = ceil(n / 4), so the picture's
        last position at stride s is ceil(bottom / s) - 1 whether its edge is a core's or the picture's.
        """
        s = stride(layer)
        top, left, height, width = self.core
        return (top // s, left // s, math.ceil((top + height) / s) - top // s,
                math.ceil((left + width) / s) - left // s)

    def layer_box(self, layer: str) -> Box:
        """The core's positions at ``layer``, counted in the crop's own positions there."""
        s = stride(layer)
        top, left, height, width = self.positions(layer)
        return top - self.crop[0] // s, left - self.crop[1] // s, height, width

    def pixel_box(self, size: Sequence[int]) -> Tuple[int, int, int, int, int, int]:
        """The core in the crop's pixels, and whether a row (column) of the picture follows it: the total
        variation's neighbour differences across the core's lower (right) edge are its own."""
        (top, left, height, width), (crop_top, crop_left, _, _) = self.core, self.crop
        return (top - crop_top, left - crop_left, height, width, int(top + height < size[0]),
                int(left + width < size[1]))


def _cuts(length: int, tile: int) -> List[Tuple[int, int]]:
    return [(start, min(start + tile, length)) for start in range(0, length, tile)]


def grid(size: Sequence[int], tile: int, margin: int) -> List[Tile]:
    """Tiles of ``tile`` px cores (the last of a row or column smaller) with ``margin`` px halos, row by row."""
    height, width = size
    tiles = []
    for top, bottom in _cuts(height, tile):
        for left, right in _cuts(width, tile):
            crop_top, crop_left = max(0, top - margin), max(0, left - margin)
            crop_bottom, crop_right = min(height, bottom + margin), min(width, right + margin)
            tiles.append(Tile((top, left, bottom - top, right - left),
                              (crop_top, crop_left, crop_bottom - crop_top, crop_right - crop_left)))
    return tiles


def aligned(tile: int, layer: str) -> int:
    """``tile`` rounded down to the stride of ``layer`` (at least one stride)."""
    s = stride(layer)
    return max(s, tile // s * s)


def largest_crop(size: Sequence[int], tile: int, margin: int) -> Tuple[int, int]:
    """(height, width) of the largest crop of the grid: what one tile's step holds at once."""
    return tuple(min(side, min(tile, side) + 2 * margin) for side in size)  # type: ignore[return-value]


def describe(size: Sequence[int], tile: int, layer: str) -> str:
    """The tiles of a picture of ``size``, in words: how many, of what size, with what halo."""
    cuts = [len(_cuts(side, tile)) for side in size]
    return (f"{cuts[0] * cuts[1]} ({cuts[0]}x{cuts[1]}) of {tile} px with a {halo(layer)} px halo, 2 passes "
            "per step")
