"""The .mat loader on synthetic files of both layouts, its errors, and the real weights."""
import numpy as np
import pytest
import scipy.io

from numpy_vgg import forward
from nst.errors import NSTError
from nst.algorithm.images import load_image, reshape_and_normalize_image, resize_image
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import CONV_LAYERS, deepest, load_vgg_model, read_vgg_weights
from synthetic_vgg import MEAN, write_vgg_mat


def activations(path, image, names, pooling="avg", up_to=None):
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        model = load_vgg_model(path, image.shape[0], image.shape[1], pooling, up_to)
        sess.run(model["input"].assign(image[None]))
        return model, dict(zip(names, sess.run([model[n] for n in names])))


@pytest.mark.parametrize("fmt", ["new", "old"])
def test_reads_both_layouts_by_field_name(tiny_vgg, fmt):
    path, convs = tiny_vgg[fmt]
    weights = read_vgg_weights(path)
    assert sorted(weights.convs) == sorted(CONV_LAYERS)
    for name, (filters, biases) in convs.items():
        np.testing.assert_array_equal(weights.convs[name][0], filters)
        np.testing.assert_array_equal(weights.convs[name][1], biases)
    np.testing.assert_allclose(weights.mean_pixel, MEAN, rtol=1e-6)  # old: mean of the mean image


@pytest.mark.parametrize("fmt,pooling", [("new", "avg"), ("old", "max")])
def test_graph_matches_numpy_forward_pass(tiny_vgg, fmt, pooling):
    path, convs = tiny_vgg[fmt]
    image = np.random.RandomState(0).uniform(-100, 100, (48, 32, 3)).astype(np.float32)
    names = ["conv1_1", "conv2_2", "pool3", "conv4_2", "conv5_1"]
    _, got = activations(path, image, names, pooling)
    want = forward(image, convs, "conv5_1", pooling)
    for name in names:
        np.testing.assert_allclose(got[name][0], want[name], rtol=1e-4, atol=1e-4 * np.abs(want[name]).max())


def test_builds_only_up_to_the_deepest_layer_needed(tiny_vgg):
    path, _ = tiny_vgg["new"]
    model, _ = activations(path, np.zeros((32, 32, 3), np.float32), ["conv4_2"], up_to="relu4_2")
    assert "conv4_2" in model and "relu4_2" in model and model["relu4_2"] is model["conv4_2"]
    assert "conv4_3" not in model and "pool4" not in model and "conv5_1" not in model
    assert model["input"].shape.as_list() == [1, 32, 32, 3]
    assert deepest(["conv1_1", "relu4_2", "conv3_1"]) == "conv4_2"


def test_input_is_an_assignable_variable(tiny_vgg):
    path, _ = tiny_vgg["new"]
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        model = load_vgg_model(path, 32, 40, up_to="conv1_1")
        image = np.full((1, 32, 40, 3), 7.0, np.float32)
        sess.run(model["input"].assign(image))
        np.testing.assert_array_equal(sess.run(model["input"]), image)
        assert model["input"] in tf.trainable_variables()


def _expect_error(path, *fragments):
    with pytest.raises(NSTError) as info:
        read_vgg_weights(str(path))
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "none.mat", "not found", "nst download", "NST_VGG19")


