"""One way in (``nst COMMAND``, ``python -m nst``, the old ``python -m nst.train``) and no import circle."""
import ast
import subprocess
import sys

import pytest

from helpers import ROOT, subprocess_env
from nst import __version__, entry

PACKAGE = ROOT / "nst"


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, modules):
    """The package's modules that ``path`` imports, at any depth of its code (function bodies too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found - {"nst"}


def test_no_module_of_the_package_imports_itself_back():
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) for p in paths}
    assert graph["nst.commands.train"] >= {"nst.run.loop", "nst.run.config"}  # the parse sees what the code imports
    assert {m for m, deps in graph.items() if "nst.entry" in deps} == {"nst.train", "nst.__main__"}  # launchers

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [cycle_from(m) for m in graph if cycle_from(m)]
    assert cycles == [], cycles[0]


def run(*args, module="nst"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=subprocess_env(), cwd=ROOT, timeout=300)


def test_version_usage_and_unknown_command():
    assert run("--version").stdout.strip() == f"nst {__version__}"
    usage = run("--help")
    assert usage.returncode == 0 and all(f"  {name} " in usage.stdout for name in entry.COMMANDS)
    unknown = run("paint")
    assert unknown.returncode == 2 and unknown.stderr.strip() == (
        "nst: error: unknown command 'paint': use one of train, download, gallery, bench, figure, batch, "
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
