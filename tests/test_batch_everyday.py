"""nst batch as a user meets it: a bar that moves inside a job, a HOME left alone, no Ray left running after
kill -9, a full disk in one line.

Each batch runs as ``python -m nst batch``, as a user would, with its Ray under a folder of the test's own
(``RAY_TMPDIR``). Nothing waits for a guessed time: the jobs are held at their first checkpoint by
tests/hold/sitecustomize.py, which also plays the full disk.
"""
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import pytest

from helpers import ROOT, held, hold_env, photo, require, using, wait_until

require("ray")  # the test extra: missing, these tests fail

STEPS, SAVE_EVERY = 20, 5


@pytest.fixture
def batch(tiny_vgg, tmp_path):
    """(args of a batch of ``jobs`` jobs, its environment, the holds folder, Ray's folder): job ``job`` of the
    one worker held at its first checkpoint."""
    ray_folder = tempfile.mkdtemp(prefix="nst-rt-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    holds = tmp_path / "holds"
    holds.mkdir()
    pictures = [photo(tmp_path / f"{name}.png", (32, 48), seed) for seed, name in enumerate(["c0", "s0", "s1"])]

    def make(jobs=1, job=1, **env):
        args = ["--content", pictures[0], "--style", *pictures[1:1 + jobs], "--output", str(tmp_path / "out"),
                "--size", "32x48", "--iterations", str(STEPS), "--save-every", str(SAVE_EVERY), "--seed", "0",
                "--workers", "1"]
        return args, hold_env(holds, job=job, RAY_TMPDIR=ray_folder, NST_VGG19=tiny_vgg["new"][0], **env)

    try:
        yield make, holds, ray_folder
    finally:
        (holds / "release").touch()
        for pid in using(ray_folder):  # whatever a failed test left running
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_folder, ignore_errors=True)


def start(args, env):
    return subprocess.Popen([sys.executable, "-m", "nst", "batch", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class Lines:
    """What a process writes to a pipe, read as it comes, cut at tqdm's carriage returns and at newlines."""

    def __init__(self, pipe):
        self.chunks, self.thread = [], threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        for chunk in iter(lambda: os.read(pipe.fileno(), 4096), b""):
            self.chunks.append(chunk)

    def lines(self):
        return re.split(r"[\r\n]+", b"".join(self.chunks).decode(errors="replace"))


def elapsed(line):
    """The bar's elapsed seconds, from its ``[MM:SS``."""
    minutes, seconds = re.search(r"\[(\d+):(\d\d)", line).groups()
    return 60 * int(minutes) + int(seconds)


def test_the_bar_shows_the_running_jobs_steps_and_its_clock_runs(batch):
    make, holds, _ = batch
    args, env = make()
    process = start(args, env)
    err = Lines(process.stderr)
    try:
        wait_until(lambda: held(holds), 300, "the job held at its first checkpoint", alive=process)
        shown = f"1 running: {SAVE_EVERY}/{STEPS} steps"

        def held_lines():
            return [line for line in err.lines() if shown in line]

        wait_until(held_lines, 60, f"the bar showing {shown!r}: {err.lines()[-3:]}", alive=process)
        first = elapsed(held_lines()[0])
        wait_until(lambda: elapsed(held_lines()[-1]) >= first + 2, 60,
                   f"the bar's clock going on while the job is held: {held_lines()[-3:]}", alive=process)
        left = {re.search(r"(\S+) left", line).group(1) for line in held_lines()}
        assert "?" not in left and len(left) > 1, held_lines()  # a time left, and it moves
        (holds / "release").touch()
        assert process.wait(timeout=120) == 0, err.lines()[-5:]
    finally:
        process.kill()


def test_a_batch_leaves_home_and_rays_folder_as_they_were(batch, tmp_path):
    make, _, ray_folder = batch
    home = tmp_path / "home"
    home.mkdir()
    args, env = make(HOME=str(home))
    (tmp_path / "holds" / "release").touch()  # nothing held
    done = subprocess.run([sys.executable, "-m", "nst", "batch", *args, "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    left = sorted(os.path.relpath(os.path.join(d, n), home) for d, dirs, files in os.walk(home) for n in dirs + files)
    # TensorFlow's own, as for every nst command (docs/batch.md): its Keras settings, matplotlib's font cache
    theirs = re.compile(r"\.keras(/keras\.json)?|\.(cache|config)(/matplotlib(/fontlist-v[\d.]+\.json)?)?")
    assert [name for name in left if not theirs.fullmatch(name)] == [], left
    assert os.listdir(ray_folder) == []


def test_a_killed_driver_leaves_no_ray_process_running(batch):
    make, holds, ray_folder = batch
    args, env = make()
    process = start(args, env)
    try:
        wait_until(lambda: held(holds), 300, "the job held at its first checkpoint", alive=process)
        ray_processes = using(ray_folder)
        assert len(ray_processes) > 2, ray_processes  # the driver, Ray's GCS and raylet, agents, the worker
        process.kill()  # SIGKILL: nothing of the driver runs after it
        process.wait(timeout=10)
        wait_until(lambda: not using(ray_folder), 30, f"Ray's processes ending: {using(ray_folder)} left", poll=0.5)
        wait_until(lambda: os.listdir(ray_folder) == [], 30, f"Ray's folder removed: {os.listdir(ray_folder)}")
    finally:
        process.kill()


def manifest(out):
    with open(os.path.join(out, "manifest.csv"), newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def test_a_full_disk_stops_the_batch_in_one_line_keeping_what_is_done(batch, tmp_path):
    make, holds, _ = batch
    out = tmp_path / "out"
    args, env = make(jobs=2, job=2, NST_TEST_FULL_DIR=str(out))
    args.append("--quiet")
    process = start(args, env)
    try:
        wait_until(lambda: held(holds), 300, "the second job held at its first checkpoint", alive=process)
        finished = (out / "c0--s0" / "final.png").read_bytes()
        (holds / "full").touch()  # the disk is full from now on
        (holds / "release").touch()
        _, err = process.communicate(timeout=300)
    finally:
        process.kill()
    err = err.decode()
    assert process.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"nst batch: error: {out / 'c0--s1' / 'iteration_0010.png'}: cannot write ("), err
    assert "no space left on device" in err.lower(), err
    rows = manifest(out)
    assert rows["c0--s0"]["status"] == "done" and rows["c0--s1"]["status"] in ("running", "pending"), rows
    assert (out / "c0--s0" / "final.png").read_bytes() == finished
    kept = {name: (out / name).read_bytes() for name in ("manifest.csv", "c0--s1/checkpoint.npz")}

    again = subprocess.run([sys.executable, "-m", "nst", "batch", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)  # still full: the batch's lock cannot be written
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
    assert again.stderr.startswith(f"nst batch: error: {out / '.nst.lock'}: cannot write ("), again.stderr
    assert {name: (out / name).read_bytes() for name in kept} == kept and not (out / ".nst.lock").exists()

    (holds / "full").unlink()  # room again: the same command finishes the batch, the done job untouched
    again = subprocess.run([sys.executable, "-m", "nst", "batch", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert {row["status"] for row in manifest(out).values()} == {"done"}
    assert (out / "c0--s0" / "final.png").read_bytes() == finished
