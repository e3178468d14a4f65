"""The gallery: every row's options are valid nst.train options; one row renders; bad input is one line."""
import os

import imageio.v3 as iio
import pytest

from nst.commands import train as cli
from nst.tools import gallery
from nst.algorithm.images import load_image

TINY = ["--max-side", "40", "--iterations", "2"]


def test_every_picture_is_a_valid_nst_train_command():
    args = gallery.build_parser().parse_args([])
    for row in gallery.ROWS:
        assert row.name.isidentifier() and len(row.pictures) >= 2
        for picture in row.pictures:
            argv = gallery.common_options(args) + list(row.options) + list(picture.options)
            config, checkpoint, _ = cli.parse(argv)  # parsed and validated as nst train would
            own = list(picture.options)
            iterations = int(own[own.index("--iterations") + 1]) if "--iterations" in own else args.iterations
            assert checkpoint is None and config.iterations == iterations and config.seed == args.seed
            assert "".join(gallery.caption(row, picture).split()).startswith("".join(picture.options))


def configs_of(row, args):
    return [cli.parse(gallery.common_options(args) + list(row.options) + list(p.options)).config for p in row.pictures]


@pytest.mark.parametrize("row", gallery.ROWS, ids=gallery.ROW_NAMES)
def test_each_picture_says_what_ran_for_it_from_its_own_settings(row):
    args = gallery.build_parser().parse_args([])
    configs = configs_of(row, args)
    shared, lengths = gallery.run_lengths(configs)
    title = gallery.subtitle(row, args, shared)
    for picture, config, length in zip(row.pictures, configs, lengths):
        said = config.length()  # "150 Adam steps", "1000 L-BFGS iterations"
        assert said in title or said in " ".join(gallery.caption(row, picture, length).split()), (said, title)
        assert "Adam" not in title or config.optimizer == "adam"


def test_the_presets_row_names_adam_for_the_course_and_l_bfgs_for_jcjohnson():
    args = gallery.build_parser().parse_args([])
    row = dict(zip(gallery.ROW_NAMES, gallery.ROWS))["presets"]
    shared, lengths = gallery.run_lengths(configs_of(row, args))
    assert (shared, lengths) == ("", ["150 Adam steps", "1000 L-BFGS iterations"])
    assert gallery.subtitle(row, args, shared) == "longer side 192 px, seed 0, other options at defaults"
    assert gallery.caption(row, row.pictures[1], lengths[1]).endswith("\n1000 L-BFGS iterations")


def test_only_one_row_writes_its_png(tiny_vgg, tmp_path, capsys):
    out, work = tmp_path / "images", tmp_path / "work"
    argv = ["--vgg", tiny_vgg["new"][0], "--out", str(out), "--work", str(work), "--only", "noise_ratio", *TINY]
    assert gallery.main(argv) == 0
    assert os.listdir(out) == ["gallery_noise_ratio.png"]
    picture = iio.imread(out / "gallery_noise_ratio.png")
    assert picture.ndim == 3 and picture.shape[1] > 3 * 40  # three tiles side by side
    assert len(os.listdir(work)) == 3  # one run per picture
    printed = capsys.readouterr().out
    assert "--noise-ratio 0: J=" in printed and "wrote" in printed and "1 rows" in printed


def test_the_default_run_is_made_once_for_all_rows(tiny_vgg, tmp_path, capsys):
    work = tmp_path / "work"
    argv = ["--vgg", tiny_vgg["new"][0], "--out", str(tmp_path), "--work", str(work), *TINY,
            "--only", "noise_ratio", "--only", "pooling"]
    assert gallery.main(argv) == 0
    assert sorted(os.listdir(tmp_path)) == ["gallery_noise_ratio.png", "gallery_pooling.png", "work"]
    assert len(os.listdir(work)) == 4  # noise 0, default, noise 1, max pooling


@pytest.mark.parametrize("args,fragment", [
    (["--only", "colour"], "invalid choice: 'colour'"),
    (["--iterations", "0"], "--iterations must be positive"),
    (["--size", "10x10"], "too small"),
    (["--vgg", "/nonexistent/vgg.mat"], "/nonexistent/vgg.mat: VGG-19 weights not found"),
])
def test_bad_input_is_one_line_and_exit_2(tiny_vgg, tmp_path, capsys, args, fragment):
    argv = ["--vgg", tiny_vgg["new"][0], "--out", str(tmp_path / "out"), "--only", "pooling", "--iterations", "2",
            *args]  # each fails before any run
    assert gallery.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nst gallery: error: ") and err.count("\n") == 1 and fragment in err
    assert not os.path.exists(tmp_path / "out" / "gallery_pooling.png")


def test_output_folder_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    assert gallery.main(["--out", str(blocker)]) == 2
    assert "not a directory" in capsys.readouterr().err and blocker.read_text() == "keep"


def test_style_placeholders_become_procedural_files(tmp_path):
    argv = gallery.style_file_options(["--style", "{swirl}", "{stripes}", "--beta", "1"], str(tmp_path))
    assert argv[0] == "--style" and argv[3:] == ["--beta", "1"]
    swirl, stripes = (load_image(path) for path in argv[1:3])
    assert swirl.shape == stripes.shape == (512, 512, 3)
    assert stripes[..., 0].mean() > stripes[..., 2].mean() + 100  # warm, unlike the blue swirl
    assert swirl[..., 2].mean() > swirl[..., 0].mean()
