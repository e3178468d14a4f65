"""Ctrl-C as a request to stop after the current step, so the run can save a consistent state.

A KeyboardInterrupt can land anywhere, even between a step and the line that
records it; a flag checked between steps cannot. A second Ctrl-C interrupts at
once, as usual.
"""
import contextlib
import signal
import threading


class StopRequest:
    """Set by SIGINT while :func:`stop_on_sigint` is active."""

    def __init__(self):
        self.requested = False


@contextlib.contextmanager
def stop_on_sigint():
    """Yield a :class:`StopRequest`; Ctrl-C sets it instead of raising (main thread only)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals only reach the main thread; nothing to install
        return

    def handler(signum, frame):
        stop.requested = True
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C behaves as before

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
