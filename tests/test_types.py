"""The typed modules (the run layer and the front-ends' entry points) pass the type checker."""
import subprocess
import sys

import pytest

from helpers import ROOT

pytest.importorskip("mypy")

TYPED = ["nst/run/problem.py", "nst/run/loop.py", "nst/run/consumers.py", "nst/run/statefile.py",
         "nst/run/outputs.py", "nst/run/checkpoint.py", "nst/video/engine.py", "nst/video/settings.py",
         "nst/video/command.py", "nst/commands/train.py"]


def test_the_typed_modules_type_check():
    done = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports",
                           "--no-error-summary", "--cache-dir=/dev/null", *TYPED], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
