"""L-BFGS through the graph, and the coarse-to-fine start, on tiny synthetic weights."""
import numpy as np
import pytest

from nst import images
from nst.coarse import coarse_start, half_size, resize_normalized
from nst.graph import CostSettings, build_graph, new_session
from nst.lbfgs import Objective, minimize_lbfgs
from nst.vgg import read_vgg_weights


@pytest.fixture
def problem(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    rng = np.random.RandomState(0)
    content, style = (rng.uniform(0, 255, (48, 64, 3)).astype(np.float32) for _ in range(2))
    C, S = (images.reshape_and_normalize_image(x, weights.mean_pixel) for x in (content, style))
    sess = new_session()
    yield weights, content, style, C, S, build_graph(sess, weights, C, S)
    sess.close()


def test_lbfgs_lowers_J_within_pixel_bounds_and_stops_on_request(problem):
    weights, _, _, C, _, graph = problem
    G = images.generate_noise_image(C, 0.6, seed=1)
    graph.initialize(G)
    start = graph.costs()[0]
    log = []
    image = minimize_lbfgs(graph, G, 50, on_iteration=lambda step, costs, t, image: log.append(costs) or step == 6)
    assert len(log) == 6  # stopped when asked
    assert log[-1][0] < 0.5 * start and graph.costs()[0] == pytest.approx(log[-1][0], rel=1e-5)
    pixels = image + weights.mean_pixel
    assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3


def test_objective_gradient_matches_finite_differences(problem):
    _, _, _, C, _, graph = problem
    graph.initialize(C)
    objective = Objective(graph)
    x = images.generate_noise_image(C, 0.6, seed=2).astype(np.float64).ravel()
    J, grad = objective(x)
    direction = np.random.RandomState(3).randn(x.size)
    eps = 1e-2 * np.abs(x).max() / np.abs(direction).max()
    slope = (objective(x + eps * direction)[0] - objective(x - eps * direction)[0]) / (2 * eps)
    assert slope == pytest.approx(grad @ direction, rel=5e-2)  # float32 J, ReLU kinks
    assert objective.evaluations == 3


def test_coarse_start_returns_a_better_full_size_start(problem):
    weights, content, style, C, _, graph = problem
    G = images.generate_noise_image(C, 0.6, seed=1)
    assert half_size((48, 64)) == (32, 43) and half_size((300, 400)) == (150, 200)
    back = resize_normalized(resize_normalized(C, (24, 32), weights.mean_pixel), (48, 64), weights.mean_pixel)
    assert back.shape == C.shape
    seen = {}

    def run(small_graph, image, n):
        small_graph.initialize(image)
        seen["before"] = small_graph.costs()[0]
        seen["result"] = minimize_lbfgs(small_graph, image, n)
        seen["after"] = small_graph.costs()[0]
        return seen["result"]

    start = coarse_start(weights, content, style, G, CostSettings(), 30, run)
    assert seen["result"].shape == (1, 32, 43, 3) and seen["after"] < 0.2 * seen["before"]
    np.testing.assert_allclose(start, resize_normalized(seen["result"], (48, 64), weights.mean_pixel))
    sess = new_session()
    try:
        full = build_graph(sess, weights, *(images.reshape_and_normalize_image(x, weights.mean_pixel)
                                            for x in (content, style)))
        full.initialize(G)
        J_noise = full.costs()[0]
        full.assign_input(start)
        assert full.costs()[0] < 0.9 * J_noise  # a better start than the seed's noise + C
    finally:
        sess.close()
