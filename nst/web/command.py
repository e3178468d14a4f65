"""``nst serve``: the local web page (``nst.web.page``) on 127.0.0.1, one run at a time.

Gradio is told to stay off the network: no analytics or version check
(``GRADIO_ANALYTICS_ENABLED=False``), no share link, no run history kept in
the browser, no MCP server, no server-side rendering, and the Hugging Face
hub offline. Everything it writes (its upload cache included) goes under
``--output``. Ctrl-C or SIGTERM closes the server; a run in progress stops
after its current step and keeps its image.
"""
import ipaddress
import os
import signal
import socket
import sys
import time

from nst.algorithm.vgg import read_vgg_weights, resolve_weights_path
from nst.errors import NSTError, OneLineParser, report
from nst.run.interrupt import STOP_SIGNALS, raise_on_signals
from nst.run.outputs import prepare_output_dir
from nst.web.page import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, PAGE_CSS, Limits, Server, build_page

PROG = "nst serve"
MAX_UPLOAD_MB = 2**20  # a terabyte: beyond it a limit means none
MAX_PIXELS = 2**40
OFFLINE = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "GRADIO_SHARE": "False", "GRADIO_SSR_MODE": "False"}


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, description="A local web page: upload C and S, watch G form, download it.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                   "only; 0.0.0.0 opens the page, and the files of --output, to the network)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--output", default="nst-serve", metavar="DIR",
                   help="the server's folder: each run writes run-NNNN/ there, and nothing elsewhere "
                   "(default: nst-serve)")
    p.add_argument("--vgg", metavar="PATH", help="VGG-19 .mat (default: $NST_VGG19, else ./pretrained-model/, "
                   "else the user cache; see nst download)")
    p.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_BYTES / 2**20, metavar="MB",
                   help=f"refuse larger uploads (default: {MAX_UPLOAD_BYTES / 2**20:g})")
    p.add_argument("--max-pixels", type=int, default=MAX_UPLOAD_PIXELS, metavar="N",
                   help=f"refuse images of more pixels, from their header (default: {MAX_UPLOAD_PIXELS:,})")
    return p


def check(args):
    """Every check before Gradio starts: the address, the limits, the weights, the output folder."""
    check_address(args.host, args.port)
    for option, value, scale, least, most in (
            ("--max-upload-mb", args.max_upload_mb, 2**20, "one byte's worth (9.5e-07)", MAX_UPLOAD_MB),
            ("--max-pixels", args.max_pixels, 1, "1", MAX_PIXELS)):
        if not (1 <= value * scale and value <= most):  # also NaN and infinity
            raise NSTError(f"{option} {value:g}: give a number of at least {least} and at most {most:,}")
    weights = os.path.abspath(resolve_weights_path(args.vgg))
    read_vgg_weights(weights)  # every check of the file now, one line if it fails; then cached for the runs
    output = os.path.abspath(args.output)
    prepare_output_dir(output)
    return Server(output, Limits(int(args.max_upload_mb * 2**20), args.max_pixels), weights)


def check_address(host, port):
    """An IP address of this machine and a port free on it, before anything is read or made.

    A host name is refused: looking it up could ask a name server, off this machine.
    """
    if not 0 < port < 65536:
        raise NSTError(f"--port {port}: use a port between 1 and 65535")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise NSTError(f"--host {host!r}: give an IP address (127.0.0.1: this machine only; 0.0.0.0: every "
                       "network)") from None
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError:
            raise cannot_listen(host, port) from None


def cannot_listen(host, port):
    return NSTError(f"{host}:{port}: cannot listen there (the port is in use, or the address is not this "
                    "machine's): choose another with --port or --host")


def launch(server, host, port):
    """Start Gradio (in its own threads) with nothing reaching outside this machine; return the page."""
    os.environ.update(OFFLINE, GRADIO_TEMP_DIR=server.uploads)
    try:
        import gradio  # noqa: F401  (the extra; checked before the page is built)
    except ImportError:
        raise NSTError("the web page needs Gradio: pip install -e \".[app]\"") from None
    page = build_page(server)
    page.queue(default_concurrency_limit=1)
    try:
        page.launch(server_name=host, server_port=port, share=False, inbrowser=False, quiet=True,
                    prevent_thread_lock=True, ssr_mode=False, mcp_server=False, run_history=False, pwa=False,
                    enable_monitoring=False, footer_links=[], allowed_paths=[server.output],
                    max_file_size=server.limits.upload_bytes, css=PAGE_CSS)
    except OSError:  # taken since the check; Gradio's own words name its environment variables, not our options
        raise cannot_listen(host, port) from None
    return page


def main(argv=None, prog=PROG):
    try:
        args = build_parser(prog).parse_args(argv)
        server = check(args)
        page = launch(server, args.host, args.port)
    except NSTError as exc:
        return report(prog, exc)
    stopped = StopSignals()  # before the address is shown: from then on Ctrl-C closes the page cleanly
    print(f"nst serve: http://{args.host}:{args.port}/ (runs in {server.output}; Ctrl-C stops)", flush=True)
    try:
        stopped.wait(page)
    finally:
        server.stop_all()
        page.close(verbose=False)
    if stopped.signum is None:
        return 0
    print(f"{prog}: stopped ({signal.Signals(stopped.signum).name})", file=sys.stderr)
    return 128 + stopped.signum


class StopSignals:
    """Ctrl-C, SIGTERM and SIGHUP end the page, remembered so the exit code says which.

    Not Gradio's ``block_thread``, which prints lines of its own. After the first signal a second one
    interrupts at once, as anywhere else in nst (the runs may take a while to save their images).
    """

    def __init__(self):
        self.signum = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._received)

    def _received(self, signum, frame):
        self.signum = signum
        raise_on_signals()

    def wait(self, page):
        """Until a stop signal, or Gradio's server ends by itself."""
        while self.signum is None and page.is_running:
            time.sleep(0.1)  # the signal's handler runs here, in the main thread


if __name__ == "__main__":
    sys.exit(main())
