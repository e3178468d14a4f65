"""``nst serve`` as people meet it, on a live server of 127.0.0.1: a quiet start and stop, and what the page
refuses said in one line on the page, with no traceback on the server's console.

The page's callbacks are tested without Gradio in test_webapp.py; here Gradio itself takes the requests, as a
browser sends them (its HTTP API, no browser needed), so its own checks, which run before any callback, are
met too.
"""
import json
import os
import signal
import subprocess
import sys

import pytest

from helpers import photo, require, subprocess_env, wait_until
from loopback import free_port

httpx = require("httpx")  # Gradio's own HTTP client
require("gradio")
from nst.web import command  # noqa: E402
from nst.web.page import Server  # noqa: E402

START_S = 300  # TensorFlow's and Gradio's imports, on a loaded machine
FORM = ["course", 64, 2, "adam", 10.0, 40.0, 0.0, "off", 1]  # the page's fields, in its order


def answers(url):
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def test_start_and_stop_print_two_lines_of_nst_and_nothing_else(tiny_vgg, tmp_path):
    """The address once it answers, then how it stopped: no TensorFlow warning, no Gradio banner."""
    port, log = free_port(), tmp_path / "console.txt"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "nst", "serve", "--port", str(port), "--output",
                                    str(tmp_path / "served")], stdout=out, stderr=subprocess.STDOUT,
                                   env=subprocess_env(NST_VGG19=tiny_vgg["new"][0]))
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: url in log.read_text() and answers(url), START_S, "the address shown answers",
                   alive=process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 128 + signal.SIGINT
    finally:
        if process.poll() is None:
            process.kill()
    lines = log.read_text().splitlines()
    assert lines == [f"nst serve: http://127.0.0.1:{port}/ (runs in {tmp_path / 'served'}; Ctrl-C stops)",
                     "nst serve: stopped (SIGINT)"], lines


@pytest.fixture(scope="module")
def page(tiny_vgg, tmp_path_factory):
    """The page of a Server on a free port of this process, its output folder holding an earlier image."""
    output = tmp_path_factory.mktemp("served")
    photo(output / "earlier.png")  # a real picture the page must never be made to read
    with pytest.MonkeyPatch.context() as env:  # what launch sets for Gradio, undone afterwards
        for name in [*command.OFFLINE, "GRADIO_TEMP_DIR"]:
            env.setenv(name, os.environ.get(name, ""))
        server = Server(str(output), vgg=tiny_vgg["new"][0])
        port = free_port()
        served = command.launch(server, "127.0.0.1", port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/gradio_api", trust_env=False, timeout=120) as http:
                yield server, http
        finally:
            served.close(verbose=False)


def call(http, api, data):
    """A queued event, as the page's button sends it: (kind of the last message, its data)."""
    event = http.post(f"/call/{api}", json={"data": data}).json()["event_id"]
    messages = http.get(f"/call/{api}/{event}").text.strip().split("\n\n")
    kind, data = messages[-1].split("\n")
    return kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def direct(http, api, data):
    """An event outside the queue (an upload's check, the preset's fields): (HTTP status, JSON)."""
    response = http.post(f"/run/{api}", json={"data": data})
    return response.status_code, response.json()


def quiet(capfd, server):
    """Nothing on the console, and nothing started: no run folder beside the earlier picture."""
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error" not in out + err, out + err
    assert sorted(os.listdir(server.output)) == [".gradio", "earlier.png"]


@pytest.mark.parametrize("index,value,message", [
    (5, "sgd", "optimizer: unknown optimizer 'sgd'"),
    (9, "sepia", "preserve colours: unknown mode 'sepia'"),
    (2, "nope", "preset: unknown preset 'nope'"),
    (5, ["adam"], "optimizer: unknown optimizer ['adam']"),
    (4, 2.5, "iterations must be a whole number, got 2.5"),  # Gradio would round it to 2
    (4, "nan", "iterations must be a whole number, got nan"),  # Gradio would fail on it
])
def test_a_value_outside_a_field_is_one_line_on_the_page(page, capfd, index, value, message):
    server, http = page
    data = [None, None, *FORM, None]
    data[index] = value
    assert call(http, "run", data) == ("complete", [f"**Error:** {message}", None, None, None, None])
    quiet(capfd, server)


def test_a_preset_outside_the_choices_is_one_line_on_the_page(page, capfd):
    server, http = page
    status, answer = direct(http, "preset", ["nope"])
    assert status == 500
    assert answer["error"] == "preset: unknown preset 'nope': use one of course, jcjohnson, jcjohnson-fast"
    quiet(capfd, server)


def refused_paths(server):
    """What a page could send for a file field that is not one of its uploads, and the name it is called by."""
    file = {"meta": {"_type": "gradio.FileData"}}
    earlier = os.path.join(server.output, "earlier.png")
    return [({**file, "path": earlier}, "earlier.png"),  # a real image, outside the upload folder
            ({**file, "path": os.path.join(server.uploads, "..", "earlier.png")}, "earlier.png"),  # climbing out
            ({**file, "path": "/etc/passwd"}, "passwd"),
            ({"path": earlier}, "earlier.png"),  # no Gradio file record
            (earlier, repr(earlier))]  # a bare path


@pytest.mark.parametrize("case", range(5))
def test_a_file_outside_the_upload_folder_is_refused_in_one_line(page, capfd, case):
    server, http = page
    value, name = refused_paths(server)[case]
    why = "not a file record" if case == 4 else "not a file uploaded to this page"
    message = f"style image {name}: {why}; upload the file again"
    assert call(http, "run", [None, value, *FORM, None]) == ("error", {"error": message, "duration": 10,
                                                                 "visible": True, "title": "Error"})
    status, answer = direct(http, "check_style", [value])  # as soon as it is "uploaded", too
    assert status == 500 and answer["error"] == message
    quiet(capfd, server)


def test_a_mask_outside_the_upload_folder_is_refused_in_one_line(page, capfd):
    server, http = page
    value, name = refused_paths(server)[2]
    message = f"mask image {name}: not a file uploaded to this page; upload the file again"
    assert call(http, "run", [None, None, *FORM, value]) == ("error", {"error": message, "duration": 10,
                                                                "visible": True, "title": "Error"})
    quiet(capfd, server)


def test_an_upload_is_taken_and_named_whole(page, capfd, tmp_path):
    """The check that refuses the paths above takes what Gradio's upload route received."""
    server, http = page
    name = "grace_hopper_at_the_univac_keyboard_1960_from_the_smithsonian.png"
    with open(photo(tmp_path / name, (48, 64)), "rb") as f:
        path, = http.post("/upload", files={"files": (name, f, "image/png")}).json()
    status, answer = direct(http, "check_content", [{"path": path, "meta": {"_type": "gradio.FileData"}}])
    escaped = name.replace("_", "\\_")  # Markdown: shown as typed, no italics
    assert status == 200 and answer["data"][1] == f"content image {escaped}: 64x48 px"
    quiet(capfd, server)
