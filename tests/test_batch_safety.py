"""nst batch keeps what is not its own: names that say what differs, rows that cannot redirect a job,
a manifest that keeps other batches' jobs, user files in the output folder left as they are."""
import csv
import os
import shutil
import socket
import time

import numpy as np
import pytest
from PIL import Image

from helpers import assert_one_line, photo
from nst.batch import command, jobs, sheet
from nst.errors import NSTError


def test_jobs_that_share_content_and_style_are_named_by_their_options():
    specs = [("/c/tubingen.jpg", "/s/starry_night.jpg", ("--alpha", "5")),
             ("/c/tubingen.jpg", "/s/starry_night.jpg", ("--alpha", "50", "--seed", "1"))]
    assert [job.id for job in jobs.name_jobs(specs)] == ["tubingen--starry_night--alpha_5",
                                                         "tubingen--starry_night--alpha_50_seed_1"]


def test_ten_thousand_jobs_get_ten_thousand_folders():
    specs = [(f"/c/{i}/photo.png", "/s/wave.jpg", ()) for i in range(10000)]
    ids = [job.id for job in jobs.name_jobs(specs)]
    assert len(set(ids)) == 10000 and all(i.startswith("photo--wave-") for i in ids)


def test_a_name_column_names_the_folder(tmp_path):
    (tmp_path / "jobs.csv").write_text("content,style,options,name\nc.png,s.png,--alpha 5,soft\n"
                                       "c.png,s.png,--alpha 50,strong\n")
    specs = jobs.read_jobs_csv(str(tmp_path / "jobs.csv"))
    assert [job.id for job in jobs.name_jobs(specs)] == ["soft", "strong"]
    (tmp_path / "twice.csv").write_text("content,style,name\nc.png,s.png,x\nd.png,s.png,x\n")
    with pytest.raises(NSTError, match="two jobs are named x"):
        jobs.name_jobs(jobs.read_jobs_csv(str(tmp_path / "twice.csv")))
    (tmp_path / "path.csv").write_text("content,style,name\nc.png,s.png,../elsewhere\n")
    with pytest.raises(NSTError, match=r"path.csv:2: name '../elsewhere' is not a plain folder name"):
        jobs.read_jobs_csv(str(tmp_path / "path.csv"))


@pytest.mark.parametrize("options,refused", [("--output /tmp/x.jpg", "--output"), ("--vgg=/w.mat", "--vgg"),
                                             ("--seed 1 --content a.png", "--content"), ("--sty b.png", "--style")])
def test_a_row_cannot_set_where_its_job_reads_or_writes(tmp_path, options, refused):
    (tmp_path / "jobs.csv").write_text(f'content,style,options\nc.png,s.png,\nc.png,t.png,"{options}"\n')
    with pytest.raises(NSTError, match=f"jobs.csv:3: {refused} cannot be set in a row"):
        jobs.read_jobs_csv(str(tmp_path / "jobs.csv"))


# --- end to end, on embedded Ray as nst batch starts it --------------------------------------------

SMALL = ["--size", "32x48", "--iterations", "2", "--seed", "0", "--quiet", "--workers", "1"]


