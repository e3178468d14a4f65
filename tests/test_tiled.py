"""Tiled costs and gradients (nst.algorithm.tiled) against the untiled graph, which is the reference.

Each comparison builds both at a size where both fit: odd sides, tiles that do not divide them.
"""
import numpy as np
import pytest

from helpers import assert_one_line
from nst.algorithm import tiles
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.guides import StyleGuide
from nst.algorithm.optimize import LBFGS, Adam
from nst.algorithm.tf1 import tf
from nst.algorithm.tiled import TiledGraph, make_graph
from nst.algorithm.vgg import BLOCKS, read_vgg_weights
from nst.commands import train as cli
from synthetic_vgg import make_weights, write_vgg_mat

SIZE = (67, 85)  # odd, and not a multiple of the tile
TILE = 32
TWO_CONTENT = (("conv4_2", 0.5), ("conv5_1", 0.5))


def pictures(size=SIZE, seed=0, low=-100.0):
    rng = np.random.RandomState(seed)
    C = rng.uniform(low, 100, (1, *size, 3)).astype(np.float32)
    S = [rng.uniform(low, 100, (1, 41, 53, 3)).astype(np.float32),
         rng.uniform(low, 100, (1, 75, 61, 3)).astype(np.float32)]
    G = (C + rng.uniform(0, 20, C.shape)).astype(np.float32)
    return C, S, G


def untiled(weights, C, S, G, settings, **kw):
    """(costs, gradient) of the untiled graph at G: the reference."""
    sess = new_session()
    graph = build_graph(sess, weights, C, S, settings, **kw)
    graph.assign_input(G)
    nodes = [graph.J, graph.J_content, graph.J_style] + ([graph.J_tv] if graph.J_tv is not None else [])
    return sess.run(nodes), sess.run(tf.gradients(graph.J, graph.model["input"])[0])


def tiled(weights, C, S, G, settings, tile=TILE, margin=None, **kw):
    sess = new_session()
    graph = TiledGraph(sess, weights, C, S, settings, tile, margin=margin, **kw)
    return graph.value_and_gradient(G)


def differences(reference, result):
    """The largest relative difference of the costs, and of the gradient (as a vector)."""
    (costs, gradient), (want, want_gradient) = result, reference
    cost = max(abs(a - b) / abs(b) for a, b in zip(costs, want))
    return cost, float(np.linalg.norm(gradient - want_gradient) / np.linalg.norm(want_gradient))


def test_the_halo_is_the_receptive_field_rounded_to_the_stride():
    # conv5_1: each 3x3 conv of block b widens a position's field by 2**(b-1) px on each side
    extent = sum(2 ** (b - 1) for b, n in enumerate(BLOCKS, 1) for _ in range(n if b < 5 else 1))
    assert extent == 70 and tiles.stride("conv5_1") == 16
    assert tiles.halo("conv5_1") == 80 and tiles.halo("conv4_2") == 40 and tiles.halo("conv1_1") == 1


def test_the_cores_cover_the_picture_once_and_every_crop_edge_falls_on_the_stride():
    size, step = (147, 171), 16
    grid = tiles.grid(size, 48, 80)
    owner = np.zeros(size, int)
    for tile in grid:
        top, left, height, width = tile.core
        owner[top:top + height, left:left + width] += 1
        crop_top, crop_left, crop_height, crop_width = tile.crop
        assert crop_top % step == 0 and crop_left % step == 0
        assert crop_top + crop_height in (size[0], top + height + 80)
        assert crop_top == max(0, top - 80) and crop_left == max(0, left - 80)
    assert (owner == 1).all() and len(grid) == 4 * 4


@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("tv_form", ["mean", "jcjohnson"])
def test_every_term_and_the_gradient_equal_the_untiled_graphs(tiny_vgg, pooling, tv_form):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    settings = CostSettings(content_layers=TWO_CONTENT, pooling=pooling, tv_weight=3.0, tv_form=tv_form)
    reference = untiled(weights, C, S, G, settings, style_blend=(0.3, 0.7))
    result = tiled(weights, C, S, G, settings, style_blend=(0.3, 0.7))
    assert len(result[0]) == 4  # J, J_content, J_style, J_tv
    cost, gradient = differences(reference, result)
    assert cost <= 1e-5 and gradient <= 1e-5


