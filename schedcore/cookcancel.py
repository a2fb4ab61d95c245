"""Ctrl-C, SIGTERM and SIGHUP for ``schedcore cook``: they cancel the cook.

Python runs a signal handler on the main thread between any two bytecodes, so a handler that
works (prints, imports, cancels) can be interrupted halfway by the next signal, which runs
the handler again inside it: a second SIGTERM as the first one's message imported rich's
emoji table crashed the cook with a half-imported module and left its jobs running. Here
the handler only notes the signal on a queue (``SimpleQueue.put`` may be called from a
handler interrupting any code, itself included); the main thread takes the signals from
that queue and does the work (the message, ``engine.cancel()``) in its own time, where a
further signal only notes itself again.

Imports only the standard library's cheapest modules: the handlers go in before the cook
imports anything heavy, so that a signal while it starts up is noted too."""

from __future__ import annotations

import signal
import threading
from queue import Empty, SimpleQueue

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, timeout, a closed tty
_ENDED = 0  # on the queue: the cook ended (no signal has the number 0)


class CancelSignals:
    """Notes the cancel signals from :meth:`install` on; a signal ignored when the command
    started (``nohup``) stays ignored. ``first``: the first one noted, or None."""

    def __init__(self):
        self._queue: SimpleQueue = SimpleQueue()
        self._previous: dict[int, object] = {}
        self.first: int | None = None
        self.installed = False

    def install(self) -> bool:
        """Put the handlers in (the main thread only: signals reach no other); whether
        they are."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[sig] = signal.signal(sig, self._note)
        self.installed = True
        return True

    def restore(self) -> None:
        """The handlers from before :meth:`install`."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        self.installed = False

    def ignore(self) -> None:
        """Ignore the cancel signals from now on: as the process exits after a cancel,
        whose exit status is decided (Python puts back the default actions as it tears
        down, when a repeated SIGTERM would still end it, with another status)."""
        for sig in self._previous:
            signal.signal(sig, signal.SIG_IGN)

    def _note(self, signum, frame) -> None:  # the handler: nothing else, see the docstring
        self._queue.put(signum)

    def ended(self) -> None:
        """Wake :meth:`next`: the cook ended (any thread)."""
        self._queue.put(_ENDED)

    def next(self, block: bool = True) -> int | None:
        """The next signal noted, waiting for it or for :meth:`ended` when ``block``; None
        once the cook ended (or, not blocking, when none is noted)."""
        try:
            sig = self._queue.get(block)
        except Empty:
            return None
        if sig == _ENDED:
            return None
        if self.first is None:
            self.first = sig
        return sig


def cook_cancelable(engine, signals: CancelSignals, say) -> None:
    """Start the cook and wait for it, canceling it at the first signal ``signals`` noted
    (before the cook started or during it): running jobs are killed, and this waits for
    that; later signals only say so. ``say(text)`` prints a line (markup of rich)."""
    engine.start()
    if not signals.installed:  # not the main thread: no signal to handle here
        engine.wait()
        return

    def wake_when_ended():
        try:
            engine.wait()
        finally:
            signals.ended()

    threading.Thread(target=wake_when_ended, name="schedcore-cook-end", daemon=True).start()
    canceling = False
    while (sig := signals.next()) is not None:
        name = signal.Signals(sig).name
        if not canceling:
            canceling = True
            _say(say, f"[magenta]{name}: canceling the cook, stopping running jobs...[/]")
            engine.cancel()  # only queues a message for the engine's thread
        else:
            _say(say, f"[magenta]{name}: still canceling; jobs are being stopped[/]")
    engine.wait()


def _say(say, text: str) -> None:
    try:
        say(text)
    except OSError:  # the terminal is gone (SIGHUP): cancel all the same
        pass
