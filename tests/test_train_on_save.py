"""run_style_transfer's on_save hook: G at the save points, in memory, the same G that is saved."""
import os

import imageio.v3 as iio
import numpy as np
import pytest

from nst.graph import build_graph, new_session
from nst.images import to_pixels
from nst.train import run_style_transfer
from nst.vgg import read_vgg_weights
from test_graph import images3


@pytest.fixture
def problem(tiny_vgg):
    C, S, G = images3()
    sess = new_session()
    yield build_graph(sess, read_vgg_weights(tiny_vgg["new"][0]), C, S), G
    sess.close()


def test_on_save_gets_G_at_the_save_points_without_writing(problem):
    graph, G = problem
    snapshots = {}
    result = run_style_transfer(graph, G, iterations=5, save_every=2, progress=False,
                                on_save=snapshots.__setitem__)
    assert sorted(snapshots) == [2, 4, 5] and result.saved == []
    np.testing.assert_array_equal(snapshots[5], result.image)
    assert not np.allclose(snapshots[2], snapshots[4]) and not np.allclose(snapshots[2], G)
    J_after_4 = result.history[4][1]  # row i holds the costs after i steps: check snapshot 4 is G after 4 steps
    graph.assign_input(snapshots[4])
    assert graph.costs()[0] == pytest.approx(J_after_4, rel=1e-5)


def test_on_save_sees_what_is_written(problem, tmp_path):
    graph, G = problem
    snapshots = {}
    result = run_style_transfer(graph, G, iterations=4, save_every=3, output_dir=str(tmp_path), progress=False,
                                on_save=snapshots.__setitem__)
    assert sorted(snapshots) == [3, 4]
    assert [os.path.basename(p) for p in result.saved] == ["iteration_0003.png", "final.png"]
    np.testing.assert_array_equal(iio.imread(tmp_path / "iteration_0003.png"), to_pixels(snapshots[3]))
    np.testing.assert_array_equal(iio.imread(tmp_path / "final.png"), to_pixels(snapshots[4]))


def test_without_a_hook_or_folder_G_is_not_fetched_per_step(problem, monkeypatch):
    graph, G = problem
    fetched = []
    monkeypatch.setattr(type(graph), "image", lambda self: fetched.append(1) or self.sess.run(self.model["input"]))
    counts = []
    for iterations in (3, 9):
        fetched.clear()
        run_style_transfer(graph, G, iterations=iterations, save_every=2, progress=False)
        counts.append(len(fetched))
    assert counts[0] == counts[1] <= 2  # only at the end: the steps stay one sess.run each
