"""The memory estimate: refuses what will not fit, and names a size that does."""
import re

import pytest

from nst.algorithm import memory
from nst.errors import NSTError
from synthetic_vgg import make_weights
from nst.algorithm.vgg import VGGWeights

REAL_CHANNELS = (64, 128, 256, 512, 512)


@pytest.fixture(scope="module")
def vgg_shapes():
    return VGGWeights("real-shapes", make_weights(REAL_CHANNELS), None)


def test_activation_count_from_layer_shapes(vgg_shapes):
    h, w = 64, 96
    expected = h * w * 3 + 2 * h * w * 64 + (h // 2) * (w // 2) * 64  # input, conv1_1, conv1_2, pool1
    assert memory.activation_count(vgg_shapes, h, w, "pool1") == expected
    assert memory.activation_count(vgg_shapes, h, w, "conv5_1") > memory.activation_count(vgg_shapes, h, w, "conv4_2")


def test_refuses_with_a_size_that_fits(vgg_shapes):
    free = 8 * 2**30
    with pytest.raises(NSTError) as info:
        memory.check_fits(vgg_shapes, (2048, 1536), "conv5_1", available=free)
    message = info.value.message(lambda option: "--" + option)  # as the command line words it
    height, width = map(int, re.search(r"use --size (\d+)x(\d+)", message).groups())
    assert width / height == pytest.approx(1536 / 2048, rel=0.01)
    memory.check_fits(vgg_shapes, (height, width), "conv5_1", available=free)  # the suggestion fits
    with pytest.raises(NSTError):
        memory.check_fits(vgg_shapes, (height + 64, width + 48), "conv5_1", available=free)


def test_refused_in_the_option_the_user_gave(vgg_shapes):
    with pytest.raises(NSTError) as info:
        memory.check_fits(vgg_shapes, (15000, 20000), "conv5_1", available=8 * 2**30, option="max_side")
    message = info.value.message(lambda option: "--" + option.replace("_", "-"))
    side = int(re.search(r"use --max-side (\d+) or smaller", message).group(1))
    assert "--size" not in message and 400 < side < 20000
    memory.check_fits(vgg_shapes, (side * 3 // 4, side), "conv5_1", available=8 * 2**30)  # the suggestion fits


def test_default_size_fits_a_laptop(vgg_shapes):
    memory.check_fits(vgg_shapes, (300, 400), "conv5_1", available=4 * 2**30)


def test_too_little_memory_for_anything(vgg_shapes):
    with pytest.raises(NSTError, match="not enough for any image size"):
        memory.check_fits(vgg_shapes, (300, 400), "conv5_1", available=1 * 2**30)


def test_auto_tiles_only_where_the_untiled_step_does_not_fit(vgg_shapes):
    weights = vgg_shapes
    size, layer, content = (1200, 1600), "conv5_1", (("conv4_2", 1.0),)
    untiled_peak = memory.estimate_peak_bytes(weights, *size, layer)
    assert memory.plan_tile(weights, size, layer, content, "auto", untiled_peak / memory.HEADROOM) is None
    free = untiled_peak / 3
    tile = memory.plan_tile(weights, size, layer, content, "auto", free / memory.HEADROOM)
    assert tile % 16 == 0 and tile < 1600
    assert memory.estimate_tiled_peak_bytes(weights, size, tile, layer, content) <= free
    assert memory.estimate_tiled_peak_bytes(weights, size, tile + 16, layer, content) > free  # the largest
    assert memory.plan_tile(weights, size, layer, content, "100", free / memory.HEADROOM) == 96
    assert memory.plan_tile(weights, size, layer, content, None, 1.0) is None
    with pytest.raises(NSTError, match="tiles of 1600 px at size 1200x1600 need about"):
        memory.plan_tile(weights, size, layer, content, "1600", free / memory.HEADROOM)
    with pytest.raises(NSTError, match="not enough for size 1200x1600 even in tiles of 16 px"):
        memory.plan_tile(weights, size, layer, content, "auto", 1e9)
