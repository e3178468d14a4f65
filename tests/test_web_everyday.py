"""``nst serve`` as people meet it, on a live server of 127.0.0.1: a quiet start and stop."""
import signal
import subprocess
import sys


from helpers import require, subprocess_env, wait_until
from loopback import free_port

httpx = require("httpx")  # Gradio's own HTTP client
require("gradio")

START_S = 300  # TensorFlow's and Gradio's imports, on a loaded machine


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
