"""The two speed options (filter cache, bfloat16) change nothing they must not: oneDNN's cached filters
(values and gradients equal to tf.nn.conv2d's, weights still outside the GraphDef) and
--precision bf16 (costs in float32, J close to float64 numpy, the float32 graph untouched)."""
import numpy as np
import pytest
from helpers import TINY, assert_one_line, images3, np_J, photo, read_history, run_cli

from nst.algorithm import onednn
from nst.run.config import RunConfig
from nst.algorithm.costs import CONTENT_LAYER, STYLE_LAYERS
from nst.errors import NSTError
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import read_vgg_weights


@pytest.fixture
def cache(monkeypatch):
    """Force the cached filters on (where this TensorFlow has oneDNN) for one test."""
    monkeypatch.setenv(onednn.ENV, "1")
    onednn.available.cache_clear()
    if not onednn.available():
        pytest.skip("this TensorFlow has no oneDNN convolution to cache filters in")
    yield
    monkeypatch.undo()
    onednn.available.cache_clear()


def test_cached_conv_relu_equals_conv2d_and_its_gradient(cache):
    rng = np.random.RandomState(4)
    x, f, b = rng.randn(1, 12, 10, 5), rng.randn(3, 3, 5, 7), rng.randn(7)
    with tf.Graph().as_default(), tf.Session() as sess:
        image, filters = tf.Variable(x.astype(np.float32)), tf.Variable(f.astype(np.float32))
        sess.run(tf.global_variables_initializer())
        cached = onednn.conv_relu(tf.identity(image), filters, tf.constant(b.astype(np.float32)))
        plain = tf.nn.relu(tf.nn.conv2d(image, filters, [1, 1, 1, 1], "SAME") + b.astype(np.float32))
        weights = rng.randn(1, 12, 10, 7).astype(np.float32)  # a cost whose gradient reaches every pixel
        grads = [tf.gradients(tf.reduce_sum(out * weights), image)[0] for out in (cached, plain)]
        got, want, grad_got, grad_want = sess.run([cached, plain] + grads)
    # the forward pass against float64 numpy, then the gradient against TensorFlow's own
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))
    numpy = np.maximum(np.einsum("hwcij,ijco->hwo", windows, f) + b, 0)
    np.testing.assert_allclose(got[0], numpy, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad_got, grad_want, rtol=1e-5, atol=1e-5)


def _adam_history(weights, C, S, G, settings=None, steps=6):
    sess = new_session()
    try:
        graph = build_graph(sess, weights, C, S, settings)
        graph.initialize(G)
        history = [sess.run([graph.train_step, graph.J])[1] for _ in range(steps)]
        return np.array(history), graph
    finally:
        sess.close()


def test_cached_filters_follow_the_plain_graph_and_keep_weights_out_of_the_graphdef(tiny_vgg, cache):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = images3(seed=5)
    cached, graph = _adam_history(weights, C, S, G)
    assert any(op.type == onednn.OP for op in graph.sess.graph.get_operations())
    constants = {tuple(d.size for d in node.attr["value"].tensor.tensor_shape.dim)
                 for node in graph.sess.graph.as_graph_def().node if node.op == "Const"}
    assert not constants & {f.shape for f, _ in weights.convs.values()}  # the filters stay in variables
    with pytest.MonkeyPatch.context() as m:
        m.setenv(onednn.ENV, "0")
        onednn.available.cache_clear()
        plain, graph = _adam_history(weights, C, S, G)
        assert not any(op.type == onednn.OP for op in graph.sess.graph.get_operations())
    onednn.available.cache_clear()
    np.testing.assert_allclose(cached, plain, rtol=1e-5)


def test_filter_cache_setting(monkeypatch):
    for setting, expected in (("1", True), ("0", False)):
        monkeypatch.setenv(onednn.ENV, setting)
        assert onednn.wanted() is expected
    monkeypatch.delenv(onednn.ENV)
    with open("/proc/cpuinfo") as info:  # read here, not by the code under test
        amx = any(line.startswith("flags") and "amx_tile" in line.split() for line in info)
    assert onednn.wanted() is amx


def test_bf16_costs_are_float32_and_close_to_float64_numpy(tiny_vgg):
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = images3(seed=6)
    history, graph = _adam_history(weights, C, S, G, CostSettings(precision="bf16"), steps=1)
    assert graph.J.dtype == tf.float32 and graph.model["conv4_2"].dtype == tf.float32
    assert graph.model["weights"]["conv1_1"][0].dtype.base_dtype == tf.bfloat16
    want = np_J(weights.convs, C, S, G, ((CONTENT_LAYER, 1.0),), STYLE_LAYERS)[0]
    assert history[0] == pytest.approx(want, rel=2e-2)  # bfloat16 keeps 8 bits of mantissa
    assert history[0] != pytest.approx(want, rel=1e-6)  # and it really ran in bfloat16


def test_float32_graph_has_no_casts(tiny_vgg):
    """The default graph is the one whose cost history is pinned: --precision adds nothing to it."""
    weights = read_vgg_weights(tiny_vgg["new"][0])
    C, S, G = images3(seed=6)
    _, graph = _adam_history(weights, C, S, G, steps=1)
    assert not [op.name for op in graph.sess.graph.get_operations() if op.type == "Cast"]


def test_precision_is_checked_and_kept_on_resume(tiny_vgg, tmp_path):
    with pytest.raises(NSTError, match="unknown value 'fp16'"):
        RunConfig(precision="fp16").validate()
    content, out = photo(tmp_path / "c.png"), tmp_path / "out"
    args = ["--content", str(content), *TINY, "--vgg", tiny_vgg["new"][0]]
    done = run_cli(args + ["--iterations", "2", "--precision", "bf16", "--output", str(out)])
    assert done.returncode == 0, done.stderr
    assert len(read_history(out)) == 3
    done = run_cli(["--resume", str(out), "--iterations", "3", "--precision", "fp32", "--quiet"])
    assert_one_line(done.returncode, done.stderr, "--precision cannot change when resuming",
                    "the run has bf16, the command gives fp32")
