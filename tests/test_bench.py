"""The benchmark's arithmetic and its worker (not its timings: those are measured, never asserted)."""
import resource

import pytest

from nst.tools import bench
from nst.algorithm.vgg import VGGWeights
from synthetic_vgg import make_weights

# VGG-19's conv layers as (input side divisor, in channels, out channels), written out by hand.
VGG19_CONVS = [(1, 3, 64), (1, 64, 64), (2, 64, 128), (2, 128, 128), (4, 128, 256)] + [(4, 256, 256)] * 3 \
    + [(8, 256, 512)] + [(8, 512, 512)] * 3 + [(16, 512, 512)] * 4


def test_conv_flops_of_vgg19_at_224():
    weights = VGGWeights("shapes", make_weights((64, 128, 256, 512, 512)), None)
    by_hand = sum(2 * (224 // d) ** 2 * 9 * cin * cout for d, cin, cout in VGG19_CONVS)
    assert bench.conv_flops(weights, 224, 224, "conv5_4") == by_hand
    assert by_hand == pytest.approx(39.0e9, rel=0.01)  # the ~19.5 G multiply-adds usually quoted
    up_to_conv5_1 = by_hand - 3 * 2 * 14 * 14 * 9 * 512 * 512
    assert bench.conv_flops(weights, 224, 224, "relu5_1") == up_to_conv5_1


@pytest.mark.parametrize("variant", bench.variants())
def test_worker_reports_its_figures(tiny_vgg, variant):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux -> MB
    figures = bench.worker(variant, (32, 48), steps=2, warmup=1, vgg=tiny_vgg["new"][0])
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert figures["variant"] == variant and figures["size"] == [32, 48]
    assert 0 < figures["min_s"] <= figures["median_s"] < 60
    assert peak_before <= figures["peak_rss_mb"] <= peak_after  # this process's peak, in MB


def test_every_variant_minimises_the_same_cost(tiny_vgg):
    """Each row times the same problem: J at the start agrees with numpy's float64 J (bf16 within 2 %)."""
    import numpy as np
    from helpers import np_J

    from nst.algorithm.costs import CONTENT_LAYER, STYLE_LAYERS
    from nst.algorithm.vgg import read_vgg_weights

    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = bench._problem((32, 48), weights)
    want = np_J(weights.convs, C, S, G, ((CONTENT_LAYER, 1.0),), STYLE_LAYERS)[0]
    for variant in bench.variants():
        got = bench.worker(variant, (32, 48), steps=1, warmup=0, vgg=tiny_vgg["new"][0])["J0"]
        assert np.isclose(got, want, rtol=2e-2 if variant.endswith("bf16") else 1e-4), (variant, got, want)


def test_bad_option_is_one_line(capsys):
    assert bench.main(["--sides", "300"]) == 2  # prog: nst bench
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err
