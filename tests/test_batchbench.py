"""nst bench-batch's settings and messages (its timings are measured, never asserted)."""
import pytest

from nst.errors import NSTError
from nst.tools import batchbench


def test_settings_are_workers_by_threads():
    assert batchbench.parse_settings("1x0  2x1 4x2") == [(1, 0), (2, 1), (4, 2)]
    for bad in ("", "2", "0x1", "1x-1", "ax1", "1x1x1"):
        with pytest.raises(NSTError, match="WORKERSxTHREADS"):
            batchbench.parse_settings(bad)


def test_a_bad_setting_is_one_line(capsys, tiny_vgg):
    assert batchbench.main(["--settings", "2", "--vgg", tiny_vgg["new"][0]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nst bench-batch: error: --settings '2'"), err
