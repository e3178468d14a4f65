"""The one exception users see, and how the command lines report it.

A library error carries the value and the problem; when the fault is in a
setting it also names the setting, as ``{option}`` in its message. Read as a
plain exception (a notebook) the placeholder becomes the setting's Python
name (``learning_rate``); the command line fills in its flag
(``--learning-rate``) with :meth:`NSTError.message`.
"""
import argparse
import errno
import re
import sys

EXIT_BAD_INPUT = 2
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def python_name(option):
    return option


class NSTError(Exception):
    """Bad input or environment: a message that names the file or setting and the problem.

    ``options`` are the settings the message refers to as ``{option}``
    (several are joined with commas).
    """

    def __init__(self, message, options=()):
        super().__init__(message)
        self.template = message
        self.options = (options,) if isinstance(options, str) else tuple(options)

    def message(self, name=python_name):
        """The message with each setting written as ``name(setting)``."""
        if not self.options:
            return self.template
        return self.template.replace("{option}", ", ".join(name(o) for o in self.options))

    def __str__(self):
        return self.message()


def disk_full(exc):
    """Whether ``exc``, or the OSError it was raised from, says the disk (or the quota) is full: then every later
    write fails too, so a batch stops rather than fail job after job."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def report(prog, exc, name=python_name):
    """Print ``exc`` as one line on stderr (no traceback) and return the exit code for bad input."""
    text = exc.message(name) if isinstance(exc, NSTError) else str(exc)
    print(f"{prog}: error: {' '.join(text.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


# What argparse must read as a value, not an option: its own pattern knows only -1 and -.5, so
# --temporal-weight -inf or -1e6 got "expected one argument" instead of the option's own check.
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are NSTErrors, so a bad option is one line too, not usage + message;
    a negative number in any notation is a value."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        raise NSTError(f"{message} (see --help)")
