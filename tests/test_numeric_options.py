"""Every numeric option of nst train, given a bad value, is refused in one line that names its flag.

The options are read from the parser itself, so a numeric option added later is covered too.
"""
import pytest

from helpers import assert_one_line, photo
from nst.commands import train as cli

NUMERIC = {action.option_strings[0]: action.type for action in cli.build_parser()._actions
           if action.type in (int, float)}
ALWAYS_BAD = {int: ["x", "1.5", "-1"], float: ["x", "nan", "inf", "-inf", "-1"]}
OUT_OF_RANGE = [  # (option, value): bad for that option only
    ("--iterations", "0"), ("--save-every", "0"), ("--max-pixels", "0"), ("--seed", "4294967296"),
    ("--max-side", "31"), ("--max-side", "70000"), ("--noise-ratio", "1.5"), ("--style-scale", "1e308"),
    ("--style-scale", "0.01"), ("--learning-rate", "1e39"), ("--alpha", "1e39"), ("--beta", "1e39"),
    ("--tv-weight", "1e39"), ("--init-std", "1e39"), ("--style-layer-weight-exp", "0"),
    ("--max-side", "32"),  # the content is twice as wide as high: G would be 16x32
    ("--style-blend", "1 2"),  # two weights for one style
]
NEEDS = {"--init-std": ["--init", "gaussian"]}  # what makes the option apply
CASES = [(option, value) for option, kind in NUMERIC.items() for value in ALWAYS_BAD[kind]] + OUT_OF_RANGE


def test_the_parser_has_the_numeric_options_this_file_expects():
    assert set(NUMERIC) >= {"--iterations", "--learning-rate", "--max-side", "--seed", "--init-std", "--style-blend"}
    assert {option for option, _ in OUT_OF_RANGE} <= set(NUMERIC)


@pytest.mark.parametrize("option, value", CASES, ids=[f"{o} {v}" for o, v in CASES])
def test_a_bad_number_is_one_line_naming_its_flag(tiny_vgg, tmp_path, monkeypatch, capsys, option, value):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    content = photo(tmp_path / "c.png", shape=(40, 80))
    before, out = (tmp_path / "c.png").read_bytes(), tmp_path / "out"
    size = [] if option == "--max-side" else ["--max-side", "64"]
    argv = ["--content", content, "--output", str(out), "--iterations", "2", "--quiet", *size,
            *NEEDS.get(option, []), option, *value.split()]
    code = cli.main(argv)
    assert_one_line(code, capsys.readouterr().err, option)
    assert not out.exists() and (tmp_path / "c.png").read_bytes() == before  # nothing written or changed


def test_a_gaussian_start_whose_first_cost_overflows_names_init_std(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    code = cli.main(["--output", str(tmp_path / "out"), "--size", "32x48", "--quiet", "--iterations", "2",
                     "--init", "gaussian", "--init-std", "1e30"])
    assert_one_line(code, capsys.readouterr().err, "J became inf after 0 steps", "--init-std")
