"""The gallery: every row's options are valid nst.train options; one row renders; bad input is one line."""
import os
import shutil

import imageio.v3 as iio
import numpy as np
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


def test_only_one_row_writes_its_png(tiny_vgg, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NST_ART", raising=False)  # only the paintings row needs them
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


ART_COLOURS = {"starry_night.jpg": (20, 40, 200), "the_scream.jpg": (230, 120, 20), "shipwreck.jpg": (30, 160, 60)}


@pytest.fixture
def art(tmp_path, monkeypatch):
    """A folder of the paintings the gallery knows, as small solid-coloured JPEGs; NST_ART unset."""
    monkeypatch.delenv(gallery.ART_ENV, raising=False)
    folder = tmp_path / "art"
    folder.mkdir()
    for name, colour in ART_COLOURS.items():
        iio.imwrite(folder / name, np.full((48, 64, 3), colour, np.uint8))
    return folder


def tile(picture, row, column, height=64, width=55):
    """The pixels of a grid figure's tile: 48 px of title, tiles 16 px apart with 56 px of caption under each."""
    top, left = 48 + row * (height + 56), 16 + column * (width + 16)
    return picture[top:top + height, left:left + width, :3].astype(int)


def test_paintings_row_writes_the_grid_and_the_readme_picture(tiny_vgg, art, tmp_path, capsys):
    out, work = tmp_path / "images", tmp_path / "work"
    argv = ["--vgg", tiny_vgg["new"][0], "--out", str(out), "--work", str(work), "--only", "paintings",
            "--art", str(art), "--presets", "course,jcjohnson", "--max-side", "64", "--iterations", "2"]
    assert gallery.main(argv) == 0
    assert sorted(os.listdir(out)) == ["gallery_paintings.png", "paintings.png"]
    assert len(os.listdir(work)) == 6  # three paintings, two presets
    grid, hero = iio.imread(out / "gallery_paintings.png"), iio.imread(out / "paintings.png")
    # G is 64x55 (Grace Hopper's 600x512 at longer side 64): 4 columns; inputs, course, jcjohnson / one row
    assert grid.shape[:2] == (48 + 3 * (64 + 56), 16 + 4 * (55 + 16)) == (408, 300)
    assert hero.shape[:2] == (48 + 64 + 56, 300)
    for column, colour in enumerate(ART_COLOURS.values(), 1):  # each painting heads its column
        assert np.abs(tile(grid, 0, column)[32, 27] - colour).max() < 10
    assert (tile(grid, 1, 0)[:8] == 255).all() and (tile(grid, 1, 1)[:8] != 255).any()  # the preset's label
    for column in (1, 2, 3):  # the README picture: the photo, then the last preset's results
        assert (tile(hero, 0, column) == tile(grid, 2, column)).all()
        assert (tile(hero, 0, column) != tile(grid, 1, column)).any()
    assert np.abs(tile(hero, 0, 0) - tile(grid, 0, 0)).mean() < 1  # the photo, resampled alike
    printed = capsys.readouterr().out
    assert "paintings: jcjohnson the_scream.jpg: J=" in printed and "1 rows" in printed


def test_captions_name_the_painting_its_painter_and_year_and_the_runs_time_and_J():
    assert gallery.painting_caption("the_scream.jpg") == "The Scream\nEdvard Munch, 1893"
    assert gallery.painting_caption("starry_night.jpg") == "The Starry Night\nVincent van Gogh, 1889"
    assert gallery.painting_caption("shipwreck.jpg") == "The Shipwreck\nJ. M. W. Turner, 1805"
    last = {"iteration": "2", "J": "1234567.8", "J_content": "1", "J_style": "2", "seconds": "12.345"}
    assert gallery.result_caption("shipwreck.jpg", "course", last) == (
        "The Shipwreck\nJ. M. W. Turner, 1805\ncourse: 12 s, J = 1.23e+06")


def test_the_last_history_row_is_read_by_column_name(tmp_path):
    (tmp_path / "history.csv").write_text("iteration,J,J_content,J_style,J_tv,seconds\n"
                                          "0,9,1,2,3,0.100\n2,7.5,1,2,3,4.250\n")
    last = gallery.last_history_row(str(tmp_path))
    assert (last["J"], last["seconds"]) == ("7.5", "4.250")


def test_paintings_runs_keep_each_presets_own_size_and_length_unless_given():
    def config(preset, *given):
        args = gallery.build_parser().parse_args(list(given))
        return cli.parse(gallery.painting_options(args, preset, "starry.jpg")).config

    jcjohnson, course = config("jcjohnson"), config("course")
    assert (jcjohnson.iterations, jcjohnson.max_side, jcjohnson.optimizer) == (1000, 512, "lbfgs")
    assert (course.iterations, course.max_side, course.seed) == (200, None, 0)
    assert course.style == jcjohnson.style == (os.path.abspath("starry.jpg"),)
    quick = config("jcjohnson", "--max-side", "64", "--iterations", "3")
    assert (quick.iterations, quick.save_every, quick.max_side, quick.optimizer) == (3, 3, 64, "lbfgs")
    exact = config("jcjohnson", "--size", "48x40")
    assert (exact.size, exact.max_side, exact.iterations) == ((48, 40), None, 1000)


def test_art_option_wins_over_nst_art(art, tmp_path, monkeypatch):
    shutil.copytree(art, tmp_path / "elsewhere")
    monkeypatch.setenv(gallery.ART_ENV, str(tmp_path / "elsewhere"))
    assert gallery.art_folder(gallery.build_parser().parse_args(["--art", str(art)])) == str(art)
    assert gallery.art_folder(gallery.build_parser().parse_args([])) == str(tmp_path / "elsewhere")


def missing_painting(art):
    os.remove(art / "the_scream.jpg")
    return ["--art", str(art)]


@pytest.mark.parametrize("setup,fragment", [
    (lambda art: [], "the paintings row needs the paintings: give --art DIR or set NST_ART"),
    (lambda art: ["--art", str(art / "none")], "/art/none (--art): no such folder of paintings"),
    (missing_painting, "/art (--art): missing the painting the_scream.jpg (The Scream)"),
    (lambda art: ["--art", str(art), "--presets", "course,nope"], "--presets: unknown preset 'nope': use some of"),
    (lambda art: ["--art", str(art), "--presets", " , "], "--presets is empty"),
])
def test_bad_paintings_input_is_one_line_and_exit_2(tiny_vgg, art, tmp_path, capsys, setup, fragment):
    argv = ["--vgg", tiny_vgg["new"][0], "--out", str(tmp_path / "out"), "--only", "paintings", *setup(art)]
    assert gallery.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nst gallery: error: ") and err.count("\n") == 1 and fragment in err, err
    assert os.listdir(tmp_path / "out") == []


def test_a_missing_nst_art_folder_is_named_with_the_variable(art, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(gallery.ART_ENV, str(tmp_path / "gone"))
    assert gallery.main(["--out", str(tmp_path / "out"), "--only", "paintings"]) == 2
    assert f"{tmp_path / 'gone'} (NST_ART): no such folder of paintings" in capsys.readouterr().err
