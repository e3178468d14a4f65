"""A command's --help, its parser and its errors come at once: no TensorFlow is imported until a run starts.

Each check runs in a fresh interpreter, where ``sys.modules`` shows what was imported.
"""
import importlib
import json
import subprocess
import sys

import pytest

from helpers import ROOT, subprocess_env
from nst import entry

COLUMNS = "100"  # argparse wraps to the terminal's width: the same for both sides of a comparison
RUN_NST = """
import json, runpy, sys
sys.argv = ["nst", *json.loads(sys.argv[1])]
try:
    runpy.run_module("nst", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules}), file=sys.stderr)
"""


def nst(*args):
    """(exit code, whether TensorFlow was imported, stdout, stderr without that last report) of ``nst ARGS``."""
    done = subprocess.run([sys.executable, "-c", RUN_NST, json.dumps(args)], capture_output=True, text=True,
                          env=subprocess_env(COLUMNS=COLUMNS), cwd=ROOT, timeout=120)
    *err, report = done.stderr.splitlines(keepends=True)
    report = json.loads(report)
    return report["code"], report["tensorflow"], done.stdout, "".join(err)


def test_nst_help_imports_no_tensorflow():
    code, tensorflow, out, err = nst("--help")
    assert (code, tensorflow, err) == (0, False, "")
    assert out == entry.usage() + "\n"


@pytest.mark.parametrize("command", list(entry.COMMANDS))
def test_a_commands_help_imports_no_tensorflow_and_is_its_parsers(command, monkeypatch):
    code, tensorflow, out, err = nst(command, "--help")
    assert (code, tensorflow, err) == (0, False, "")
    monkeypatch.setenv("COLUMNS", COLUMNS)
    module = importlib.import_module(entry.COMMANDS[command][0])
    if hasattr(module, "build_parser"):  # bench and bench-batch build theirs inside main
        assert out == module.build_parser(prog=f"nst {command}").format_help()


def python_c(script, timeout):
    """``python -c script`` in a fresh process, from the checkout."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(),
                          cwd=ROOT, timeout=timeout)


def test_importing_any_module_imports_no_tensorflow():
    """The front-ends import the algorithm's modules at their top; none of them loads TensorFlow until used."""
    script = ("import pkgutil, importlib, sys, nst\n"
              "for m in pkgutil.walk_packages(nst.__path__, 'nst.'):\n"
              "    if m.name != 'nst.__main__':\n"
              "        importlib.import_module(m.name)\n"
              "        assert 'tensorflow' not in sys.modules, m.name\n")
    done = python_c(script, 120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_tensorflow_works_in_graph_mode_once_used():
    script = ("from nst.algorithm.tf1 import tf, gpus\n"
              "assert not tf.executing_eagerly()\n"
              "with tf.Session() as s:\n"
              "    assert s.run(tf.constant(2.0) * 3) == 6.0\n"
              "print(len(gpus()))\n")
    done = python_c(script, 300)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]


@pytest.mark.parametrize("args, line", [
    (("--timeout", "0"), "nst download: error: --timeout 0: give a number of seconds above 0\n"),
    (("--source", "ftp"), "nst download: error: argument --source: invalid choice: 'ftp' (choose from "
                          "'matconvnet', 'keras', 'pypi') (see --help)\n"),
])
def test_nst_download_errors_are_one_line_without_tensorflow(args, line):
    code, tensorflow, out, err = nst("download", *args)
    assert (code, tensorflow, out, err) == (2, False, "", line)
