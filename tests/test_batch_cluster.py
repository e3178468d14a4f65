"""nst batch on a real two-node Ray cluster on this machine, all on loopback; the second node killed mid-batch.

The head (127.0.0.2) and a second node (127.0.0.3) are started with
``ray start``, one CPU each, in process groups of their own, so the test
kills exactly them and nothing else's Ray. A token of the test's own
authenticates the three processes to each other.

Nothing here waits for a guessed time. The jobs are held at known points by
tests/hold/sitecustomize.py: the head's worker waits at its first job's first
checkpoint until the test releases it, so the second node's worker must take a
second job; that second job waits at its first checkpoint, and the node is
killed there. However fast or slow the machine, one job is then done on the
second node and one is half-way there when it dies.
"""
import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from helpers import ROOT, held, hold_env, photo, read_history, subprocess_env, wait_until
from loopback import descendants, free_port, off_loopback, sockets

HEAD, SECOND = "127.0.0.2", "127.0.0.3"
STEPS = 100  # the kill comes at a known step (see above): no need for long jobs


def node_ports():
    """Distinct ports for what each node would otherwise open on fixed ones."""
    return [f"--{name}={free_port(HEAD)}" for name in ("ray-client-server-port", "dashboard-agent-listen-port",
                                                    "dashboard-agent-grpc-port", "metrics-export-port",
                                                    "runtime-env-agent-port")]


def stop(process, timeout=60):
    """End a node: its whole process group, politely, then for good; return once every process of it is gone."""
    below = descendants(process.pid)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
            break
    for pid in below:  # what left the group, or outlived its leader
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    wait_until(lambda: not [pid for pid in below if alive(pid)], timeout, f"the node of process {process.pid} gone")


def alive(pid):
    """Whether ``pid`` is a running process (a zombie, dead but not yet reaped by its parent, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_node(args, env, log, attempts=3):
    """``ray start ... --block`` in a process group of its own, once it says the node is up.

    Tried again if it fails: on a busy machine a node can miss Ray's own 30 s start-up deadline.
    """
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    for attempt in range(attempts):
        with open(log, "w") as out:
            process = subprocess.Popen([ray, "start", "--block", *args(attempt)], env=env, start_new_session=True,
                                       stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 240
        while time.time() < deadline and process.poll() is None:
            with open(log) as f:
                if "Ray runtime started" in f.read():
                    return process
            time.sleep(0.5)
        stop(process)
    with open(log) as f:
        pytest.fail(f"ray start {' '.join(args(attempt))} did not come up:\n{f.read()[-3000:]}")


@pytest.fixture
def two_nodes(tiny_vgg, tmp_path):
    """(address, head, second, env, holds): the head's worker holds its first job, the second node's worker its
    second job, each at the job's first checkpoint (``holds``: the folder of the held-* files and the release)."""
    temp = tempfile.mkdtemp(prefix="nst-rc-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    holds = tmp_path / "holds"
    holds.mkdir()
    common = dict(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32),
                  NST_VGG19=tiny_vgg["new"][0], RAY_agent_register_timeout_ms="120000")
    env = subprocess_env(**common)
    port, nodes = free_port(HEAD), []

    def head(attempt):
        return ["--head", f"--node-ip-address={HEAD}", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                "--disable-usage-stats", f"--temp-dir={temp}/head{attempt}", *node_ports()]

    def second(attempt):
        return [f"--address={HEAD}:{port}", f"--node-ip-address={SECOND}", "--num-cpus=1",
                f"--temp-dir={temp}/second{attempt}", *node_ports()]

    try:
        nodes.append(start_node(head, hold_env(holds, "head", job=1, **common), tmp_path / "head.log"))
        nodes.append(start_node(second, hold_env(holds, "second", job=2, **common), tmp_path / "second.log"))
        yield f"{HEAD}:{port}", *nodes, env, holds
    finally:
        (holds / "release").touch()  # nothing stays held
        for node in reversed(nodes):
            stop(node)
        shutil.rmtree(temp, ignore_errors=True)


