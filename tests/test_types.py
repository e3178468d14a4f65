"""The typed modules (the algorithm's public API, the run layer and the front-ends' entry points) pass the type
checker."""
import subprocess
import sys

import pytest

from helpers import ROOT

pytest.importorskip("mypy")

TYPED = ["nst/run/problem.py", "nst/run/loop.py", "nst/run/consumers.py", "nst/run/statefile.py",
         "nst/run/outputs.py", "nst/run/checkpoint.py", "nst/video/engine.py", "nst/video/settings.py",
         "nst/video/command.py", "nst/commands/train.py",
         "nst/algorithm/coarse.py", "nst/algorithm/colors.py", "nst/algorithm/costs.py", "nst/algorithm/graph.py",
         "nst/algorithm/images.py", "nst/algorithm/memory.py", "nst/algorithm/onednn.py",
         "nst/algorithm/optimize.py", "nst/algorithm/reference.py", "nst/algorithm/styles.py",
         "nst/algorithm/temporal.py", "nst/algorithm/tf1.py", "nst/algorithm/vgg.py"]


def test_the_typed_modules_type_check():
    done = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports",
                           "--no-error-summary", "--cache-dir=/dev/null", *TYPED], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
