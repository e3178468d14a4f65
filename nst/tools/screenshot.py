"""The README's picture of the page during a run: ``python -m nst.tools.screenshot images/serve.png``.

It starts ``nst serve`` on a free port of 127.0.0.1, opens the page in
Debian's headless Chromium through Playwright (Playwright's own browser
download cannot work without the internet, so the system's executable is
launched, with everything that would call out switched off), starts a run of
the default images, takes the picture once G has been refreshed a few times,
and stops the run. The same server and browser start serve the real-browser
test (``tests/test_serve_browser.py``). Needs the test extra and the weights.
"""
import argparse
import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"  # Debian's package (apt-get install chromium)
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
LOCAL = ("http://127.0.0.1", "data:", "blob:")  # all the page may load; anything else is refused and noted
# Every distinct picture the G view shows, in order, from the moment this runs (a MutationObserver).
WATCH_G = """() => { window.gSources = []; const seen = new Set();
  const record = () => document.querySelectorAll('#g-image img').forEach(img => {
    if (img.src && !seen.has(img.src)) { seen.add(img.src); window.gSources.push(img.src); } });
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['src']}); }"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(output, env=None, timeout=300):
    """``nst serve`` on a free port of 127.0.0.1 writing into ``output``; yields (url, process).

    Its output goes to a temporary file (a pipe nobody reads could fill and stop it), shown if it fails to start.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, "-m", "nst", "serve", "--port", str(port), "--output", output],
                               stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + timeout
        while not _answers(url):
            if process.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"nst serve did not start within {timeout} s: {log.read()[-2000:]}")
            time.sleep(0.25)
        yield url, process
    finally:
        log.close()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def browser():
    """A page of a fresh headless Chromium; yields (page, outside): the addresses it tried beyond 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    outside = []

    def only_local(route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True, accept_downloads=True,
            viewport={"width": 1100, "height": 1200})
        try:
            context.route("**/*", only_local)
            yield context.new_page(), outside
        finally:
            context.close()


def fill(page, values):
    """Type values into the page's number fields, by element id."""
    for elem_id, value in values.items():
        page.locator(f"#{elem_id} input").fill(str(value))


def g_updates(page):
    """How many distinct pictures the G view has shown since :data:`WATCH_G` was installed."""
    return page.evaluate("window.gSources.length")


def shoot(url, out, max_side, iterations, refresh, updates, height):
    """Start a run of the default images, wait for ``updates`` pictures of G, take the picture, stop."""
    from PIL import Image

    with browser() as (page, outside):
        page.goto(url)
        page.wait_for_selector("#start")
        fill(page, {"max-side": max_side, "iterations": iterations, "refresh-every": refresh})
        page.evaluate(WATCH_G)
        page.locator("#start").click()
        deadline = time.time() + 600
        while g_updates(page) < updates and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1)  # the costs' picture follows G's
        picture = page.screenshot(clip={"x": 0, "y": 0, "width": 1100, "height": height})
        page.locator("#stop").click()
        page.wait_for_selector("#status :text('stopped after')", timeout=120_000)
    if outside:
        raise RuntimeError(f"the page tried to reach {outside}")
    image = Image.open(io.BytesIO(picture)).convert("RGB").quantize(256)  # a palette: a small PNG
    image.save(out, optimize=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m nst.tools.screenshot", description=__doc__.splitlines()[0])
    p.add_argument("out", help="the PNG to write, e.g. images/serve.png")
    p.add_argument("--max-side", type=int, default=256)
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--refresh", type=int, default=5, help="refresh G every N steps")
    p.add_argument("--updates", type=int, default=6, help="take the picture after G has shown this many images")
    p.add_argument("--height", type=int, default=1200, help="px of the page's top in the picture (G and the costs)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as output, serve(output, dict(os.environ)) as (url, _):
        shoot(url, args.out, args.max_side, args.iterations, args.refresh, args.updates, args.height)
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
