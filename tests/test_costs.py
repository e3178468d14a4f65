"""Eq. (1), the Gram matrix, eq. (2) and J against the course's published values and float64 numpy."""
import numpy as np
import pytest

from helpers import np_content, np_gram, np_layer_style
from nst.algorithm.costs import compute_content_cost, compute_layer_style_cost, compute_style_cost, gram_matrix
from nst.algorithm.costs import total_cost
from nst.algorithm.tf1 import tf


@pytest.fixture
def sess():
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as session:
        tf.set_random_seed(1)
        yield session


def course_pair(seed_a=3, seed_b=9):
    """The course's test tensors; TF2 needs the TF1 op seeds spelled out (reference.md §2)."""
    a = tf.random_normal([1, 4, 4, 3], mean=1, stddev=4, seed=seed_a)
    b = tf.random_normal([1, 4, 4, 3], mean=1, stddev=4, seed=seed_b)
    return a, b


# Published expected outputs of the course (TF 1.x).
def test_content_cost_published_value(sess):
    a_C, a_G = course_pair()
    assert sess.run(compute_content_cost(a_C, a_G)) == pytest.approx(6.76559, abs=1e-5)


def test_layer_style_cost_published_value(sess):
    a_S, a_G = course_pair()
    assert sess.run(compute_layer_style_cost(a_S, a_G)) == pytest.approx(9.19028, abs=1e-5)


def test_gram_matrix_published_value(sess):
    A = tf.random_normal([3, 2 * 1], mean=1, stddev=4, seed=3)
    expected = [[6.42230511, -4.42912197, -2.09668207],
                [-4.42912197, 19.46583748, 19.56387138],
                [-2.09668207, 19.56387138, 20.6864624]]
    np.testing.assert_allclose(sess.run(gram_matrix(A)), expected, rtol=1e-6, atol=1e-5)


def test_total_cost_published_value():
    np.random.seed(3)
    J_content, J_style = np.random.randn(), np.random.randn()
    assert total_cost(J_content, J_style) == pytest.approx(35.34667875478276, rel=1e-12)
    assert total_cost(2.0, 3.0, alpha=5, beta=7) == 31.0


