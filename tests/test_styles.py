"""Several styles, each at its own size, blended: the graph's J against float64 numpy."""
import numpy as np
import pytest

from helpers import np_blended_style_cost, np_content, np_tv
from numpy_vgg import forward
from nst.errors import NSTError
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.styles import normalize_blend
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import read_vgg_weights


def picture(shape, seed):
    return np.random.RandomState(seed).uniform(-100, 100, (1, *shape, 3)).astype(np.float32)


@pytest.fixture
def session():
    sess = new_session()
    yield sess
    sess.close()


def test_styles_of_other_sizes_blended_equal_numpy(tiny_vgg, session):
    path, convs = tiny_vgg["new"]
    C, G = picture((32, 48), 0), picture((32, 48), 1)
    styles = [picture((64, 96), 2), picture((48, 32), 3), picture((32, 48), 4)]  # scale 2, other aspect, same
    settings = CostSettings()
    graph = build_graph(session, read_vgg_weights(path), C, styles, settings, style_blend=[0.5, 0.2, 0.3])
    graph.initialize(G)
    want = np_blended_style_cost(convs, styles, [0.5, 0.2, 0.3], G, settings.style_layers)
    assert graph.costs()[2] == pytest.approx(want, rel=2e-4)


def test_blend_weights_are_scaled_to_sum_one(tiny_vgg, session):
    path, convs = tiny_vgg["new"]
    C, G, S1, S2 = (picture((32, 48), k) for k in range(4))
    graph = build_graph(session, read_vgg_weights(path), C, [S1, S2], style_blend=[7, 3])
    graph.initialize(G)
    want = np_blended_style_cost(convs, [S1, S2], [0.7, 0.3], G, CostSettings().style_layers)
    assert graph.costs()[2] == pytest.approx(want, rel=2e-4)


def test_a_style_twice_the_size_is_compared_per_position(tiny_vgg, session):
    """A style tiled 2x2 has (almost) the same Gram per position: its J_style stays near the 1x one."""
    path, _ = tiny_vgg["new"]
    C, G, S = picture((32, 48), 0), picture((32, 48), 1), picture((32, 48), 2)
    costs = []
    for style in (S, np.tile(S, (1, 2, 2, 1))):
        graph = build_graph(new_session(), read_vgg_weights(path), C, style)
        graph.initialize(G)
        costs.append(graph.costs()[2])
    assert costs[1] == pytest.approx(costs[0], rel=0.01)  # unscaled, its Grams would be 4x larger


def test_content_blend_tv_and_max_pooling_equal_numpy(tiny_vgg, session):
    path, convs = tiny_vgg["new"]
    C, S, G = picture((32, 48), 5), picture((64, 96), 6), picture((32, 48), 7)
    settings = CostSettings(content_layers=[("conv4_2", 0.25), ("relu5_2", 0.75)], tv_weight=3.0,
                            pooling="max", style_layers=[("conv1_1", 0.5), ("conv3_1", 0.5)])
    graph = build_graph(session, read_vgg_weights(path), C, [S], settings)
    graph.initialize(G)
    aC, aG = forward(C[0], convs, "conv5_2", "max"), forward(G[0], convs, "conv5_2", "max")
    Jc = 0.25 * np_content(aC["conv4_2"][None], aG["conv4_2"][None]) + \
        0.75 * np_content(aC["conv5_2"][None], aG["conv5_2"][None])
    Js = np_blended_style_cost(convs, [S], [1.0], G, settings.style_layers, "max")
    J, J_content, J_style = graph.costs()
    np.testing.assert_allclose([J_content, J_style], [Jc, Js], rtol=2e-4)
    assert session.run(graph.J_tv) == pytest.approx(np_tv(G), rel=1e-5)
    assert J == pytest.approx(10 * Jc + 40 * Js + 3.0 * np_tv(G), rel=2e-4)


def test_tv_is_left_out_of_the_graph_by_default(tiny_vgg, session):
    graph = build_graph(session, read_vgg_weights(tiny_vgg["new"][0]), picture((32, 48), 0), picture((32, 48), 1))
    assert graph.J_tv is None
    assert not any(op.name.startswith("J_tv") for op in session.graph.get_operations())


def test_one_copy_of_the_weights_for_all_style_sizes(tiny_vgg, session):
    path, convs = tiny_vgg["new"]
    styles = [picture((64, 96), 1), picture((48, 32), 2)]
    build_graph(session, read_vgg_weights(path), picture((32, 48), 0), styles)
    shape = list(convs["conv1_1"][0].shape)
    sources = [op.type for op in session.graph.get_operations() if op.type in ("Const", "Placeholder",
               "PyFunc") and op.outputs[0].shape.as_list() == shape]
    assert sources == ["PyFunc"]  # one variable, filled once from the array, shared by every branch
    assert [v.op.name for v in tf.global_variables()].count("conv1_1/filters") == 1


@pytest.mark.parametrize("blend,count,want", [
    (None, 1, [1.0]), (None, 4, [0.25] * 4), ([2, 6], 2, [0.25, 0.75]), ([0, 5], 2, [0.0, 1.0])])
def test_normalize_blend(blend, count, want):
    assert normalize_blend(blend, count) == pytest.approx(want)


@pytest.mark.parametrize("blend,count,fragment", [
    ([1.0], 2, "1 weights for 2 style images"), ([1, -1], 2, "zero or positive"), ([0, 0], 2, "positive, finite sum"),
    ([1e308, 1e308], 2, "finite sum")])
def test_bad_blend(blend, count, fragment):
    with pytest.raises(NSTError, match=fragment):
        normalize_blend(blend, count)
