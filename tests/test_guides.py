"""Guided Gram matrices (Gatys et al. 2017): the graph's J_style against float64 numpy of the paper's formulas."""
import numpy as np
import pytest

from numpy_vgg import forward
from nst.algorithm import guides
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.guides import StyleGuide
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import read_vgg_weights

SIZE = (32, 48)
LAYERS = [(f"conv{b}_1", 0.2) for b in range(1, 6)]


def picture(shape, seed):
    return np.random.RandomState(seed).uniform(-100, 100, (1, *shape, 3)).astype(np.float32)


def soft_edge(shape, left=True):
    """1 on one side, 0 on the other, a linear ramp over the middle third between them."""
    ramp = np.clip((np.arange(shape[1]) / (shape[1] - 1) - 1 / 3) * 3, 0, 1)
    ramp = 1 - ramp if left else ramp
    return np.tile(ramp, (shape[0], 1))


@pytest.fixture
def session():
    sess = new_session()
    yield sess
    sess.close()


def test_receptive_fields_and_layer_shapes_are_vgg19s():
    # by hand: each 3x3 conv adds 2 strides, each 2x2 pooling one stride and doubles it
    want = {"conv1_1": (3, 1), "conv1_2": (5, 1), "conv2_1": (10, 2), "conv3_1": (24, 4), "conv4_1": (68, 8),
            "conv4_2": (84, 8), "conv5_1": (156, 16)}
    assert {name: guides.receptive_field(name) for name in want} == want
    assert guides.layer_shape((33, 47), "conv5_1") == (3, 3) and guides.layer_shape((33, 47), "conv2_1") == (17, 24)


def test_layer_shapes_are_the_graphs_for_odd_sizes(tiny_vgg):
    path, _ = tiny_vgg["new"]
    from nst.algorithm.vgg import build_vgg

    sess = new_session()
    model = build_vgg(read_vgg_weights(path), 33, 47, "max", "conv5_1", sess=sess)
    for name, _ in LAYERS:
        assert guides.layer_shape((33, 47), name) == tuple(model[name].get_shape().as_list()[1:3])
    sess.close()


