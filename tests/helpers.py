"""What several test modules share: small pictures, the command line's checks, float64 numpy costs.

Test modules import from here (and from ``numpy_vgg``/``synthetic_vgg``), never from each other.
"""
import csv
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from nst.algorithm import images
from numpy_vgg import forward
from synthetic_vgg import MEAN

ROOT = Path(__file__).resolve().parents[1]
REAL_WEIGHTS = os.environ.get("NST_VGG19")  # the real-weight tests run when it is set
TINY = ["--size", "32x48", "--quiet"]  # the smallest run the CLI takes: seconds on tiny weights
SIZE = (32, 48)
COURSE_STYLE = [(f"conv{b}_1", 0.2) for b in range(1, 6)]


def photo(path, shape=(40, 56), seed=0):
    """A random RGB PNG (or JPEG, by extension) at ``path``; returns the path as a string."""
    iio.imwrite(path, np.random.RandomState(seed).randint(0, 256, (*shape, 3)).astype(np.uint8))
    return str(path)


def read_history(folder):
    with open(os.path.join(folder, "history.csv")) as f:
        return list(csv.DictReader(f))


def costs_of(folder):
    """(J, J_content, J_style) of each row of a run's history, as written."""
    return [(r["J"], r["J_content"], r["J_style"]) for r in read_history(folder)]


def assert_one_line(code, err, *fragments, prog="nst train"):
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def subprocess_env(**extra):
    return dict(os.environ, PYTHONPATH=str(ROOT), NST_TF_VERBOSE="", **extra)


def require(module, extra="test"):
    """Import ``module``, a package of the test install: without it the test fails (it is never skipped),
    with one line saying what to install. See tests/README.md, "What may skip"."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{module} is missing ({exc}): it is part of the {extra} extra; "
                    f'pip install -e ".[{extra}]"', pytrace=False)


HOLD = ROOT / "tests" / "hold"  # its sitecustomize holds a job at its first checkpoint


def hold_env(folder, name="job", job=1, **extra):
    """The environment of a process (and of every process it starts) whose job number ``job`` waits at its
    first checkpoint, announced by a file ``folder/held-NAME-PID``, until a stop request or ``folder/release``
    (see tests/hold/sitecustomize.py)."""
    env = subprocess_env(NST_TEST_HOLD_DIR=str(folder), NST_TEST_HOLD_NAME=name, NST_TEST_HOLD_JOB=str(job),
                         **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(HOLD), env["PYTHONPATH"]])
    return env


def held(folder, name="job"):
    """The held-NAME-PID files in ``folder``: the jobs waiting at their first checkpoint."""
    return sorted(f for f in os.listdir(folder) if f.startswith(f"held-{name}-"))


def using(folder):
    """The pids of the processes that name ``folder`` in their command line or environment, or have a file or
    their working folder in it, as /proc shows them (Ray's workers and agents rewrite their command line)."""
    mark, found = os.fsencode(os.path.join(folder, "")), []
    for pid in (int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) != os.getpid()):
        texts = []
        for name in ("cmdline", "environ"):
            try:
                texts.append(Path(f"/proc/{pid}/{name}").read_bytes())
            except OSError:
                pass
        for link in ["cwd", *(f"fd/{fd}" for fd in _listing(f"/proc/{pid}/fd"))]:
            try:
                texts.append(os.fsencode(os.readlink(f"/proc/{pid}/{link}")) + b"/")
            except OSError:
                pass
        if any(mark in text for text in texts):
            found.append(pid)
    return found


def _listing(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


def wait_until(condition, timeout, what, poll=0.05, alive=None):
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds, or at once
    when ``alive`` (a Popen) has ended before it came true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            pytest.fail(f"the process ended (exit {alive.returncode}) before {what}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}", pytrace=False)
        time.sleep(poll)  # a poll of the condition above, not a wait for a guessed time


def run_cli(args, env_weights=None, module="nst.train"):
    env = subprocess_env(**({"NST_VGG19": env_weights} if env_weights else {}))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env,
                          timeout=600)


def interrupt_when(args, ready, signum=signal.SIGINT, timeout=120, module="nst.train"):
    """Start ``python -m module args``, send ``signum`` once ``ready()`` is true; return (code, stderr)."""
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=subprocess_env(), cwd=ROOT)
    try:
        deadline = time.time() + timeout
        while not ready() and process.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, err


def seen(path, size=SIZE):
    """A picture as the network saw it: cropped, resized, minus the mean pixel (float64)."""
    return images.resize_image(images.load_image(str(path)), size).astype(np.float64) - MEAN


def start_image(C, ratio=0.6, seed=0):
    """The paper's start, noise * ratio + C * (1 - ratio), as the run draws it for ``seed``."""
    return np.random.RandomState(seed).uniform(-20, 20, C.shape) * ratio + C * (1 - ratio)


def images3(seed=0, shape=(1, 32, 48, 3)):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-100, 100, shape).astype(np.float32) for _ in range(3)]


# Independent float64 numpy versions of the equations.
def np_content(a_C, a_G):
    _, h, w, c = a_G.shape
    return np.sum((a_C - a_G) ** 2) / (4 * h * w * c)


def np_gram(a):
    _, h, w, c = a.shape
    A = a.reshape(h * w, c).T  # (nC, nH*nW)
    return A @ A.T


def np_layer_style(a_S, a_G):
    _, h, w, c = a_G.shape
    return np.sum((np_gram(a_S) - np_gram(a_G)) ** 2) / (4 * c**2 * (h * w) ** 2)


def np_tv(x):
    x = x.astype(np.float64)
    return np.mean((x[:, 1:] - x[:, :-1]) ** 2) + np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2)


def np_blended_style_cost(convs, styles, blend, G, style_layers, pooling="avg"):
    """Eq. (2) against sum_k w_k (nH_G nW_G / nH_k nW_k) Gram_k, all in float64."""
    aG = forward(G[0], convs, "conv5_1", pooling)
    acts = [forward(S[0], convs, "conv5_1", pooling) for S in styles]
    total = 0.0
    for name, lam in style_layers:
        h, w, c = aG[name].shape
        target = sum(wk * (h * w) / (a[name].shape[0] * a[name].shape[1]) * np_gram(a[name][None])
                     for wk, a in zip(blend, acts))
        total += lam * np.sum((target - np_gram(aG[name][None])) ** 2) / (4 * c**2 * (h * w) ** 2)
    return total


def np_J(convs, C, S, G, content_layers, style_layers, alpha=10.0, beta=40.0, pooling="avg"):
    """(J, J_content, J_style) of normalised (1, H, W, 3) images, in float64."""
    aC, aS, aG = (forward(x[0], convs, "conv5_1", pooling) for x in (C, S, G))
    Jc = sum(w * np_content(aC[n][None], aG[n][None]) for n, w in content_layers)
    Js = sum(w * np_layer_style(aS[n][None], aG[n][None]) for n, w in style_layers)
    return alpha * Jc + beta * Js, Jc, Js