def read_manifest(out):
    try:
        with open(os.path.join(out, "manifest.csv"), newline="") as f:
            return {row["id"]: row for row in csv.DictReader(f)}
    except OSError:
        return {}


def saved_steps(folder):
    """Steps a job has saved so far (its history's rows), 0 before its first checkpoint."""
    try:
        return len(read_history(folder)) - 1 if os.path.exists(os.path.join(folder, "checkpoint.npz")) else 0
    except OSError:
        return 0


ALONE = """
import json, sys
from nst.algorithm.tf1 import tf
tf.config.threading.set_intra_op_parallelism_threads(1)  # as the batch's workers: --threads 1
tf.config.threading.set_inter_op_parallelism_threads(1)
from nst.run.config import RunConfig
from nst.run import run_style_transfer
jobs, vgg, steps = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print(json.dumps([run_style_transfer(RunConfig(content=c, style=(s,), size=(48, 64), iterations=steps, seed=0,
                                               output=None, quiet=True, vgg=vgg)).history[-1].J for c, s in jobs]))
"""


def alone(jobs, vgg):
    """The final J of each (content, style) job run by itself with one TensorFlow thread, in a fresh process
    (TensorFlow's threads are set once per process)."""
    done = subprocess.run([sys.executable, "-c", ALONE, json.dumps(jobs), vgg, str(STEPS)], capture_output=True,
                          text=True, env=subprocess_env(), cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def kill_node(process):
    """SIGKILL a node: its process group, and every process below it, in case one left the group."""
    below = descendants(process.pid)
    os.killpg(process.pid, signal.SIGKILL)
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_two_nodes_then_one_killed_every_job_still_finishes(two_nodes, tiny_vgg, tmp_path):
    address, head, second, env, holds = two_nodes
    contents = [photo(tmp_path / f"c{i}.png", (48, 64), i) for i in range(3)]
    styles = [photo(tmp_path / f"s{i}.png", (48, 64), 10 + i) for i in range(2)]
    out = str(tmp_path / "out")
    driver = subprocess.Popen(
        [sys.executable, "-m", "nst", "batch", "--address", address, "--node-ip-address", HEAD, "--workers", "2",
         "--threads", "1", "--content", *contents, "--style", *styles, "--output", out, "--size", "48x64",
         "--iterations", str(STEPS), "--save-every", "10", "--seed", "0", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the head's first job and the second node's second job, each at its first checkpoint
        wait_until(lambda: held(holds, "head") and held(holds, "second"), 400,
                   f"a job held on each node: {read_manifest(out)}", poll=0.2, alive=driver)
        rows = read_manifest(out).values()
        done_there = [r for r in rows if r["status"] == "done" and r["node"] == SECOND]
        running_there = [r for r in rows if r["status"] == "running" and r["node"] == SECOND]
        assert len(done_there) == 1 and len(running_there) == 1, rows
        assert saved_steps(os.path.join(out, running_there[0]["id"])) == 10  # its first checkpoint
        # both nodes at work: every socket of the cluster and the driver
        found = sockets(descendants(head.pid) + descendants(second.pid) + descendants(driver.pid))
        kill_node(second)  # its raylet, its workers: the node is gone, its held job with it
        (holds / "release").touch()  # the head's job goes on, then the rest, the killed node's job too
        _, err = driver.communicate(timeout=400)
    finally:
        driver.kill()
    assert found and off_loopback(found) == [], found
    assert driver.returncode == 0, err
    rows = read_manifest(out)
    assert len(rows) == 6 and {r["status"] for r in rows.values()} == {"done"}, rows
    assert f"{SECOND} {HEAD}" in [r["node"] for r in rows.values()]  # begun on the second node, ended on the head
    assert {n for r in rows.values() for n in r["node"].split()} == {HEAD, SECOND}
    assert [int(r["steps"]) for r in rows.values()] == [STEPS] * 6
    reference = alone([(r["content"], r["style"]) for r in rows.values()], tiny_vgg["new"][0])
    assert [float(r["J"]) for r in rows.values()] == pytest.approx(reference, rel=1e-4)
