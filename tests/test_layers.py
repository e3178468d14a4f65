"""The layout's rules, read from the source (no import runs): the layers import downwards only.

The algorithm (``nst.algorithm``) imports nothing above it; the run layer (``nst.run``) no front-end;
nothing outside ``nst.tools`` imports a dev tool; no private name crosses modules; no import circle.
"""
import ast

import pytest

from helpers import ROOT

PACKAGE = ROOT / "nst"
FRONT_ENDS = ("nst.commands", "nst.video", "nst.web", "nst.batch", "nst.tools", "nst.entry", "nst.train",
              "nst.__main__")
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make"}  # public, despite the underscore


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}


def imported(tree):
    """(module, name or None) for each import in ``tree``, at any depth (function bodies too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in SOURCES:  # from package import module
                    yield f"{node.module}.{alias.name}", None
                else:
                    yield node.module, alias.name


def imports_of(module):
    return {name for name, _ in imported(SOURCES[module]) if name in SOURCES and name != "nst"}


def within(module, *packages):
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_no_import_circle():
    graph = {m: imports_of(m) for m in SOURCES}

    def circle_from(start):
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

    circles = [c for c in map(circle_from, graph) if c]
    assert circles == [], " -> ".join(circles[0])


def test_the_parse_sees_what_the_code_imports_and_only_launchers_import_the_entry():
    assert imports_of("nst.commands.train") >= {"nst.run.loop", "nst.run.config"}  # imports in functions too
    assert {m for m in SOURCES if "nst.entry" in imports_of(m)} == {"nst.train", "nst.__main__"}


def test_nothing_outside_tools_imports_a_tool():
    users = {(m, dep) for m in SOURCES if not within(m, "nst.tools") for dep in imports_of(m)
             if within(dep, "nst.tools")}
    assert users == set()


@pytest.mark.parametrize("layer, above", [
    ("nst.algorithm", ("nst.run",) + FRONT_ENDS),
    ("nst.run", FRONT_ENDS),
    ("nst.errors", ("nst.algorithm", "nst.run") + FRONT_ENDS),
    ("nst.weights", ("nst.algorithm", "nst.run") + FRONT_ENDS),  # so nst download starts without TensorFlow
])
def test_a_layer_imports_nothing_above_it(layer, above):
    upward = {(m, dep) for m in SOURCES if within(m, layer) for dep in imports_of(m) if within(dep, *above)}
    assert upward == set()


def private_uses(module):
    """Private names ``module`` takes from another: imported from the package, or read as an attribute."""
    tree = SOURCES[module]
    found = {f"{source}.{name}" for source, name in imported(tree) if within(source, "nst")
             and (name or source.rpartition(".")[2]).startswith("_") and not (name or "").startswith("__")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                and node.attr not in NAMEDTUPLE_API \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.add(f"{ast.unparse(node.value)}.{node.attr}")
    return found


def test_no_private_name_crosses_modules():
    crossing = {m: private_uses(m) for m in SOURCES if private_uses(m)}
    assert crossing == {}
