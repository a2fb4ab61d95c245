"""The kit on a thread of its own; what it finds reaches the GUI thread through queued
signals (the worker lives in the GUI thread, the thread only emits)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from schedcore import check


class CheckWorker(QObject):
    started = Signal(str, list)     # the target's label, the scenario names
    scenarioStarted = Signal(str)  # the scenario now running
    result = Signal(object)        # a ScenarioResult
    finished = Signal(object)      # the Report (None when the check could not start)
    failed = Signal(str)           # why the check could not start

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, target: check.Target, timeout: float = check.DEFAULT_TIMEOUT) -> bool:
        if self.running:
            return False
        self._stop.clear()
        names = check.NAMES
        self.started.emit(target.label, list(names))
        self._thread = threading.Thread(target=self._run, args=(target, timeout),
                                        name="schedstudio-check", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """End the check after the scenario that runs (each is bounded)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self, target: check.Target, timeout: float) -> None:
        def on_result(result):
            self.result.emit(result)
            following = check.NAMES.index(result.name) + 1
            if following < len(check.NAMES) and not self._stop.is_set():
                self.scenarioStarted.emit(check.NAMES[following])
        try:
            self.scenarioStarted.emit(check.NAMES[0])
            report = check.run(target, None, timeout, on_result=on_result,
                               should_stop=self._stop.is_set)
        except Exception as exc:  # a kit that cannot run says why in the panel
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            self.finished.emit(None)
            return
        self.finished.emit(report)
