"""nst batch on embedded Ray: a 2x2 batch, a rerun that runs nothing, bad inputs, a stop, loopback only.

Ray is in the test extra: without it these tests fail, they are never skipped.
The in-process batches share one embedded Ray (starting Ray takes seconds);
the stop test runs the command as a process, as a user would.
"""
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from helpers import ROOT, held, hold_env, photo, read_history, require, wait_until
from loopback import descendants, off_loopback, sockets
from nst.batch import cluster, command
from nst.run.config import RunConfig
from nst.run import run_style_transfer

ray = require("ray")  # the test extra: missing, these tests fail

SMALL = ["--size", "48x64", "--iterations", "3", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def ray_here():
    """One embedded Ray, as nst batch starts it, for this module's in-process batches."""
    temp = tempfile.mkdtemp(prefix="nst-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    before = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = temp
    end_ray = None
    try:
        end_ray = cluster.connect(workers=2)
        assert end_ray
        yield
    finally:
        end_ray() if end_ray else ray.shutdown()
        os.environ.pop("RAY_TMPDIR") if before is None else os.environ.update(RAY_TMPDIR=before)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    made = {name: photo(folder / f"{name}.png", (48, 64), seed) for seed, name in enumerate(["c0", "c1", "s0", "s1"])}
    (folder / "bad.png").write_bytes(b"not a picture")
    made["bad"] = str(folder / "bad.png")
    return made


@pytest.fixture
def weights(tiny_vgg, monkeypatch):
    path = tiny_vgg["new"][0]
    monkeypatch.setenv("NST_VGG19", path)
    return path


def manifest(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def alone(content, style, vgg, iterations=3, seed=0, **settings):
    """The final J of the job run by itself, through nst's run layer, nothing written."""
    config = RunConfig(content=content, style=(style,), size=(48, 64), iterations=iterations, seed=seed, output=None,
                       quiet=True, vgg=vgg, **settings)
    return run_style_transfer(config).history[-1].J


def files_and_times(folder):
    return {os.path.join(d, n): os.stat(os.path.join(d, n)).st_mtime_ns
            for d, _, names in os.walk(folder) for n in names}


def test_two_by_two_then_a_rerun_runs_nothing(ray_here, pictures, weights, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "out")
    code = command.main(["--content", pictures["c0"], pictures["c1"], "--style", pictures["s0"], pictures["s1"],
                         "--output", out, "--workers", "2", *SMALL])
    assert code == 0, capsys.readouterr().err
    rows = manifest(out)
    assert sorted(rows) == ["c0--s0", "c0--s1", "c1--s0", "c1--s1"]
    for job, row in rows.items():
        c, s = job.split("--")
        assert (row["status"], row["steps"], row["node"], row["error"]) == ("done", "3", "127.0.0.2", "")
        assert (row["content"], row["style"]) == (pictures[c], pictures[s])
        assert float(row["J"]) == pytest.approx(alone(pictures[c], pictures[s], weights), rel=1e-4)
        assert {"final.png", "content.png", "style.png", "checkpoint.npz", "history.csv"} <= set(
            os.listdir(os.path.join(out, job)))
    assert os.path.getsize(os.path.join(out, "contact_sheet.jpg")) > 0

    def no_ray(*args, **kwargs):
        raise AssertionError("a rerun of a finished batch started Ray")

    monkeypatch.setattr(cluster, "connect", no_ray)
    monkeypatch.setattr(cluster, "Pool", no_ray)
    before = files_and_times(out)
    capsys.readouterr()
    assert command.main(["--content", pictures["c0"], pictures["c1"], "--style", pictures["s0"], pictures["s1"],
                         "--output", out, "--workers", "2", *SMALL]) == 0
    assert "4 done, 0 failed, 0 pending" in capsys.readouterr().out
    after = files_and_times(out)
    assert {p: t for p, t in after.items() if os.path.basename(p) not in ("manifest.csv", "contact_sheet.jpg")} == \
        {p: t for p, t in before.items() if os.path.basename(p) not in ("manifest.csv", "contact_sheet.jpg")}
    assert manifest(out) == rows


def test_an_unreadable_content_fails_its_jobs_only(ray_here, pictures, weights, tmp_path, capsys):
    out = str(tmp_path / "out")
    code = command.main(["--content", pictures["c0"], pictures["bad"], "--style", pictures["s0"], pictures["s1"],
                         "--output", out, "--workers", "2", *SMALL])
    err = capsys.readouterr().err
    assert code == 1
    rows = manifest(out)
    assert {job: row["status"] for job, row in rows.items()} == {
        "c0--s0": "done", "c0--s1": "done", "bad--s0": "failed", "bad--s1": "failed"}
    for job in ("bad--s0", "bad--s1"):
        assert rows[job]["error"].startswith(f"{pictures['bad']}: not a readable image"), rows[job]["error"]
        assert f"nst batch: job {job} failed: {pictures['bad']}: not a readable image" in err
    assert "Traceback" not in err


def test_jobs_from_a_csv_with_options_of_their_own(ray_here, pictures, weights, tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    with open(jobs, "w", newline="") as f:
        csv.writer(f).writerows([["content", "style", "options"], [pictures["c0"], pictures["s1"], "--iterations 2"],
                                 [pictures["c1"], pictures["s0"], "--alpha -1"]])
    out = str(tmp_path / "out")
    assert command.main(["--jobs", str(jobs), "--output", out, *SMALL]) == 1
    rows = manifest(out)
    assert (rows["c0--s1"]["status"], rows["c0--s1"]["steps"]) == ("done", "2")
    assert float(rows["c0--s1"]["J"]) == pytest.approx(alone(pictures["c0"], pictures["s1"], weights, 2), rel=1e-4)
    assert rows["c0--s1"]["options"] == "--size 48x64 --iterations 3 --seed 0 --iterations 2"  # --quiet: the batch's
    assert rows["c1--s0"]["status"] == "failed"
    assert rows["c1--s0"]["error"] == "--alpha must be zero or positive, got -1.0"


def test_without_ray_one_line_says_how_to_install_it(pictures, weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code = command.main(["--content", pictures["c0"], "--style", pictures["s0"], "--output", str(tmp_path), *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and 'pip install -e ".[cluster]"' in err, err


STEPS = 200  # the stop comes while both jobs are held at their first checkpoint: any number above it will do
SAVE_EVERY = 25


def test_sigterm_stops_cleanly_on_loopback_and_the_rerun_resumes(ray_here, pictures, weights, tmp_path, capsys):
    """A running batch holds no socket off loopback; SIGTERM checkpoints, writes the manifest, exits 143;
    the same command again continues each job from its checkpoint to the J of the job run alone.

    Both jobs are held at their first checkpoint (tests/hold/sitecustomize.py in their workers) until the
    workers are told to stop: the signal reaches them at that known step, however fast the machine is."""
    out, temp = str(tmp_path / "out"), tempfile.mkdtemp(prefix="nst-ray-", dir="/tmp")
    holds = tmp_path / "holds"
    holds.mkdir()
    args = ["--content", pictures["c0"], "--style", pictures["s0"], pictures["s1"], "--output", out, "--workers", "2",
            "--size", "48x64", "--iterations", str(STEPS), "--save-every", str(SAVE_EVERY), "--seed", "0", "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "nst", "batch", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=hold_env(holds, RAY_TMPDIR=temp))
    try:
        wait_until(lambda: len(held(holds)) == 2, 300, "both jobs held at their first checkpoint", alive=process)
        found = sockets(descendants(process.pid))
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
        shutil.rmtree(temp, ignore_errors=True)
    assert found and off_loopback(found) == [], found
    assert process.returncode == 143, err
    assert "nst batch: interrupted (SIGTERM)" in err and "Traceback" not in err, err
    rows = manifest(out)
    for job in ("c0--s0", "c0--s1"):
        assert rows[job]["status"] == "pending"
        steps = int(rows[job]["steps"])
        assert SAVE_EVERY <= steps <= SAVE_EVERY + 1  # held at its first checkpoint, stopped after that step
        assert len(read_history(os.path.join(out, job))) == steps + 1  # saved at the step it stopped on
    kept = {job: read_history(os.path.join(out, job)) for job in rows}
    assert command.main(args) == 0
    rows = manifest(out)
    for job in ("c0--s0", "c0--s1"):
        history = read_history(os.path.join(out, job))
        assert [int(r["iteration"]) for r in history] == list(range(STEPS + 1))
        assert history[:len(kept[job])] == kept[job]  # the steps before the stop, their times too: resumed
        assert rows[job]["status"] == "done" and float(rows[job]["J"]) == pytest.approx(float(history[-1]["J"]))
    J = alone(pictures["c0"], pictures["s1"], weights, iterations=STEPS)
    assert float(rows["c0--s1"]["J"]) == pytest.approx(J, rel=1e-4)
