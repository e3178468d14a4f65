"""The assembled graph: J equals float64 numpy on the same weights; targets fixed; Adam lowers J."""
import numpy as np
import pytest

from helpers import images3, np_J
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import read_vgg_weights


@pytest.fixture
def problem(tiny_vgg):
    path, convs = tiny_vgg["new"]
    C, S, G = images3()
    sess = new_session()
    yield sess, read_vgg_weights(path), convs, C, S, G
    sess.close()


def numpy_J(convs, C, S, G, settings):
    return np_J(convs, C, S, G, settings.content_layers, settings.style_layers, settings.alpha, settings.beta,
                settings.pooling)


def test_costs_equal_float64_numpy(problem):
    sess, weights, convs, C, S, G = problem
    settings = CostSettings()
    graph = build_graph(sess, weights, C, S, settings)
    graph.initialize(G)
    J, Jc, Js = graph.costs()
    want = numpy_J(convs, C, S, G, settings)
    np.testing.assert_allclose([J, Jc, Js], want, rtol=2e-4)


def test_other_layers_weights_and_pooling_equal_numpy(problem):
    sess, weights, convs, C, S, G = problem
    settings = CostSettings([("relu2_2", 1.0)], [("conv1_1", 0.5), ("conv3_1", 2.0)], alpha=3.0, beta=0.5,
                            pooling="max")
    assert settings.content_layers == (("conv2_2", 1.0),)  # relu names made canonical, once
    graph = build_graph(sess, weights, C, S, settings)
    graph.initialize(G)
    np.testing.assert_allclose(graph.costs(), numpy_J(convs, C, S, G, settings), rtol=2e-4)
    ops = {op.name.split("/")[0] for op in sess.graph.get_operations()}
    assert "conv3_1" in ops and "conv3_2" not in ops and "conv4_1" not in ops  # cut after the deepest


def test_targets_are_fixed_and_nodes_are_named(problem):
    sess, weights, convs, C, S, G = problem
    graph = build_graph(sess, weights, C, S)
    graph.initialize(C)
    assert graph.costs()[1] == 0.0  # G = C: J_content vanishes, so a_C came from C
    graph.assign_input(S)
    assert graph.costs()[2] == pytest.approx(0.0, abs=1e-3 * numpy_J(convs, C, S, G, CostSettings())[2])
    named = sess.run([sess.graph.get_tensor_by_name(name + ":0") for name in ("J", "J_content", "J_style")])
    assert named == list(graph.costs())  # the graph's nodes carry the paper's names
    assert isinstance(graph.optimizer, tf.train.AdamOptimizer)
    assert tf.get_default_session() is sess  # the InteractiveSession of seed step 1


def test_adam_steps_lower_J_and_change_only_the_image(problem):
    sess, weights, convs, C, S, G = problem
    graph = build_graph(sess, weights, C, S)
    graph.initialize(G)
    start = graph.costs()[0]
    for _ in range(5):
        sess.run(graph.train_step)
    assert graph.costs()[0] < start
    assert not np.allclose(graph.image(), G)
    assert [v.name for v in tf.trainable_variables()] == ["input:0"]


def run_adam(build, weights, C, S, G, steps):
    sess = new_session()
    try:
        model, J, train_step = build(sess, weights, C, S)
        sess.run(tf.global_variables_initializer())
        sess.run(model["input"].assign(G))
        history = [sess.run([train_step, J])[1] for _ in range(steps)]
        return np.array(history), sess.run(model["input"])
    finally:
        sess.close()


def test_optimised_graph_follows_the_course_graph_step_for_step(tiny_vgg):
    """Cut network, Gram targets held once, F^T F with its own gradient, ungated gradients:
    the same Adam trajectory as the course's literal graph."""
    from nst.algorithm.reference import course_graph

    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = images3(seed=3)

    def ours(sess, weights, C, S):
        graph = build_graph(sess, weights, C, S)
        return graph.model, graph.J, graph.train_step

    fast, fast_image = run_adam(ours, weights, C, S, G, 8)
    slow, slow_image = run_adam(course_graph, weights, C, S, G, 8)
    assert fast[-1] < fast[0]
    np.testing.assert_allclose(fast, slow, rtol=1e-4)
    # Adam divides by sqrt(v): where a gradient is ~0, float rounding moves a pixel by a few 1/100 levels
    difference = np.abs(fast_image - slow_image)
    assert difference.max() < 0.1 and difference.mean() < 1e-3


def test_G_fetched_with_a_step_is_the_image_before_its_update(problem):
    sess, weights, convs, C, S, G = problem
    graph = build_graph(sess, weights, C, S)
    graph.initialize(G)
    for _ in range(2):
        before = graph.image()
        _, seen, J = sess.run([graph.train_step, graph.model["G"], graph.J])
        np.testing.assert_array_equal(seen, before)
        assert not np.array_equal(graph.image(), before)
        graph.assign_input(before)
        assert graph.costs()[0] == J
        sess.run(graph.train_step)
