"""A run never loses or replaces a user's file, owns its folder, survives signals, and trusts no checkpoint.

Each case checks the one-line message, the exit code, and that every file that
existed before is byte-identical after.
"""
import fcntl
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, TINY, assert_one_line, costs_of, interrupt_when, photo, read_history, subprocess_env
from nst.algorithm import images
from nst.commands import train as cli
from nst.run.outputs import LOCK_FILE
from synthetic_vgg import make_weights, write_vgg_mat


@pytest.fixture
def env(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    return ["--content", photo(tmp_path / "c.png"), "--style", photo(tmp_path / "s.png", seed=1), "--seed", "0"]


def snapshot(*folders):
    """{path: bytes} of every file under the folders: compared before and after a refused run."""
    files = {}
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                files[str(path)] = path.read_bytes()
    return files


def refused(capsys, argv, *fragments, keep=()):
    """Run nst train; it must fail with one line naming the fragments and leave ``keep`` untouched."""
    before = snapshot(*keep)
    code = cli.main(argv)
    assert_one_line(code, capsys.readouterr().err, *fragments)
    assert snapshot(*keep) == before
    return code


def train(out, *args):
    return cli.main(["--output", str(out), *TINY, *args])


# Never overwrite what the user gave
@pytest.mark.parametrize("option,name", [("--content", "content.png"), ("--style", "style.png"),
                                         ("--init", "final.png"), ("--init", "iteration_0002.png")])
def test_an_input_inside_the_output_folder_is_never_written_over(env, tmp_path, capsys, option, name):
    out = tmp_path / "photos"
    out.mkdir()
    picture = photo(out / name, seed=5)
    inputs = {"--content": env[1], "--style": env[3], option: picture}
    argv = ["--output", str(out), *TINY, "--iterations", "2", "--seed", "0"]
    for flag, path in inputs.items():
        argv += [flag, path]
    refused(capsys, argv, picture, f"this input ({option}) is {name} in the output folder", keep=[tmp_path])


def test_a_link_to_an_input_is_the_same_file(env, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    os.link(env[1], out / "final.png")  # a hard link: another name, the same bytes
    (out / "style.png").symlink_to(env[3])
    refused(capsys, ["--output", str(out), *TINY, *env], "this input (--content) is final.png", keep=[tmp_path])


def test_the_weights_are_an_input_too(tiny_vgg, env, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    os.link(tiny_vgg["new"][0], out / "checkpoint.npz")
    refused(capsys, ["--output", str(out), *TINY, *env, "--vgg", str(out / "checkpoint.npz")],
            "this input (--vgg) is checkpoint.npz", keep=[tmp_path])


def test_an_empty_output_is_refused(env, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["--output", "", *TINY, *env], "--output is empty", keep=[tmp_path])


# A run owns its folder
def test_a_folder_with_an_earlier_run_is_refused_then_overwritten_cleanly(env, tmp_path, capsys):
    out = tmp_path / "out"
    assert train(out, *env, "--iterations", "6", "--save-every", "2") == 0
    (out / "notes.txt").write_text("mine")  # the user's own file: never touched
    refused(capsys, ["--output", str(out), *TINY, *env, "--iterations", "3"], "holds an earlier run",
            "(--resume, --overwrite)", keep=[tmp_path])
    assert train(out, *env, "--iterations", "3", "--save-every", "5", "--overwrite") == 0
    assert sorted(os.listdir(out)) == ["best.png", "checkpoint.npz", "content.png", "final.png", "history.csv",
                                       "notes.txt", "style.png"]  # no iteration_0002.png of the old run
    assert len(read_history(out)) == 4 and (out / "notes.txt").read_text() == "mine"


def test_rerunning_an_interrupted_command_keeps_its_checkpoint(env, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--size", "128x192", "--save-every", "5", "--quiet", *env]
    code, err = interrupt_when([*args, "--output", str(out), "--iterations", "100000"],
                               lambda: (out / "checkpoint.npz").exists())
    assert code == 130, err
    refused(capsys, ["--output", str(out), *args, "--iterations", "100000"], "holds an earlier run", keep=[out])


def test_a_second_run_into_a_locked_folder_is_refused_at_once(env, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time\n"
                               f"fd = os.open({str(out / LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % os.getpid())\n"
                               "print('locked', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused(capsys, ["--output", str(out), *TINY, *env], f"another run is writing there (process {holder.pid})",
                keep=[tmp_path])
        holder.send_signal(signal.SIGKILL)  # dies holding it: the kernel drops a dead process's lock
        holder.wait(timeout=30)
    finally:
        holder.kill()
        holder.stdout.close()
    assert train(out, *env, "--iterations", "2") == 0
    assert not (out / LOCK_FILE).exists()  # released at the end


def test_two_runs_at_once_one_is_refused(env, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another open file: a run in this very process holds it
    os.write(fd, b"4242")
    try:
        refused(capsys, ["--output", str(out), *TINY, *env], "(process 4242)", keep=[tmp_path])
    finally:
        os.close(fd)


def test_temporary_files_of_a_killed_run_are_removed(env, tmp_path):
    out = tmp_path / "out"
    assert train(out, *env, "--iterations", "2") == 0
    fd, left = tempfile.mkstemp(dir=out, prefix=".checkpoint.npz" + images.TEMPORARY_MARK, suffix=".tmp")
    os.write(fd, b"half a checkpoint")  # named as write_atomic names its temporary file
    os.close(fd)
    users = [out / ".mine.tmp", out / ".final.png.mine.tmp", out / ".best.png.12345678.tmp"]
    for path in users:
        path.write_text("not ours")
    assert cli.main(["--resume", str(out), "--iterations", "3"]) == 0
    assert not os.path.exists(left) and all(path.read_text() == "not ours" for path in users)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_follow_the_umask(env, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert train(tmp_path / "out", *env, "--iterations", "2") == 0
    finally:
        os.umask(old)
    for name in ("final.png", "history.csv", "checkpoint.npz", "content.png"):
        assert stat.S_IMODE(os.stat(tmp_path / "out" / name).st_mode) == mode


def test_a_disk_full_at_the_first_write_is_one_line(env, tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out"
    refused(capsys, ["--output", str(out), *TINY, *env], f"{out / 'content.png'}: cannot write",
            "No space left on device", "no image was saved yet")
    assert sorted(os.listdir(out)) == []  # no temporary file, and the lock released


# Signals
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_save_like_ctrl_c_and_the_run_resumes(env, tmp_path, signum):
    out = tmp_path / "out"
    args = ["--size", "128x192", "--save-every", "5", "--quiet", *env]
    code, err = interrupt_when([*args, "--output", str(out), "--iterations", "100000"],
                               lambda: (out / "checkpoint.npz").exists(), signum)
    assert code == 128 + signum, err
    steps = len(read_history(out)) - 1
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1].startswith(f"interrupted ({name}) after {steps} steps") and \
        "Traceback" not in err
    assert (out / f"iteration_{steps:04d}.png").exists()
    assert cli.main(["--resume", str(out), "--iterations", str(steps + 3)]) == 0
    assert cli.main(["--output", str(tmp_path / "whole"), *args, "--iterations", str(steps + 3)]) == 0
    assert costs_of(out) == costs_of(tmp_path / "whole")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_is_one_line(tiny_vgg, tmp_path, signum):
    """Sent while TensorFlow is still being imported: nothing to save, no traceback."""
    process = subprocess.Popen([sys.executable, "-m", "nst", "train", "--output", str(tmp_path / "o"), "--quiet"],
                               stderr=subprocess.PIPE, text=True, env=subprocess_env(NST_VGG19=tiny_vgg["new"][0]),
                               cwd=ROOT)
    timer = threading.Timer(1.5, process.send_signal, [signum])  # the interpreter is up, TF is loading
    timer.start()
    try:
        _, err = process.communicate(timeout=120)
    finally:
        timer.cancel()
        process.kill()
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and err.strip().count("\n") == 0 and "interrupted" in err


# Resume integrity
def rewrite(path, header=None, **arrays):
    """Change a checkpoint's header fields and arrays in place."""
    with np.load(path, allow_pickle=False) as data:
        contents = {name: data[name] for name in data.files}
    head = json.loads(str(contents["header"]))
    for key, value in (header or {}).items():
        target, _, field = key.rpartition(".")
        (head[target] if target else head)[field] = value
    contents.update(arrays, header=np.array(json.dumps(head)))
    with open(path, "wb") as f:
        np.savez(f, **contents)


CHECKPOINT_CASES = [
    ({"config.learning_rate": "fast"}, {}, "learning_rate holds 'fast', not a float"),
    ({"steps": "abc"}, {}, "steps is 'abc', not an integer"),
    ({"steps": -5}, {}, "steps is -5"),
    ({"config.iterations": 1e400}, {}, "iterations holds inf, not an int"),
    ({"config": [1, 2]}, {}, "settings are a list, not a mapping"),
    ({"config.beta": -1}, {}, "beta must be zero or positive"),
    ({"config.seed": 2**40}, {}, "seed must be between"),
    ({"format": 1}, {}, "format 1"),
    ({"fingerprint": "x"}, {}, "fingerprint is not a SHA-256 digest"),
    ({"inputs": {"content": ["x"]}}, {}, "inputs is not a mapping of settings to lists of SHA-256 digests"),
    ({"inputs": ["0" * 64]}, {}, "inputs is not a mapping of settings to lists of SHA-256 digests"),
    ({"best": {"J": float("nan"), "iteration": 1}}, {}, "best has no finite J"),
    ({}, {"history": np.zeros((3, 3))}, "history has shape (3, 3)"),
    ({}, {"history": np.zeros((0, 6))}, "history has shape (0, 6)"),
    ({}, {"var0": np.full((1, 32, 48, 3), np.nan, np.float32)}, "is not an array of finite numbers"),
    ({}, {"var0": np.array(["text"])}, "is not an array of finite numbers"),
    ({}, {"var2": np.zeros((1, 16, 16, 3), np.float32)}, "input (1, 32, 48, 3) is of shape (1, 16, 16, 3)"),
]


@pytest.mark.parametrize("header,arrays,fragment", CHECKPOINT_CASES)
def test_a_damaged_checkpoint_is_refused_field_by_field(env, tmp_path, capsys, header, arrays, fragment):
    out = tmp_path / "out"
    assert train(out, *env, "--iterations", "4", "--save-every", "2") == 0
    rewrite(out / "checkpoint.npz", header, **arrays)
    capsys.readouterr()
    refused(capsys, ["--resume", str(out), "--iterations", "6"], "checkpoint.npz: not a valid checkpoint",
            fragment, keep=[tmp_path])


def test_a_checkpoint_chooses_no_path_to_write(env, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    assert train(out, *env, "--iterations", "2") == 0
    rewrite(out / "checkpoint.npz", {"config.logdir": str(elsewhere), "config.output": str(elsewhere)})
    assert cli.main(["--resume", str(out), "--iterations", "3"]) == 0
    assert not elsewhere.exists() and len(read_history(out)) == 4


def test_changed_weights_anywhere_refuse_the_resume(env, tmp_path, capsys):
    out = tmp_path / "out"
    convs = make_weights()
    write_vgg_mat(str(tmp_path / "a.mat"), convs=convs)
    assert train(out, *env, "--iterations", "2", "--vgg", str(tmp_path / "a.mat")) == 0
    convs["conv5_1"][0][0, 0, 0, 0] += 0.5  # a layer far from the input
    write_vgg_mat(str(tmp_path / "b.mat"), convs=convs)
    refused(capsys, ["--resume", str(out), "--iterations", "3", "--vgg", str(tmp_path / "b.mat")],
            f"error: {tmp_path / 'b.mat'}: differs from what the run being resumed read", keep=[out])
    write_vgg_mat(str(tmp_path / "a.mat"), convs=convs)  # the same file, its weights replaced
    refused(capsys, ["--resume", str(out), "--iterations", "3", "--vgg", str(tmp_path / "a.mat")],
            f"error: {tmp_path / 'a.mat'}: differs from what the run being resumed read", keep=[out])


def flip_pixel(path):
    """A user's smallest edit: one pixel of the picture inverted, in its middle, same size."""
    pixels = images.load_image(str(path)).astype(np.uint8)
    pixels[pixels.shape[0] // 2, pixels.shape[1] // 2] ^= 255
    images.write_atomic(str(path), images.encode_image(pixels, str(path)))


EDITS = {  # name -> (the file that changes, how)
    "one pixel of the content": ("c.png", flip_pixel),
    "the content at another size": ("c.png", lambda path: photo(path, shape=(80, 112))),
    "the content replaced by a copy of the style": ("c.png", lambda path: path.write_bytes(
        (path.parent / "s.png").read_bytes())),
    "one pixel of the style": ("s.png", flip_pixel),
    "one pixel of the second style": ("t.png", flip_pixel),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_resume_on_an_edited_input_names_the_file(env, tmp_path, capsys, edit):
    out, second = tmp_path / "out", photo(tmp_path / "t.png", seed=2)
    assert train(out, *env[:4], second, *env[4:], "--iterations", "2") == 0
    name, change = EDITS[edit]
    change(tmp_path / name)
    before = snapshot(out)
    code = cli.main(["--resume", str(out), "--iterations", "3"])
    err = capsys.readouterr().err
    assert_one_line(code, err, f"error: {tmp_path / name}: differs from what the run being resumed read")
    assert [n for n in ("c.png", "s.png", "t.png") if n in err] == [name]  # that file only
    assert snapshot(out) == before


def test_a_checkpoint_without_input_digests_still_refuses_an_edited_input(env, tmp_path, capsys):
    out = tmp_path / "out"
    assert train(out, *env, "--iterations", "2") == 0
    rewrite(out / "checkpoint.npz", {"inputs": None})  # as written before checkpoints kept them
    flip_pixel(tmp_path / "c.png")
    refused(capsys, ["--resume", str(out), "--iterations", "3"], "are not those of the run being resumed",
            keep=[out])


# Paths that are not files, and numbers out of range: refused before anything is written
@pytest.mark.parametrize("option", ["--content", "--style", "--init", "--vgg"])
def test_a_fifo_or_folder_for_any_path_is_refused_without_blocking(env, tmp_path, capsys, option):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO"), (tmp_path, "a directory")):
        refused(capsys, ["--output", str(tmp_path / "out"), *TINY, *env, option, str(path)], str(path), kind)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--seed", "-1"], "--seed must be between 0 and 2**32 - 1, got -1"),
    (["--seed", "4294967296"], "--seed must be between 0 and 2**32 - 1, got 4294967296"),
    (["--style-scale", "inf"], "--style-scale must be positive, got inf"),
    (["--style-scale", "1e300"], "--style-scale"),
    (["--alpha", "nan"], "--alpha must be zero or positive, got nan"),
    (["--style-layers", "conv1_1:-1"], "--style-layers: weights must be zero or positive"),
    (["--content-layers", "conv4_2:inf"], "--content-layers: weights must be zero or positive"),
    (["--style-blend", "1e308", "1e308", "--style", "x.png", "y.png"], "--style-blend: weights must be zero"),
    (["--noise-ratio", "nan"], "--noise-ratio must be between 0 and 1"),
    (["--resume", "out", "--overwrite"], "give one of them"),
    (["--size", "70000x300"], "--size: size 70000x300 is too large: each side must be at most 65536 px"),
    (["--max-pixels", "0"], "--max-pixels must be positive, got 0"),
    (["--init", "noise", "--init-std", "0.5"], "--init-std applies to the start 'gaussian' only"),
    (["--content", "/dev/zero"], "/dev/zero: not a regular file (a device)"),
])
def test_numbers_out_of_range_are_refused_before_anything_is_written(bad_input, args, fragment):
    assert_one_line(*bad_input(*args), fragment)


def test_a_huge_style_layer_exponent_runs(env, tmp_path):
    assert train(tmp_path / "o", *env, "--iterations", "2", "--style-layer-weight-exp", "1e200") == 0
    J, J_content, J_style = (float(v) for v in costs_of(tmp_path / "o")[0])
    assert np.isfinite(J_style) and J == pytest.approx(10 * J_content + 40 * J_style, rel=1e-5)
