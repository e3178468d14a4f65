"""A video's graph: J_temporal and the per-frame content target equal float64 numpy; one graph, many frames."""
import numpy as np
import pytest

from helpers import images3, np_J
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.optimize import Adam
from nst.algorithm.vgg import read_vgg_weights


@pytest.fixture
def problem(tiny_vgg):
    path, convs = tiny_vgg["new"]
    sess = new_session()
    yield sess, read_vgg_weights(path), convs
    sess.close()


def np_temporal(G, warped, c):
    """(1/D) sum_k c_k (x_k - w_k)^2 in float64, c per pixel, D the number of values of G."""
    diff = G.astype(np.float64) - warped.astype(np.float64)
    return np.sum(c.astype(np.float64)[..., None] * diff**2) / G.size


def test_J_temporal_and_J_equal_float64_numpy_frame_after_frame(problem):
    sess, weights, convs = problem
    C, S, G = images3()
    C2, warped, _ = images3(seed=5)
    c = (np.random.RandomState(6).uniform(size=(1, 32, 48)) > 0.3).astype(np.float32)
    settings = CostSettings()
    graph = build_graph(sess, weights, C, S, settings, temporal_weight=7.5)
    for content, target, weights_c in ((C, None, None), (C2, warped, c)):
        graph.frame.set(graph.assign_input, content, target, weights_c)
        graph.initialize(G)
        J, J_content, J_style, J_temporal = sess.run([graph.J, graph.J_content, graph.J_style, graph.J_temporal])
        want_J, want_content, want_style = np_J(convs, content, S, G, settings.content_layers, settings.style_layers)
        want_temporal = 0.0 if target is None else np_temporal(G, target, c)
        np.testing.assert_allclose([J_content, J_style], [want_content, want_style], rtol=2e-4)
        np.testing.assert_allclose(J_temporal, want_temporal, rtol=1e-5)
        np.testing.assert_allclose(J, want_J + 7.5 * want_temporal, rtol=2e-4)
    assert want_temporal > 0


def _frame_graph(sess, weights, temporal_weight):
    """A video's graph with one frame set: C, a warped previous frame, all pixels reliable."""
    C, S, G = images3()
    _, warped, _ = images3(seed=5)
    graph = build_graph(sess, weights, C, S, temporal_weight=temporal_weight)
    graph.frame.set(graph.assign_input, C, warped, np.ones((32, 48), np.float32))
    return graph, (C, S, G), warped


def test_a_zero_temporal_weight_measures_J_temporal_but_leaves_it_out_of_J(problem):
    sess, weights, convs = problem
    graph, (C, S, G), warped = _frame_graph(sess, weights, 0.0)
    graph.initialize(G)
    J, J_temporal = sess.run([graph.J, graph.J_temporal])
    np.testing.assert_allclose(J, np_J(convs, C, S, G, CostSettings().content_layers, CostSettings().style_layers)[0],
                               rtol=2e-4)
    np.testing.assert_allclose(J_temporal, np_temporal(G, warped, np.ones((1, 32, 48))), rtol=1e-5)


def test_a_new_frame_resets_G_and_adam_but_keeps_its_targets(problem):
    sess, weights, _ = problem
    graph, (C, S, G), warped = _frame_graph(sess, weights, 1.0)
    steps = [s for s in Adam(graph).steps(G, 3)]
    assert steps[0].J_temporal == pytest.approx(np_temporal(G, warped, np.ones((1, 32, 48))), rel=1e-5)
    again = [s for s in Adam(graph).steps(G, 3)]  # the next frame's reset: the same costs from the same start
    assert [s.J for s in again] == [s.J for s in steps]


def test_the_single_image_graph_has_no_temporal_node(problem):
    sess, weights, _ = problem
    C, S, _ = images3()
    graph = build_graph(sess, weights, C, S)
    names = {op.name for op in sess.graph.get_operations()}
    assert graph.J_temporal is None and graph.frame is None
    assert not {"J_temporal", "warped", "reliability"} & names
