"""The one exception users see, and how the command lines report it."""
import argparse
import sys

EXIT_BAD_INPUT = 2


class NSTError(Exception):
    """Bad input or environment: a message that names the file or option and the problem."""


def report(prog, exc):
    """Print ``exc`` as one line on stderr (no traceback) and return the exit code for bad input."""
    print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are NSTErrors, so a bad option is one line too, not usage + message."""

    def error(self, message):
        raise NSTError(f"{message} (see --help)")
