"""Ctrl-C, SIGTERM and SIGHUP as a request to stop after the current step, so the run can save.

SIGTERM is what Slurm, Kubernetes, Ray and ``timeout`` send, SIGHUP what a
closing terminal sends; all three are treated as Ctrl-C. While a run steps,
:func:`stop_on_signals` turns them into a flag checked between steps (an
exception could land between a step and the line that records it). Outside
it, :func:`raise_on_signals` makes them raise :class:`Interrupted`, so the
command line can end with one line and the signal's exit code (128 + its
number) at any moment. A second signal during a run interrupts at once.
"""
import contextlib
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived where nothing could be saved; ``signum`` says which."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame):
    raise Interrupted(signum)


def raise_on_signals():
    """From now on SIGTERM and SIGHUP raise :class:`Interrupted`, as SIGINT raises KeyboardInterrupt."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, _raise)


def exit_code(exc):
    """128 + the signal's number: what shells report for a process a signal stopped."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


class StopRequest:
    """Set by a stop signal while :func:`stop_on_signals` is active, or by another thread (a web page's button)."""

    def __init__(self):
        self.signum = None
        self.listening = False  # inside stop_on_signals already

    def request(self, signum=signal.SIGINT):
        """Ask the run to stop after the current step, as Ctrl-C does."""
        self.signum = signum

    @property
    def requested(self):
        return self.signum is not None


@contextlib.contextmanager
def stop_on_signals(stop=None):
    """Yield ``stop`` (a new :class:`StopRequest` if None); a stop signal sets it instead of raising.

    Signals reach the main thread only; elsewhere :meth:`StopRequest.request` (a web page's button, a batch
    worker told to stop) sets it. Inside another ``stop_on_signals`` of the same request (a video's frame
    loop around each frame's steps) nothing more is installed, so a second signal still acts at once.
    """
    stop = StopRequest() if stop is None else stop
    if stop.listening or threading.current_thread() is not threading.main_thread():
        yield stop
        return
    stop.listening = True
    try:
        with _signals_set(stop):
            yield stop
    finally:
        stop.listening = False


@contextlib.contextmanager
def _signals_set(stop):
    """The stop signals set ``stop`` while inside; a second signal acts as before: at once."""
    def handler(signum, frame):
        stop.signum = signum
        for s, old in previous.items():
            signal.signal(s, old)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
