"""What a new user reads: words that match what ran."""
import signal
import socket
import subprocess
import sys

from helpers import ROOT, assert_one_line, interrupt_when, photo, subprocess_env
from nst.commands import train as cli


def test_an_lbfgs_run_reports_iterations_not_steps(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    assert cli.main(["--content", c, "--style", s, "--size", "32x48", "--optimizer", "lbfgs", "--iterations", "2",
                     "--quiet", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "after 2 iterations" in out and " steps" not in out.split("also wrote")[0]


def test_a_refused_output_folder_is_one_line_with_no_header_before_it(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    args = ["--content", c, "--style", s, "--size", "32x48", "--iterations", "1", "--output", str(tmp_path / "o")]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert_one_line(cli.main(args), capsys.readouterr().err, "holds an earlier run")


def test_a_stopped_run_writes_its_last_image_to_the_output_it_was_given(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    result = tmp_path / "me_starry.jpg"
    folder = tmp_path / "me_starry.run"
    code, err = interrupt_when(["--content", c, "--style", s, "--size", "64x96", "--save-every", "2", "--quiet",
                                "--output", str(result), "--iterations", "100000"],
                               lambda: (folder / "checkpoint.npz").exists())
    assert code == 130, err
    assert result.exists() and f"saved {result}" in err


def test_an_output_named_like_a_gif_or_video_is_refused_not_made_a_folder(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    for name in ("result.gif", "result.mp4"):
        code = cli.main(["--size", "32x48", "--iterations", "1", "--output", str(tmp_path / name)])
        assert_one_line(code, capsys.readouterr().err, f"--output {tmp_path / name}: a result is saved as .png",
                        f"not {name[-4:]}")
    assert list(tmp_path.iterdir()) == []


# --- nst serve: limits, a port in use, the exit code of a stop -------------------------------------

def test_serve_limits_that_are_not_finite_are_one_line(tiny_vgg, tmp_path, capsys):
    from nst.web import command as serve

    upload = "give a number of at least one byte's worth"
    for option, value, says in (("--max-upload-mb", "inf", upload), ("--max-upload-mb", "nan", upload),
                                ("--max-pixels", "0", "give a number of at least 1")):
        code = serve.main([option, value, "--vgg", tiny_vgg["new"][0], "--output", str(tmp_path / "out")])
        assert_one_line(code, capsys.readouterr().err, f"{option} ", says, prog="nst serve")
    assert not (tmp_path / "out").exists()


def test_serve_on_a_port_in_use_names_the_option_to_change(tiny_vgg, tmp_path, capsys):
    from nst.web import command as serve

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        code = serve.main(["--port", port, "--vgg", tiny_vgg["new"][0], "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert_one_line(code, err, f"127.0.0.1:{port}: cannot listen there", "--port", prog="nst serve")
    assert "GRADIO" not in err


def test_serve_stopped_by_a_signal_exits_with_its_code(tiny_vgg, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    process = subprocess.Popen([sys.executable, "-m", "nst", "serve", "--port", port, "--vgg", tiny_vgg["new"][0],
                                "--output", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=subprocess_env(), cwd=ROOT)
    try:
        assert process.stdout.readline().startswith("nst serve: http://127.0.0.1:")  # listening now
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and "nst serve: stopped (SIGINT)" in err and "Traceback" not in err


def test_bench_refuses_no_steps_in_one_line_naming_the_option(capsys):
    from nst.tools import bench

    assert_one_line(bench.main(["--steps", "0"]), capsys.readouterr().err, "--steps 0: give 1 or more",
                    prog="nst bench")


def test_video_help_offers_no_option_a_video_refuses():
    from nst.video import command as video

    text = video.build_parser().format_help()
    assert "--content PATH" not in text and "--coarse-to-fine" not in text and "--logdir" not in text
    assert "--content-layer" in text and "--style" in text


def test_a_video_run_folder_that_is_the_input_frames_folder_is_refused(tiny_vgg, tmp_path, monkeypatch, capsys):
    from nst.video import command as video

    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    frames = tmp_path / "out.run"
    frames.mkdir()
    for i in range(2):
        photo(frames / f"frame_{i:04d}.png", seed=i)
    before = {p.name: p.read_bytes() for p in frames.iterdir()}
    for output in (tmp_path / "out.mp4", frames / "styled.mp4"):
        code = video.main([str(frames), "--output", str(output), "--size", "32x48", "--quiet"])
        assert_one_line(code, capsys.readouterr().err, "would hold or be inside the input", prog="nst video")
    assert {p.name: p.read_bytes() for p in frames.iterdir()} == before
