"""``nst serve`` in a real browser: Debian's headless Chromium driven by Playwright, the server on 127.0.0.1.

The test starts the server itself (tiny synthetic weights, a free port), and
the browser is allowed to load nothing but 127.0.0.1: every other address it
tries is refused and recorded, and the list must stay empty. One test, one
server start (the slow part): a refused upload, a run watched and downloaded,
then a second visitor queued behind a run that is stopped.
"""
import io
import os
import re
import signal

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import photo, require, subprocess_env

require("gradio")  # the test extra: missing, the test fails (tests/README.md)
require("playwright.sync_api")
from nst.tools.screenshot import CHROMIUM, WATCH_G, browser, fill, serve  # noqa: E402

if not os.path.exists(CHROMIUM):
    if os.environ.get("NST_REQUIRE_BROWSER"):  # CI installs it: there a missing browser is a failure
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def test_upload_run_watch_g_download_and_a_text_file_refused(tiny_vgg, tmp_path):
    output = tmp_path / "served"
    content, style = photo(tmp_path / "content.png", (48, 64)), photo(tmp_path / "style.png", (48, 64), seed=1)
    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list, not a picture\n")
    env = subprocess_env(NST_VGG19=tiny_vgg["new"][0])
    with serve(str(output), env) as (url, server), browser() as (page, outside):
        page.goto(url)
        page.wait_for_selector("#start")
        page.locator("#content-upload input[type=file]").set_input_files(content)

        page.locator("#style-upload input[type=file]").set_input_files(str(notes))  # the wrong file
        message = "style image notes.txt: not a readable image"
        page.wait_for_selector(f"#style-message :text('{message}')", timeout=30_000)
        page.locator("#start").click()
        page.wait_for_selector(f"#status :text('{message}')", timeout=30_000)
        assert os.listdir(output) == [".gradio"]  # Gradio's own cache: no run was started

        page.reload()  # a fresh form, both uploads empty again
        page.wait_for_selector("#start")
        page.locator("#content-upload input[type=file]").set_input_files(content)
        page.locator("#style-upload input[type=file]").set_input_files(style)
        fill(page, {"max-side": 64, "iterations": 8, "refresh-every": 1})
        page.evaluate(WATCH_G)
        page.locator("#start").click()
        page.wait_for_selector("#status :text('done: 8 steps')", timeout=60_000)
        shown = {page.request.get(src).body() for src in page.evaluate("window.gSources")}
        assert len({iio.imread(png).tobytes() for png in shown}) >= 3  # G changed on the page, twice or more

        with page.expect_download() as download:
            page.locator("#downloads a[download='final.png']").click()
        downloaded = iio.imread(io.BytesIO(open(download.value.path(), "rb").read()))
        final = iio.imread(output / "run-0001" / "final.png")
        assert downloaded.shape == (48, 64, 3) and np.array_equal(downloaded, final)  # pixel for pixel
        assert page.locator("#downloads a[download='final.jpg']").count() == 1

        # one run at a time: a second visitor waits in the queue and sees its place
        fill(page, {"iterations": 5000, "refresh-every": 1})  # paced by the page: minutes, if not stopped
        page.locator("#start").click()
        page.locator("#status", has_text=re.compile(r"step \d+ / 5000")).wait_for(timeout=60_000)
        other = page.context.new_page()
        other.goto(url)
        other.wait_for_selector("#start")
        fill(other, {"max-side": 64, "iterations": 2})  # the default images
        other.locator("#start").click()
        other.get_by_text(re.compile(r"queue: \d+/\d+")).first.wait_for(timeout=60_000)
        page.locator("#stop").click()
        page.wait_for_selector("#status :text('stopped after')", timeout=60_000)
        other.wait_for_selector("#status :text('done: 2 steps')", timeout=60_000)

        assert outside == []  # nothing but 127.0.0.1 was asked for
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=120) == 128 + signal.SIGTERM  # a stopped server says it was stopped
    assert sorted(os.listdir(output)) == [".gradio", "run-0001", "run-0002", "run-0003"]  # all under --output