def np_layer_mask(mask, layer, mode):
    """The mask at a layer of an input its size, by brute force: eroded (clamped window minimum), block means."""
    size, stride = guides.receptive_field(layer)
    if mode == "eroded":
        h, w = mask.shape
        half = size // 2
        eroded = np.empty_like(mask)
        for i in range(h):
            for j in range(w):
                rows = np.clip(np.arange(i - half, i - half + size), 0, h - 1)
                cols = np.clip(np.arange(j - half, j - half + size), 0, w - 1)
                eroded[i, j] = mask[np.ix_(rows, cols)].min()
        mask = eroded
    h, w = mask.shape
    return mask.reshape(h // stride, stride, w // stride, stride).mean(axis=(1, 3))


@pytest.mark.parametrize("mode", guides.MASK_MODES)
def test_layer_masks_are_block_means_of_the_mask(mode):
    mask = np.random.RandomState(0).uniform(0, 1, SIZE)
    for name, _ in LAYERS:
        got = guides.layer_mask(mask, name, SIZE, mode)
        assert got == pytest.approx(np_layer_mask(mask, name, mode), abs=1e-6)


def np_guided_gram(a, m):
    F = a.reshape(-1, a.shape[-1]) * m.reshape(-1, 1)
    return F.T @ F


def np_guided_style_cost(convs, styles, masks, sources, layer_sets, blend, G, pooling, mode):
    """The paper's sum over styles k and layers l of c J^l_k, each style its own region, in float64."""
    aG = forward(G[0].astype(np.float64), convs, "conv5_1", pooling)
    acts = [forward(S[0].astype(np.float64), convs, "conv5_1", pooling) for S in styles]
    w = np.asarray(blend, np.float64) / sum(blend)
    total = 0.0
    for name in [f"conv{b}_1" for b in range(1, 6)]:
        users = [k for k, s in enumerate(layer_sets) if name in dict(s)]
        for k in users:
            h, wd, c = aG[name].shape
            m = np.ones((h, wd)) if masks[k] is None else np_layer_mask(masks[k], name, mode)
            s = np.ones(acts[k][name].shape[:2]) if sources[k] is None else np_layer_mask(sources[k], name, mode)
            M_G, M_S = np.sum(m**2), np.sum(s**2)
            if M_G == 0:  # a region eroded away at this layer: nothing of it to compare
                continue
            target = (M_G / M_S) * np_guided_gram(acts[k][name], s)
            J = np.sum((target - np_guided_gram(aG[name], m)) ** 2) / (4 * c**2 * M_G**2)
            total += w[k] * dict(layer_sets[k])[name] / w[users].sum() * J
    return total


@pytest.mark.parametrize("pooling,mode", [("avg", "resize"), ("max", "resize"), ("avg", "eroded")])
def test_guided_style_cost_equals_numpy(tiny_vgg, session, pooling, mode):
    path, convs = tiny_vgg["new"]
    C, G = picture(SIZE, 0), picture(SIZE, 1)
    styles = [picture((64, 96), 2), picture(SIZE, 3), picture((48, 32), 4)]
    masks = [soft_edge(SIZE, left=True), soft_edge(SIZE, left=False) ** 2, None]
    sources = [None, np.random.RandomState(5).uniform(0.2, 1, SIZE), None]
    own = [None, [("conv1_1", 0.5), ("conv3_1", 0.25), ("conv5_1", 0.25)], [("conv4_1", 0.7), ("conv5_1", 0.3)]]
    blend = [0.5, 0.3, 0.2]
    graph = build_graph(session, read_vgg_weights(path), C, styles, CostSettings(pooling=pooling, mask_mode=mode),
                        style_blend=blend, guides=[StyleGuide(m, s, o) for m, s, o in zip(masks, sources, own)])
    graph.initialize(G)
    layer_sets = [o or LAYERS for o in own]
    want = np_guided_style_cost(convs, styles, masks, sources, layer_sets, blend, G, pooling, mode)
    assert graph.costs()[2] == pytest.approx(want, rel=2e-4)


def test_styles_sharing_a_mask_cost_their_sum_less_a_constant(tiny_vgg, session):
    """Two styles over one region blend into one target: the paper's sum of their costs minus a constant
    (sum_k a_k |T_k|^2 - |sum_k a_k T_k|^2 / A), the same gradient."""
    path, convs = tiny_vgg["new"]
    C, G = picture(SIZE, 0), picture(SIZE, 1)
    styles = [picture(SIZE, 2), picture(SIZE, 3)]
    mask = soft_edge(SIZE)
    graph = build_graph(session, read_vgg_weights(path), C, styles, CostSettings(), style_blend=[0.6, 0.4],
                        guides=[StyleGuide(mask), StyleGuide(mask.copy())])
    graph.initialize(G)
    separate = np_guided_style_cost(convs, styles, [mask, mask], [None, None], [LAYERS, LAYERS], [0.6, 0.4], G,
                                    "avg", "resize")
    acts = [forward(S[0].astype(np.float64), convs, "conv5_1") for S in styles]
    constant = 0.0
    for name, lam in LAYERS:
        c = acts[0][name].shape[-1]
        T = [np_guided_gram(a[name], np.ones(a[name].shape[:2])) / np.prod(a[name].shape[:2]) for a in acts]
        a = [0.6 * lam, 0.4 * lam]
        blended = (a[0] * T[0] + a[1] * T[1]) / sum(a)
        constant += (a[0] * np.sum(T[0] ** 2) + a[1] * np.sum(T[1] ** 2) - sum(a) * np.sum(blended**2)) / (4 * c**2)
    assert graph.costs()[2] == pytest.approx(separate - constant, rel=2e-4)


def test_guided_layer_cost_gradient_equals_central_differences():
    rng = np.random.RandomState(0)
    a = rng.uniform(0, 2, (1, 4, 5, 3))
    mask = soft_edge((4, 5)) * 0.8 + 0.1
    target = np_guided_gram(rng.uniform(0, 2, (4, 5, 3)), np.ones((4, 5))) / 20.0

    def cost(x):
        M = np.sum(mask**2)
        return np.sum((target - np_guided_gram(x[0], mask) / M) ** 2) / (4 * 3**2)

    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.constant(a, tf.float64)
        J = guides.compute_guided_layer_style_cost(target, x, mask)
        value, gradient = sess.run([J, tf.gradients(J, x)[0]])
    assert value == pytest.approx(cost(a), rel=1e-12)
    eps, numeric = 1e-6, np.zeros_like(a)
    for index in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[index] = eps
        numeric[index] = (cost(a + step) - cost(a - step)) / (2 * eps)
    assert gradient == pytest.approx(numeric, rel=1e-6, abs=1e-12)


def adam_run(path, C, S, G, steps, **graph_options):
    sess = new_session()
    graph = build_graph(sess, read_vgg_weights(path), C, S, CostSettings(), **graph_options)
    graph.initialize(G)
    costs = []
    for _ in range(steps):
        costs.append(graph.costs())
        sess.run(graph.train_step)
    image = graph.image()
    sess.close()
    return costs, image


def test_masks_of_ones_are_todays_graph_bit_for_bit(tiny_vgg):
    path, _ = tiny_vgg["new"]
    C, G, S = picture(SIZE, 0), picture(SIZE, 1), [picture(SIZE, 2), picture((64, 96), 3)]
    ones = StyleGuide(np.ones(SIZE), np.ones((64, 96)))
    today = adam_run(path, C, S, G, 5, style_blend=[0.7, 0.3])
    masked = adam_run(path, C, S, G, 5, style_blend=[0.7, 0.3], guides=[StyleGuide(np.ones(SIZE)), ones])
    assert masked[0] == today[0] and np.array_equal(masked[1], today[1])


def test_the_guided_form_with_masks_of_ones_equals_todays_within_float_rounding(tiny_vgg):
    """Layers given per style take the guided graph: with masks of ones it is eq. (2), up to float32 rounding."""
    path, _ = tiny_vgg["new"]
    C, G, S = picture(SIZE, 0), picture(SIZE, 1), [picture(SIZE, 2), picture((64, 96), 3)]
    today = adam_run(path, C, S, G, 5, style_blend=[0.7, 0.3])
    layers = tuple(LAYERS)
    guided = adam_run(path, C, S, G, 5, style_blend=[0.7, 0.3],
                      guides=[StyleGuide(np.ones(SIZE), None, layers), StyleGuide(None, np.ones((64, 96)), layers)])
    assert np.array(guided[0]) == pytest.approx(np.array(today[0]), rel=1e-5)
    assert guided[1] == pytest.approx(today[1], abs=1e-2)
