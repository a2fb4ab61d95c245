"""The Submitted Jobs panel: every cook sent off with Submit As Job, followed through its status
URI once a second until it is over. The list outlives the studio (cooks outlive it too)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from schedcore.errors import SchedcoreError

COLUMNS = ["network", "submitted", "state", "items", "status URI"]
COLORS = {"queued": "#d4a72c", "cooking": "#4e9de0", "finished": "#57ab5a", "failed": "#e5534b",
          "canceled": "#a371f7", "died": "#e5534b", "unreadable": "#d4a72c"}
KEEP = 20  # submissions remembered
OVER = ("finished", "failed", "canceled", "died")


class SubmittedPanel(QTableWidget):
    openRequested = Signal(str)  # a job's status URI: show its cook

    def __init__(self, settings: QSettings, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.settings = settings
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setToolTip("Cooks sent off with Submit As Job; double-click one to see its "
                        "items and their logs")
        self.itemDoubleClicked.connect(self._open)
        self.jobs: list[dict] = [j for j in (settings.value("submitted") or [])
                                 if isinstance(j, dict) and "uri" in j][:KEEP]
        self._states: dict[str, tuple[str, str, str]] = {}  # uri -> state, counts, detail
        self.timer = QTimer(self, interval=1000)
        self.timer.timeout.connect(self.poll)
        self.poll()
        self.timer.start()

    def add(self, uri: str, network: str) -> None:
        self.jobs.insert(0, {"uri": uri, "network": network, "submitted": time.time()})
        del self.jobs[KEEP:]
        self.settings.setValue("submitted", self.jobs)
        self.poll()

    def poll(self) -> None:
        """Read the status of every cook not known to be over, and show them all."""
        self.setRowCount(len(self.jobs))
        for row, job in enumerate(self.jobs):
            shown = self._states.get(job["uri"])
            if shown is None or shown[0] not in OVER:
                shown = self._states[job["uri"]] = self._read(job["uri"])
            state, counts, detail = shown
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.get("submitted", 0)))
            cells = [Path(job.get("network", "")).name, when, state, counts, job["uri"]]
            for column, text in enumerate(cells):
                cell = self.item(row, column)
                if cell is not None and cell.text() == text and cell.toolTip() == \
                        (detail or text):
                    continue  # as shown already
                cell = QTableWidgetItem(text)
                cell.setToolTip(detail or text)
                if column == 2:
                    cell.setForeground(QColor(COLORS.get(state, "#c8c8c8")))
                self.setItem(row, column, cell)

    @staticmethod
    def _read(uri: str) -> tuple[str, str, str]:
        try:
            from schedcore.submit import read_status  # with the first job followed

            status = read_status(uri)
        except SchedcoreError as exc:
            return "unreadable", "", str(exc)
        state = status["state"]
        if state == "finished" and not status.get("ok"):
            state = "failed"
        counts = ", ".join(f"{n} {s.replace('Cooked', '').lower()}"
                           for s, n in sorted(status.get("counts", {}).items()))
        return state, counts, "\n".join(status.get("errors") or [])

    def _open(self, cell: QTableWidgetItem) -> None:
        self.openRequested.emit(self.jobs[cell.row()]["uri"])

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setHeight(160)
        return hint

