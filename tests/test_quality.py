"""nst bench --time-to-quality: J traced per step on the reference objective, targets, the pictures (tiny weights)."""
import math

import imageio.v2 as imageio
import pytest

from nst.tools import quality


@pytest.fixture(scope="module")
def reference(tiny_vgg):
    return quality.measure("jcjohnson", 48, None, None, None, tiny_vgg["new"][0], iterations=12)


def test_the_reference_is_traced_and_its_final_j_is_its_final_images(reference, tiny_vgg):
    assert max(reference.size) == 48
    assert len(reference.trace) == 13  # the start and 12 iterations
    seconds = [t for t, _ in reference.trace]
    assert seconds == sorted(seconds) and seconds[-1] <= reference.seconds
    objective = quality.config_of("jcjohnson", 48, None, None, vgg=tiny_vgg["new"][0])
    assert quality.score(reference.image, objective) == pytest.approx(reference.J, rel=1e-4)
    assert reference.J < reference.trace[0][1] / 2  # it optimised


def test_reached_is_the_first_step_at_or_below_the_target(tiny_vgg):
    vgg = tiny_vgg["new"][0]
    easy = quality.measure("jcjohnson", 48, None, None, math.inf, vgg, iterations=3)
    assert easy.reached == easy.trace[0][0]
    assert quality.measure("jcjohnson", 48, None, None, 0.0, vgg, iterations=3).reached is None
    other = quality.measure("course", 48, None, None, math.inf, vgg, iterations=3)
    assert other.trace == [] and other.reached == other.seconds  # another objective: scored once, at the end


def test_plot_and_pictures_are_written(reference, tmp_path):
    outcomes = {48: [reference, reference._replace(preset="again")]}
    quality.plot(outcomes, str(tmp_path / "ttq.png"))
    quality.pictures(outcomes, str(tmp_path / "ttq_pictures.png"))
    assert imageio.imread(tmp_path / "ttq.png").shape[1] > 300
    side_by_side = imageio.imread(tmp_path / "ttq_pictures.png")
    assert side_by_side.shape[1] > 1.5 * side_by_side.shape[0]  # two panels in a row
    line = quality.line(reference, reference.J * 2)
    assert "-50.00% of the target" in line and "jcjohnson" in line
