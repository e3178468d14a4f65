"""nst batch's jobs, names, fingerprints, manifest and options: no Ray needed."""
import os

import pytest

from helpers import photo
from nst.batch import command, jobs
from nst.batch.manifest import COLUMNS, Manifest
from nst.run.config import RunConfig
from nst.errors import NSTError


def test_folders_globs_and_files_expand_in_order(tmp_path):
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    found = jobs.expand([str(tmp_path), str(tmp_path / "*.png"), str(tmp_path / "missing.png")], "content")
    assert found == [str(tmp_path / "a.jpg"), str(tmp_path / "b.png"), str(tmp_path / "missing.png")]
    with pytest.raises(NSTError, match="no style images there"):
        jobs.expand([str(tmp_path / "*.webp")], "style")


def test_names_are_readable_unique_and_independent_of_order(tmp_path):
    specs = [("/a/photo.png", "/s/starry night.jpg", ()), ("/b/photo.png", "/s/starry night.jpg", ()),
             ("/a/cat.png", "/s/starry night.jpg", ())]
    ids = [job.id for job in jobs.name_jobs(specs)]
    assert ids[2] == "cat--starry_night"
    assert ids[0].startswith("photo--starry_night-") and ids[1].startswith("photo--starry_night-")
    assert len(set(ids)) == 3
    assert [job.id for job in jobs.name_jobs(specs[::-1])] == ids[::-1]
    with pytest.raises(NSTError, match="the same job is asked twice"):
        jobs.name_jobs([specs[0], specs[0]])


def test_a_csv_gives_jobs_with_their_options(tmp_path):
    (tmp_path / "jobs.csv").write_text('content,style,options\nc.png,s.png,"--seed 3 --alpha 5"\nd.png,/x/t.png,\n')
    assert jobs.read_jobs_csv(str(tmp_path / "jobs.csv")) == [
        (str(tmp_path / "c.png"), str(tmp_path / "s.png"), ("--seed", "3", "--alpha", "5"), None),
        (str(tmp_path / "d.png"), "/x/t.png", (), None)]
    (tmp_path / "bad.csv").write_text("content,picture\nc.png,s.png\n")
    with pytest.raises(NSTError, match="bad.csv: no style column"):
        jobs.read_jobs_csv(str(tmp_path / "bad.csv"))
    (tmp_path / "short.csv").write_text("content,style\nc.png\n")
    with pytest.raises(NSTError, match="short.csv:2: a job needs a content and a style"):
        jobs.read_jobs_csv(str(tmp_path / "short.csv"))


def test_a_rows_masks_are_taken_from_the_csvs_folder(tmp_path):
    (tmp_path / "jobs.csv").write_text('content,style,options\n'
                                       'c.png,s.png,"--style-masks m.png --seed 3"\n'
                                       'c.png,t.png,"--style-source-masks=/abs/src.png --style-masks none"\n')
    rows = jobs.read_jobs_csv(str(tmp_path / "jobs.csv"))
    assert rows[0][2] == ("--style-masks", str(tmp_path / "m.png"), "--seed", "3")
    assert rows[1][2] == ("--style-source-masks=/abs/src.png", "--style-masks", "none")


def test_the_fingerprint_follows_a_masks_bytes(tmp_path):
    content, style = photo(tmp_path / "c.png", seed=1), photo(tmp_path / "s.png", seed=2)
    mask = photo(tmp_path / "m.png", seed=3)
    config = RunConfig(content=content, style=(style,), style_masks=(mask,), output=str(tmp_path / "out"))
    fingerprint = jobs.fingerprint(config, "weights")
    assert fingerprint != jobs.fingerprint(config.replace(style_masks=()), "weights")
    photo(mask, seed=4)
    assert jobs.fingerprint(config, "weights") != fingerprint


def test_the_fingerprint_follows_the_bytes_and_the_settings_that_change_the_result(tmp_path):
    content, style = photo(tmp_path / "c.png", seed=1), photo(tmp_path / "s.png", seed=2)
    config = RunConfig(content=content, style=(style,), iterations=10, output=str(tmp_path / "out"))
    fingerprint = jobs.fingerprint(config, "weights")
    same = [config.replace(save_every=3, quiet=True, output=str(tmp_path / "elsewhere"), overwrite=True)]
    assert {jobs.fingerprint(c, "weights") for c in same} == {fingerprint}
    changed = [config.replace(iterations=11), config.replace(seed=1), config.replace(alpha=1.0)]
    assert fingerprint not in {jobs.fingerprint(c, "weights") for c in changed}
    assert jobs.fingerprint(config, "other weights") != fingerprint
    os.rename(content, tmp_path / "moved.png")
    photo(content, seed=3)  # same path, other bytes
    assert jobs.fingerprint(config, "weights") != fingerprint


def test_the_manifest_round_trips_and_knows_what_is_done(tmp_path):
    manifest = Manifest(str(tmp_path))
    manifest.set("a--b", content="/a.png", style="/b.png", status="done", J=123.456789012, fingerprint="f1",
                 error="line one\nline two")
    manifest.set("c--d", status="failed", fingerprint="f2")
    manifest.write()
    again = Manifest.read(str(tmp_path))
    assert list(again.rows) == ["a--b", "c--d"] and list(again.rows["a--b"]) == list(COLUMNS)
    assert again.rows["a--b"]["J"] == "123.456789" and again.rows["a--b"]["error"] == "line one line two"
    assert again.done("a--b", "f1") and not again.done("a--b", "f0") and not again.done("c--d", "f2")
    assert again.counts() == {"done": 1, "failed": 1, "pending": 0, "running": 0}
    (tmp_path / "manifest.csv").write_text("name,state\nx,y\n")
    with pytest.raises(NSTError, match="not a batch manifest"):
        Manifest.read(str(tmp_path))


@pytest.mark.parametrize("argv, fragment", [
    (["--content", "c.png", "--output", "o"], "--style is missing"),
    (["--jobs", "j.csv", "--content", "c.png", "--output", "o"], "give --content and --style"),
    (["--content", "c.png", "--style", "s.png", "--output", "o", "--resume", "x"], "--resume does not apply"),
    (["--content", "c.png", "--style", "s.png", "--output", "o", "--workers", "0"], "--workers must be positive"),
    (["--content", "c.png", "--style", "s.png", "--output", "o", "--iterations", "0"],
     "--iterations must be positive"),
    (["--content", "c.png", "--style", "s.png", "--output", "o", "--no-such-option"], "unrecognized arguments"),
])
def test_bad_batch_options_are_one_line(argv, fragment, capsys):
    assert command.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nst batch: error: ") and fragment in err, err
