"""The README's commands are the ones CI runs, and every picture and page the documentation links to exists."""
import os
import re

from helpers import ROOT

DOCS = [ROOT / "README.md", ROOT / "pretrained-model" / "README.md", ROOT / "tests" / "README.md",
        *sorted((ROOT / "docs").glob("*.md"))]


def bash_blocks(text):
    return [block.strip().splitlines() for block in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_the_first_command_installs_and_runs_and_the_second_runs_the_tests_as_ci_does():
    blocks = bash_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks[0] == ["pip install -e . && python -m nst.train --download"]
    assert blocks[1] == ['pip install -e ".[test]" && python -m pytest -q']
    with open(ROOT / ".ci" / "run", encoding="utf-8") as f:
        last = [line for line in f.read().splitlines() if line.strip()][-1]
    assert blocks[1][0].split(" && ")[1] == last


def test_every_relative_link_and_picture_exists():
    missing = []
    for page in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not os.path.exists(page.parent / target):
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert missing == []


def test_no_words_about_how_the_work_was_organised():
    pattern = re.compile(r"\b(issues?|tracker|sessions?'s?|lent)\b", re.I)
    allowed = re.compile(r"InteractiveSession|tf\.Session|session\.run|the session and the optimised graph|"
                         r"GraphDef, session|`InteractiveSession`", re.I)
    found = []
    for page in DOCS:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(allowed.sub("", line)):
                found.append(f"{page.relative_to(ROOT)}:{number}: {line}")
    assert found == []