SHAPES = [(1, 7, 5, 11), (1, 16, 12, 64), (1, 3, 9, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_content_and_style_costs_match_float64_numpy(sess, shape):
    rng = np.random.RandomState(sum(shape))
    a, b = (rng.gamma(1.0, 2.0, shape) for _ in range(2))  # non-negative, like ReLU outputs
    fa, fb = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    assert sess.run(compute_content_cost(fa, fb)) == pytest.approx(np_content(a, b), rel=1e-5)
    assert sess.run(compute_layer_style_cost(fa, fb)) == pytest.approx(np_layer_style(a, b), rel=1e-4)


def test_gram_matrix_matches_numpy_and_is_symmetric(sess):
    A = np.random.RandomState(0).randn(6, 20)
    G = sess.run(gram_matrix(tf.constant(A, tf.float32)))
    np.testing.assert_allclose(G, A @ A.T, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(G, G.T)


def test_style_cost_is_the_weighted_sum_over_layers(sess):
    rng = np.random.RandomState(1)
    shapes = {"conv1_1": (1, 8, 8, 4), "conv2_1": (1, 4, 4, 6)}
    a_S = {k: rng.rand(*s) for k, s in shapes.items()}
    a_G = {k: rng.rand(*s) for k, s in shapes.items()}
    model = {k: tf.constant(v, tf.float32) for k, v in a_G.items()}
    layers = [("conv1_1", 0.3), ("conv2_1", 0.7)]
    J = sess.run(compute_style_cost(model, layers, {k: v.astype(np.float32) for k, v in a_S.items()}))
    expected = sum(w * np_layer_style(a_S[k], a_G[k]) for k, w in layers)
    assert J == pytest.approx(expected, rel=1e-5)


def test_style_cost_reads_a_S_from_the_default_session_like_the_course(sess):
    value = np.random.RandomState(2).rand(1, 4, 4, 3).astype(np.float32)
    variable = tf.Variable(value)
    sess.run(variable.initializer)
    with sess.as_default():
        J = compute_style_cost({"conv1_1": variable}, [("conv1_1", 1.0)])
    sess.run(variable.assign(value * 2))  # now a_G differs from the a_S read when J was built
    assert sess.run(J) == pytest.approx(np_layer_style(value, value * 2.0), rel=1e-5)


# The faster forms used by the graph, proven equal to the course's.
def test_gram_of_activations_equals_course_gram_and_its_gradient(sess):
    from nst.algorithm.costs import gram_of_activations, unroll

    a = tf.constant(np.random.RandomState(4).gamma(1.0, 2.0, (1, 9, 7, 13)), tf.float32)
    weights = tf.constant(np.random.RandomState(5).randn(13, 13), tf.float32)  # a non-symmetric upstream
    fast, course = gram_of_activations(a), gram_matrix(unroll(a))
    g_fast = tf.gradients(tf.reduce_sum(fast * weights), a)[0]
    g_course = tf.gradients(tf.reduce_sum(course * weights), a)[0]
    f, c, gf, gc = sess.run([fast, course, g_fast, g_course])
    np.testing.assert_allclose(f, c, rtol=1e-5)
    np.testing.assert_allclose(gf, gc, rtol=1e-4, atol=1e-4)


def test_style_cost_from_precomputed_grams_equals_eq2(sess):
    from nst.algorithm.costs import gram_of_activations, compute_layer_style_cost_from_gram

    rng = np.random.RandomState(6)
    a_S, a_G = (rng.gamma(1.0, 2.0, (1, 6, 10, 8)) for _ in range(2))
    GS = sess.run(gram_of_activations(tf.constant(a_S, tf.float32)))
    fG = tf.constant(a_G, tf.float32)
    fast = compute_layer_style_cost_from_gram(tf.constant(GS), fG)
    assert sess.run(fast) == pytest.approx(np_layer_style(a_S, a_G), rel=1e-4)
    g_fast = tf.gradients(fast, fG)[0]
    g_course = tf.gradients(compute_layer_style_cost(tf.constant(a_S, tf.float32), fG), fG)[0]
    np.testing.assert_allclose(*sess.run([g_fast, g_course]), rtol=1e-4, atol=1e-6)


def test_tv_cost_matches_numpy(sess):
    from nst.algorithm.costs import compute_tv_cost

    x = np.random.RandomState(4).randn(1, 7, 9, 3) * 30
    want = np.mean((x[:, 1:] - x[:, :-1]) ** 2) + np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2)
    assert sess.run(compute_tv_cost(tf.constant(x, tf.float32))) == pytest.approx(want, rel=1e-5)
    assert sess.run(compute_tv_cost(tf.constant(np.full((1, 5, 6, 3), 9.0), tf.float32))) == 0.0


def test_blended_content_cost_and_gram_target(sess):
    from nst.algorithm.costs import compute_blended_content_cost, compute_layer_style_cost_from_gram

    rng = np.random.RandomState(5)
    shapes = {"conv4_2": (1, 4, 6, 8), "conv5_2": (1, 2, 3, 8)}
    a_C = {k: rng.rand(*s).astype(np.float32) for k, s in shapes.items()}
    a_G = {k: rng.rand(*s) for k, s in shapes.items()}
    model = {k: tf.constant(v, tf.float32) for k, v in a_G.items()}
    J = sess.run(compute_blended_content_cost(model, [("conv4_2", 0.3), ("conv5_2", 0.7)], a_C))
    assert J == pytest.approx(0.3 * np_content(a_C["conv4_2"], a_G["conv4_2"]) +
                              0.7 * np_content(a_C["conv5_2"], a_G["conv5_2"]), rel=1e-5)
    a_S = rng.rand(1, 4, 6, 8)
    GS = tf.constant(np_gram(a_S), tf.float32)
    assert sess.run(compute_layer_style_cost_from_gram(GS, model["conv4_2"])) == \
        pytest.approx(np_layer_style(a_S, a_G["conv4_2"]), rel=1e-4)


def test_total_cost_with_tv():
    assert total_cost(2.0, 3.0, alpha=5, beta=7, J_tv=4.0, tv_weight=0.5) == 33.0
    assert total_cost(2.0, 3.0, alpha=5, beta=7, J_tv=None, tv_weight=0.0) == 31.0