@pytest.fixture
def batch_inputs(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    return {name: photo(tmp_path / f"{name}.png", (32, 48), seed) for seed, name in enumerate(["c0", "c1", "s0"])}


def _rows(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def test_a_second_batch_in_the_same_folder_keeps_the_first_batchs_jobs(batch_inputs, tmp_path, capsys):
    out, p = str(tmp_path / "out"), batch_inputs
    first = ["--content", p["c0"], "--style", p["s0"], "--output", out, *SMALL]
    assert command.main(first) == 0
    final = os.path.join(out, "c0--s0", "final.png")
    made = os.stat(final).st_mtime_ns
    assert command.main(["--content", p["c1"], "--style", p["s0"], "--output", out, *SMALL]) == 0
    assert {i: r["status"] for i, r in _rows(out).items()} == {"c1--s0": "done", "c0--s0": "done"}
    capsys.readouterr()
    assert command.main(first) == 0  # the first batch again: nothing to do, nothing replaced
    assert capsys.readouterr().out.startswith("1 jobs: 1 done, 0 failed, 0 pending")
    assert os.stat(final).st_mtime_ns == made


def test_a_job_folder_holding_a_users_files_is_left_as_it_is(batch_inputs, tmp_path, capsys):
    out, p = tmp_path / "out", batch_inputs
    (out / "c0--s0").mkdir(parents=True)
    (out / "c0--s0" / "final.png").write_bytes(b"my picture")
    code = command.main(["--content", p["c0"], p["c1"], "--style", p["s0"], "--output", str(out), *SMALL])
    assert code == 1 and (out / "c0--s0" / "final.png").read_bytes() == b"my picture"
    assert os.listdir(out / "c0--s0") == ["final.png"]
    rows = _rows(out)
    assert rows["c1--s0"]["status"] == "done" and rows["c0--s0"]["status"] == "failed"
    assert "already holds files no batch here made" in rows["c0--s0"]["error"]
    assert command.main(["--content", p["c0"], "--style", p["s0"], "--output", str(out), *SMALL]) == 1  # still not
    assert (out / "c0--s0" / "final.png").read_bytes() == b"my picture"


@pytest.mark.parametrize("sheet_is_an_input", [False, True])
def test_a_contact_sheet_nst_did_not_write_is_refused_before_any_work(batch_inputs, tmp_path, capsys,
                                                                      sheet_is_an_input):
    out, p = tmp_path / "out", batch_inputs
    out.mkdir()
    sheet = out / "contact_sheet.jpg"
    shutil.copy(p["s0"], sheet)
    before = sheet.read_bytes()
    style = str(sheet) if sheet_is_an_input else p["s0"]
    code = command.main(["--content", p["c0"], "--style", style, "--output", str(out), *SMALL])
    assert_one_line(code, capsys.readouterr().err, f"{sheet}: exists and was not written by nst batch",
                    prog="nst batch")
    assert sheet.read_bytes() == before and sorted(os.listdir(out)) == ["contact_sheet.jpg"]


# --- the contact sheet itself ------------------------------------------------------------------------

def _job_folder(out, job_id, picture):
    folder = out / job_id
    folder.mkdir(parents=True)
    for name in ("content.png", "style.png", "final.png"):
        shutil.copy(picture, folder / name)


def test_the_sheet_labels_its_rows_and_columns(tmp_path):
    picture = photo(tmp_path / "p.png", (64, 64), 0)
    jobs_ = jobs.name_jobs([("/c/portrait.png", "/s/wave.png", ()), ("/c/portrait.png", "/s/scream.png", ())])
    for job in jobs_:
        _job_folder(tmp_path / "out", job.id, picture)
    plain = np.asarray(Image.open(sheet.contact_sheet(str(tmp_path / "out"), jobs_)).convert("L"))
    assert plain.shape == (2 * (sheet.CELL + sheet.LABEL + sheet.GAP), 3 * (sheet.CELL + sheet.GAP))
    band = plain[sheet.CELL:sheet.CELL + sheet.LABEL, sheet.CELL + sheet.GAP:]  # under the style thumbnails
    assert (band < 128).sum() > 20  # text is drawn there


def test_a_sheet_of_many_contents_stays_within_jpegs_limit_or_says_why(tmp_path):
    grid = sheet.Grid(400, 2)
    assert max(grid.size) <= 65535 and grid.cell >= 8
    with pytest.raises(NSTError, match="would pass JPEG's 65535 px"):
        sheet.Grid(10000, 1)
    assert command.write_sheet(str(tmp_path), [jobs.Job(f"j{i}", f"/c/{i}.png", "/s.png") for i in range(10000)]) \
        .startswith("no contact sheet (a contact sheet of 10000 contents")


def test_an_address_where_nothing_listens_is_one_line_at_once(batch_inputs, tmp_path, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    start = time.monotonic()
    code = command.main(["--content", batch_inputs["c0"], "--style", batch_inputs["s0"], "--output",
                         str(tmp_path / "out"), "--address", address, *SMALL])
    assert_one_line(code, capsys.readouterr().err, f"--address {address}: nothing answers there", "ray start --head",
                    prog="nst batch")
    assert time.monotonic() - start < 30 and not (tmp_path / "out").exists()