def test_real_weights_agree_with_both_poolings(real_vgg):
    weights = read_vgg_weights(real_vgg)
    C, S, G = pictures((83, 101))
    for pooling in ("avg", "max"):
        settings = CostSettings(pooling=pooling, tv_weight=1.0)
        cost, gradient = differences(untiled(weights, C, S, G, settings), tiled(weights, C, S, G, settings, 48))
        assert cost <= 1e-5 and gradient <= 1e-5, pooling


def shift_weights(path):
    """A VGG-19 whose even channels read the pixel down-right and odd ones up-left: a conv5_1 feature is
    then the picture 70 px away, the edge of its receptive field, so a halo one stride short must show."""
    convs = make_weights()
    for filters, biases in convs.values():
        filters[:], biases[:] = 0.0, 0.0
        for out in range(filters.shape[3]):
            k = 2 if out % 2 == 0 else 0
            filters[k, k, out % filters.shape[2], out] = 1.0
    write_vgg_mat(str(path), convs=convs)
    return read_vgg_weights(str(path))


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_a_halo_one_pooling_step_too_small_changes_j(tmp_path, pooling):
    weights = shift_weights(tmp_path / "shift.mat")
    C, S, G = pictures((147, 171), low=0.0)  # positive: the ReLUs pass everything
    settings = CostSettings(content_layers=TWO_CONTENT, pooling=pooling)
    reference = untiled(weights, C, S, G, settings)
    assert tiles.halo(settings.deepest()) == 80
    exact = differences(reference, tiled(weights, C, S, G, settings, 48))
    short = differences(reference, tiled(weights, C, S, G, settings, 48, margin=80 - 16))
    assert max(exact) <= 1e-5
    assert min(short) > 1e-3  # J and the gradient both wrong


