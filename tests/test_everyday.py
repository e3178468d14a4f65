"""What a new user reads: words that match what ran."""
import argparse

from helpers import photo
from nst.commands import train as cli
from nst.tools import gallery


def test_an_lbfgs_run_reports_iterations_not_steps(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    assert cli.main(["--content", c, "--style", s, "--size", "32x48", "--optimizer", "lbfgs", "--iterations", "2",
                     "--quiet", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "after 2 iterations" in out and " steps" not in out.split("also wrote")[0]


def test_the_presets_figure_does_not_claim_adam_steps_for_every_panel():
    args = argparse.Namespace(size=None, max_side=192, iterations=150, seed=0)
    rows = {row.name: row for row in gallery.ROWS}
    assert "150 Adam steps unless a picture's options say otherwise" in gallery.subtitle(rows["presets"], args)
    assert "150 Adam steps, seed 0" in gallery.subtitle(rows["pooling"], args)
