"""The optimizers as step generators (Adam, L-BFGS) and the coarse-to-fine start, on tiny synthetic weights."""
import numpy as np
import pytest

from nst.algorithm import images
from nst.algorithm.coarse import coarse_start, half_size, resize_normalized
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.optimize import LBFGS, Adam, Objective
from nst.algorithm.vgg import read_vgg_weights


def lbfgs_image(graph, G, iterations):
    for step in LBFGS(graph).steps(G, iterations):
        pass
    return step.image


@pytest.fixture
def problem(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    rng = np.random.RandomState(0)
    content, style = (rng.uniform(0, 255, (48, 64, 3)).astype(np.float32) for _ in range(2))
    C, S = (images.reshape_and_normalize_image(x, weights.mean_pixel) for x in (content, style))
    sess = new_session()
    yield weights, content, style, C, S, build_graph(sess, weights, C, S)
    sess.close()


def test_adam_yields_each_G_with_its_costs(problem):
    _, _, _, C, _, graph = problem
    G = images.generate_noise_image(C, 0.6, seed=1)
    steps = list(Adam(graph).steps(G, 5))
    assert [s.iteration for s in steps] == list(range(6))  # G after 0..5 updates
    np.testing.assert_array_equal(steps[0].image, G)
    assert steps[-1].J < steps[0].J and all(b.seconds >= a.seconds for a, b in zip(steps, steps[1:]))
    for step in (steps[2], steps[5]):  # each step's costs are its image's: recomputed from the image alone
        graph.assign_input(step.image)
        assert graph.costs() == pytest.approx((step.J, step.J_content, step.J_style), rel=1e-6)
    assert steps[0].J_tv is None


def test_adam_resumes_from_its_state_exactly(problem):
    _, _, _, C, _, graph = problem
    G = images.generate_noise_image(C, 0.6, seed=2)
    adam = Adam(graph)
    whole = [s.J for s in adam.steps(G, 6)]
    steps = adam.steps(G, 6)
    for step in steps:
        if step.iteration == 2:
            break
    applied, state = adam.state(step)
    assert applied == 3 and set(state) == {v.op.name for v in adam.state_variables()}
    steps.close()
    adam.restore(state)
    rest = [s.J for s in adam.steps(G, 6, first=applied)]
    assert whole[3:] == rest  # bit for bit: the state holds everything the next update reads


def test_lbfgs_lowers_J_and_stops_when_left(problem):
    _, _, _, C, _, graph = problem
    G = images.generate_noise_image(C, 0.6, seed=1)
    steps = LBFGS(graph).steps(G, 50)
    log = []
    for step in steps:
        log.append(step)
        if step.iteration == 6:
            break
    steps.close()
    assert [s.iteration for s in log] == list(range(7))
    assert log[-1].J < 0.5 * log[0].J and all(b.J <= a.J for a, b in zip(log, log[1:]))
    graph.assign_input(log[-1].image)
    assert graph.costs()[0] == pytest.approx(log[-1].J, rel=1e-5)


def test_objective_gradient_matches_finite_differences(problem):
    _, _, _, C, _, graph = problem
    graph.initialize(C)
    objective = Objective(graph, LBFGS(graph).gradient)
    x = images.generate_noise_image(C, 0.6, seed=2).astype(np.float64).ravel()
    J, grad, costs = objective(x)
    assert costs[0] == J and len(costs) == 3
    direction = np.random.RandomState(3).randn(x.size)
    eps = 1e-2 * np.abs(x).max() / np.abs(direction).max()
    slope = (objective(x + eps * direction)[0] - objective(x - eps * direction)[0]) / (2 * eps)
    assert slope == pytest.approx(grad.astype(np.float64) @ direction, rel=5e-2)  # float32 J, ReLU kinks
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
        seen["result"] = lbfgs_image(small_graph, image, n)
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
        assert full.costs()[0] < 0.9 * J_noise  # a better start than the paper's noise + C
    finally:
        sess.close()