def test_masks_source_masks_and_layers_of_each_style_are_tiled(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    left = np.zeros(SIZE)
    left[:, :40] = 1.0
    ramp = np.tile(np.linspace(0, 1, 53), (41, 1))
    guides = [StyleGuide(left, ramp, (("conv1_1", 0.5), ("conv3_1", 0.5))),
              StyleGuide(1.0 - left, None, (("conv4_1", 0.3), ("conv5_1", 0.7)))]
    for mode in ("resize", "eroded"):
        settings = CostSettings(mask_mode=mode)
        cost, gradient = differences(untiled(weights, C, S, G, settings, guides=guides),
                                     tiled(weights, C, S, G, settings, guides=guides))
        assert cost <= 1e-5 and gradient <= 1e-5, mode


def test_bf16_tiled_is_as_close_as_bf16_itself(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    fp32 = untiled(weights, C, S, G, CostSettings())
    bf16 = CostSettings(precision="bf16")
    plain, cut = untiled(weights, C, S, G, bf16), tiled(weights, C, S, G, bf16)
    # bfloat16 rounds each layer (3 significant digits): tiles change the order of the sums, not the format
    assert max(differences(plain, cut)) <= 2 * max(differences(fp32, plain)) + 1e-3


def histories(weights, C, S, G, settings, optimizer, steps, tile=None):
    sess = new_session()
    graph = build_graph(sess, weights, C, S, settings) if tile is None else TiledGraph(sess, weights, C, S,
                                                                                         settings, tile)
    run = optimizer(graph)
    rows = [step for step in run.steps(G, steps)]
    names = sorted(v.op.name for v in run.state_variables()) if optimizer is Adam else None
    return np.array([[s.J, s.J_content, s.J_style] for s in rows]), rows[-1].image, names


def test_twenty_adam_steps_agree_and_keep_the_same_state(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    settings = CostSettings(tv_weight=1.0)
    want, want_image, want_names = histories(weights, C, S, G, settings, Adam, 20)
    got, image, names = histories(weights, C, S, G, settings, Adam, 20, TILE)
    assert got.shape == want.shape == (21, 3)
    assert np.max(np.abs(got - want) / np.abs(want)) <= 1e-5
    assert np.max(np.abs(image - want_image)) <= 1e-3 * np.max(np.abs(want_image))
    assert names == want_names  # a checkpoint of one continues in the other


def test_lbfgs_iterations_agree(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    want, _, _ = histories(weights, C, S, G, CostSettings(), LBFGS, 5)
    got, _, _ = histories(weights, C, S, G, CostSettings(), LBFGS, 5, TILE)
    assert got.shape == want.shape and np.max(np.abs(got - want) / np.abs(want)) <= 1e-4


def test_make_graph_keeps_the_untiled_graph_unless_tiles_are_needed(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, _ = pictures()
    assert not isinstance(make_graph(new_session(), weights, C, S, CostSettings(tile="auto")), TiledGraph)
    graph = make_graph(new_session(), weights, C, S, CostSettings(tile="50"))
    assert isinstance(graph, TiledGraph) and graph.tile == 48 and len(graph.grid) == 2 * 2


def run_train(tmp_path, monkeypatch, weights, name, *args):
    monkeypatch.setenv("NST_VGG19", weights)
    out = tmp_path / name
    code = cli.main(["--output", str(out), "--size", "67x85", "--seed", "3", *args])
    assert code == 0
    rows = np.genfromtxt(out / "history.csv", delimiter=",", names=True)
    return out, np.stack([rows["J"], rows["J_content"], rows["J_style"]], axis=1)


def test_the_command_tiles_says_so_and_resumes(tiny_vgg, tmp_path, monkeypatch, capsys):
    path = tiny_vgg["new"][0]
    _, want = run_train(tmp_path, monkeypatch, path, "plain", "--iterations", "8", "--preserve-colors", "luminance",
                        "--quiet")
    capsys.readouterr()
    out, got = run_train(tmp_path, monkeypatch, path, "tiled", "--iterations", "4", "--tile", "32",
                         "--preserve-colors", "luminance")
    said = capsys.readouterr().err
    assert "tiles:   9 (3x3) of 32 px with a 80 px halo, 2 passes per step; about" in said
    assert "tiles, gradients" in said  # the second bar: the tiles of each step
    code = cli.main(["--resume", str(out), "--iterations", "8", "--quiet"])
    assert code == 0
    rows = np.genfromtxt(out / "history.csv", delimiter=",", names=True)
    got = np.stack([rows["J"], rows["J_content"], rows["J_style"]], axis=1)
    assert got.shape == want.shape and np.max(np.abs(got - want) / np.abs(want)) <= 1e-5


def test_a_bad_tile_is_one_line(bad_input):
    code, err = bad_input("--tile", "big")
    assert_one_line(code, err, "--tile", "'big' is not auto or a tile's side in px")
    code, err = bad_input("--tile", "0")
    assert_one_line(code, err, "--tile", "'0'")


def test_a_video_frames_temporal_cost_is_tiled(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = pictures()
    rng = np.random.RandomState(5)
    frame, warped = (C + rng.uniform(-5, 5, C.shape)).astype(np.float32), G[:, ::-1].copy()
    reliable = (rng.uniform(size=SIZE) > 0.3).astype(np.float32)
    results = []
    for make in (lambda: build_graph(new_session(), weights, C, S, CostSettings(), temporal_weight=2.0),
                 lambda: TiledGraph(new_session(), weights, C, S, CostSettings(), TILE, temporal_weight=2.0)):
        graph = make()  # each in its own session: a new one closes the last
        graph.frame.set(graph.assign_input, frame, warped, reliable)
        if isinstance(graph, TiledGraph):
            results.append(graph.value_and_gradient(G))
        else:
            graph.assign_input(G)
            results.append((graph.sess.run([graph.J, graph.J_content, graph.J_style, graph.J_temporal]),
                            graph.sess.run(tf.gradients(graph.J, graph.model["input"])[0])))
    assert len(results[1][0]) == 4 and results[1][0][3] > 0
    cost, gradient = differences(*results)
    assert cost <= 1e-5 and gradient <= 1e-5


def test_a_planned_tile_is_used_as_planned(tiny_vgg, monkeypatch):
    """The full size takes the tile planned before the run: free memory read later misses what the process
    freed but holds (the levels before it), and refused a tile that fits."""
    from nst.algorithm import memory

    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, _ = pictures()
    monkeypatch.setattr(memory, "available_bytes", lambda: 1.0)
    graph = make_graph(new_session(), weights, C, S, CostSettings(tile="auto"), planned=(48,))
    assert isinstance(graph, TiledGraph) and graph.tile == 48
    with pytest.raises(Exception, match="not enough"):
        make_graph(new_session(), weights, C, S, CostSettings(tile="auto"))