def test_truncated_file(tmp_path, tiny_vgg):
    data = open(tiny_vgg["new"][0], "rb").read()
    cut = tmp_path / "cut.mat"
    cut.write_bytes(data[: len(data) // 2])
    _expect_error(cut, "truncated or corrupt")


def test_vgg16_file_is_refused(tmp_path):
    path = tmp_path / "vgg16.mat"
    write_vgg_mat(str(path), "new", blocks=(2, 2, 3, 3, 3), extra_fc=False)
    _expect_error(path, "not a VGG-19", "VGG-16", "conv3_4")


def test_unrelated_mat_is_refused(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(str(path), {"x": np.arange(4)})
    _expect_error(path, "not a MatConvNet model file")


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.mat"
    path.write_text("hello")
    _expect_error(path, "cannot read as a .mat file")


def test_real_weights_match_numpy_forward_pass(real_vgg):
    """conv1_1 .. conv2_1 of the real file, on a real photo, against float64 numpy."""
    import matplotlib.cbook

    weights = read_vgg_weights(real_vgg)
    assert weights.convs["conv1_1"][0].shape == (3, 3, 3, 64)
    assert weights.convs["conv5_4"][0].shape == (3, 3, 512, 512)
    np.testing.assert_allclose(weights.mean_pixel, [123.68, 116.779, 103.939], rtol=1e-5)
    photo = load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    image = reshape_and_normalize_image(resize_image(photo, (32, 24)), weights.mean_pixel)[0]
    names = ["conv1_1", "conv1_2", "pool1", "conv2_1"]
    _, got = activations(real_vgg, image, names, up_to="conv2_1")
    want = forward(image, weights.convs, "conv2_1")
    for name in names:
        np.testing.assert_allclose(got[name][0], want[name], rtol=1e-4, atol=1e-4 * want[name].max())
    # Filters are used as stored ([h, w, in, out], RGB): the stored layout gives edge detectors
    # whose response differs from the transposed layout, so the check above pins the layout.
    flipped = {k: (np.transpose(f, (1, 0, 2, 3)), b) for k, (f, b) in weights.convs.items()}
    assert not np.allclose(forward(image, flipped, "conv1_1")["conv1_1"], want["conv1_1"], rtol=1e-3)


def test_weights_are_held_once_outside_the_graph_definition(tiny_vgg):
    """Filters live in non-trainable variables that fill themselves from the array: no GraphDef constants."""
    path, convs = tiny_vgg["new"]
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        model = load_vgg_model(path, 32, 32, up_to="conv2_1")  # loads into the default session
        assert tf.trainable_variables() == [model["input"]]  # minimize(J) moves the image alone
        assert {v.op.name for v in tf.global_variables()} == {"input"} | {
            f"{name}/{kind}" for name in ("conv1_1", "conv1_2", "conv2_1") for kind in ("filters", "biases")}
        sess.run(tf.global_variables_initializer())  # the course's call: needs no feed
        np.testing.assert_array_equal(sess.run(model["weights"]["conv1_1"][0]), convs["conv1_1"][0])
        graph_bytes = graph.as_graph_def().ByteSize()
    weight_bytes = sum(f.nbytes + b.nbytes for f, b in convs.values())
    assert graph_bytes < weight_bytes / 4


@pytest.mark.parametrize("fmt", ["new", "old"])
def test_the_course_idiom_plain_session_and_global_initializer(tiny_vgg, fmt):
    """load_vgg_model, then a new tf.Session and tf.global_variables_initializer(), as the course does."""
    path, convs = tiny_vgg[fmt]
    image = np.random.RandomState(1).uniform(-100, 100, (1, 64, 32, 3)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        model = load_vgg_model(path, 64, 32)  # no session exists yet: nothing can be loaded now
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(model["input"].assign(image))
            got = sess.run({name: model[name] for name in ("conv1_1", "conv3_2", "conv5_1")})
    want = forward(image[0], convs, "conv5_1")
    for name, value in got.items():
        np.testing.assert_allclose(value[0], want[name], rtol=1e-4, atol=1e-4 * np.abs(want[name]).max())


def test_the_course_idiom_interactive_session_first(tiny_vgg):
    """InteractiveSession, then load_vgg_model: activations can be read before any initializer runs."""
    path, convs = tiny_vgg["new"]
    image = np.random.RandomState(2).uniform(-100, 100, (1, 32, 32, 3)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        sess = tf.InteractiveSession()
        try:
            model = load_vgg_model(path, 32, 32, up_to="conv2_1")
            sess.run(model["input"].assign(image))
            a_C = sess.run(model["conv2_1"])  # the course reads a_C here, before global_variables_initializer
            sess.run(tf.global_variables_initializer())
            sess.run(model["input"].assign(image))
            np.testing.assert_array_equal(sess.run(model["conv2_1"]), a_C)
        finally:
            sess.close()
    np.testing.assert_allclose(a_C[0], forward(image[0], convs, "conv2_1")["conv2_1"], rtol=1e-4,
                               atol=1e-4 * np.abs(a_C).max())


def test_weights_load_later_without_a_session(tiny_vgg):
    from nst.algorithm.vgg import initialize_weights

    path, convs = tiny_vgg["old"]
    graph = tf.Graph()
    with graph.as_default():
        model = load_vgg_model(path, 32, 32, up_to="conv1_1")
        with tf.Session() as sess:
            initialize_weights(sess, model)
            np.testing.assert_array_equal(sess.run(model["weights"]["conv1_1"][1]), convs["conv1_1"][1])
