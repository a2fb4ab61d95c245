"""Ctrl-C, SIGTERM and SIGHUP for ``schedcore cook``: they cancel the cook.

Python runs a signal handler on the main thread between any two bytecodes, so a handler that
works (prints, imports, cancels) can be interrupted halfway by the next signal, which runs
the handler again inside it: a second SIGTERM as the first one's message imported rich's
emoji table crashed the cook with a half-imported module and left its jobs running. Here
nothing of ours runs in the signal's context: Python's own C handler writes the signal's
number to a pipe (``signal.set_wakeup_fd``) and the Python-level handler does nothing. The
main thread reads the pipe and does the work (the message, ``engine.cancel()``) in its own
time, where a further signal only writes its number again. Reading a pipe also wakes the
main thread when the kernel gave the signal to another of the process's threads, which
leaves a main thread blocked on a lock asleep until that lock is released (a SIGTERM as the
cook ended its shared servers was heeded only once they had ended).

Imports only the standard library's cheapest modules: the handlers go in before the cook
imports anything heavy, so that a signal while it starts up is noted too."""

from __future__ import annotations

import collections
import os
import signal
import threading
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, timeout, a closed tty
_ENDED = 0  # in the pipe: the cook ended (no signal has the number 0)


def _noted(signum, frame) -> None:
    """The Python-level handler: the signal's number is in the pipe already."""


class CancelSignals:
    """Notes the cancel signals from :meth:`install` on; a signal ignored when the command
    started (``nohup``) stays ignored. ``first``: the first one taken, or None."""

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}  # signal -> the handler before
        self._pipe: tuple[int, int] | None = None
        self._wakeup_before = -1
        self._read: collections.deque[int] = collections.deque()
        self._ended = False
        self.first: int | None = None
        self.installed = False

    def install(self) -> bool:
        """Put the handlers in (the main thread only: signals reach no other); whether
        they are."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._pipe = os.pipe()
        os.set_blocking(self._pipe[1], False)  # as set_wakeup_fd needs
        self._wakeup_before = signal.set_wakeup_fd(self._pipe[1], warn_on_full_buffer=False)
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[sig] = signal.signal(sig, _noted)
        self.installed = True
        return True

    def restore(self) -> None:
        """The handlers from before :meth:`install`."""
        if not self.installed:
            return
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        signal.set_wakeup_fd(self._wakeup_before)
        for fd in self._pipe or ():
            os.close(fd)
        self._pipe, self.installed = None, False

    def ignore(self) -> None:
        """Ignore the cancel signals from now on: as the process exits after a cancel,
        whose exit status is decided (Python puts back the default actions as it tears
        down, when a repeated SIGTERM would still end it, with another status)."""
        for sig in self._previous:
            signal.signal(sig, signal.SIG_IGN)

    def ended(self) -> None:
        """Wake :meth:`next`: the cook ended (any thread)."""
        pipe = self._pipe
        if pipe is None:  # restored already: nobody waits
            return
        try:
            os.write(pipe[1], bytes([_ENDED]))
        except OSError:  # closed as it was restored
            pass

    def next(self, block: bool = True) -> int | None:
        """The next signal noted, waiting for it or for :meth:`ended` when ``block``; None
        once the cook ended (or, not blocking, when none is noted), or when none can be."""
        pipe = self._pipe
        if not self.installed or pipe is None:
            return None
        while not self._read:
            if self._ended and block:
                return None
            os.set_blocking(pipe[0], block)
            try:
                self._read.extend(os.read(pipe[0], 512))
            except BlockingIOError:
                return None
        sig = self._read.popleft()
        if sig == _ENDED:
            self._ended = True
            return None if block else self.next(block=False)
        if sig not in self._previous:  # another handler's signal that Python wrote too
            return self.next(block)
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
