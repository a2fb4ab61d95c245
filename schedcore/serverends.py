"""Ending a cook's shared servers at its end: side by side, within one deadline.

Ending a server that does not answer takes as long as its ``endSharedServer`` waits (5 s for
a Python Server Begin's): one after the other, a job that reported 12 silent servers made
the end of its cook take a minute, and 20,000 would have taken a day. Here up to
``WORKERS`` end at once, for ``DEADLINE`` seconds in all; a cancel asked meanwhile (a
signal) ends the wait at once. What is still ending then, or was never asked, is left to
stop by itself: a Python Server Begin's server does once the cook's result server no longer
answers its checks."""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable

WORKERS = 16  # servers ended at once
DEADLINE = 10.0  # seconds for all of a cook's servers to end


class ServerEnds:
    """Runs ``ends`` (each ends one server and never raises) on up to ``WORKERS`` daemon
    threads, putting a token on ``wakeups`` as each is done (the engine's queue, on which
    a cancel puts one too)."""

    def __init__(self, ends: list[Callable[[], object]], wakeups: queue.SimpleQueue):
        self.total = len(ends)
        self._todo = collections.deque(ends)
        self._wakeups = wakeups
        self._lock = threading.Lock()
        self._done = 0
        self._abandoned = False
        for number in range(min(WORKERS, self.total)):
            threading.Thread(target=self._work, name=f"schedcore-server-end-{number}",
                             daemon=True).start()

    def wait(self, stop: Callable[[], bool]) -> bool:
        """Wait until every server is ended, ``DEADLINE`` seconds have passed (of the wall
        clock: a test's clock of the engine's does not hurry it) or ``stop()``; whether
        every one is ended."""
        deadline = time.monotonic() + DEADLINE
        while not self.finished and not stop():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self._wakeups.get(timeout=left)
            except queue.Empty:
                pass
        return self.finished

    @property
    def finished(self) -> bool:
        with self._lock:
            return self._done == self.total

    def abandon(self) -> int:
        """Start no more; how many were not ended (still ending or never asked)."""
        with self._lock:
            self._abandoned = True
            return self.total - self._done

    def _work(self) -> None:
        while not self._abandoned:
            try:
                end = self._todo.popleft()
            except IndexError:
                return
            try:
                end()
            finally:
                with self._lock:
                    self._done += 1
                self._wakeups.put(None)
