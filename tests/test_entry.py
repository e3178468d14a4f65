"""One way in (``nst COMMAND``, ``python -m nst``, the old ``python -m nst.train``)."""
import subprocess
import sys

import pytest

from helpers import ROOT, subprocess_env
from nst import __version__, entry

def run(*args, module="nst"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=subprocess_env(), cwd=ROOT, timeout=300)


def test_version_usage_and_unknown_command():
    assert run("--version").stdout.strip() == f"nst {__version__}"
    usage = run("--help")
    assert usage.returncode == 0 and all(f"  {name} " in usage.stdout for name in entry.COMMANDS)
    unknown = run("paint")
    assert unknown.returncode == 2 and unknown.stderr.strip() == (
        "nst: error: unknown command 'paint': use one of train, download, gallery, bench, bench-tiles, figure, batch, "
        "bench-batch, video, videobench, serve (see nst --help)")


@pytest.mark.parametrize("command", list(entry.COMMANDS))
def test_every_subcommand_answers_help_under_its_name(command):
    done = run(command, "--help")
    assert done.returncode == 0 and done.stdout.startswith(f"usage: nst {command} "), done.stdout[:200]


def test_the_old_script_name_is_the_same_command():
    old, new = run("--help", module="nst.train"), run("train", "--help")
    assert old.returncode == 0 and old.stdout == new.stdout and "examples:" in old.stdout


def test_a_bad_option_names_the_subcommand(capsys):
    assert entry.main(["train", "--iterations", "x"]) == 2
    assert capsys.readouterr().err.startswith("nst train: error: argument --iterations: invalid int value")
