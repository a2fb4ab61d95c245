"""The Scheduler Check panel: one row per scenario (waiting, running, passed, failed, not
supported), the reason of a failure beside it, and the summary above. Activating a failure
goes to the callback field at the line, as the Problems panel does, or shows the module
file at the line."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from schedcore import check

from .worker import CheckWorker

COLUMNS = ["result", "scenario", "time", "where", "why"]  # why, the longest, stretches
WHY, WHERE = 4, 3
LINK = "#e8b04a"
COLORS = {check.PASSED: "#57ab5a", check.FAILED: "#e5534b", check.NOT_SUPPORTED: "#8a8a8a",
          "running": "#4e9de0", "waiting": "#8a8a8a", "not run": "#8a8a8a"}
TARGET = Qt.ItemDataRole.UserRole
_FIELD = re.compile(r"^<(\w+):(\w+)>$")


def target_of(result) -> tuple | None:
    """Where a failure leads: ("field", node, callback, line) in a Python Scheduler field,
    ("file", path, line, why) in a module file."""
    where = result.where
    if where is None or not where.file or where.line is None:
        return None
    match = _FIELD.match(where.file)
    if match is not None:
        return "field", match.group(1), match.group(2), where.line
    return "file", where.file, where.line, result.reason


class CheckPanel(QWidget):
    activated = Signal(tuple)  # ("field", node, callback, line) or ("file", path, line, why)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = CheckWorker(self)
        self.header = QLabel("Select a scheduler node, then Types ▸ Check Scheduler: its "
                             "callbacks are run through the scenarios that break schedulers.")
        self.header.setWordWrap(True)
        self.stop_button = QPushButton("Stop", enabled=False,
                                       toolTip="Stop after the scenario that runs")
        self.stop_button.clicked.connect(self.worker.stop)
        self.tree = self._tree()
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.rows: dict[str, QTreeWidgetItem] = {}
        self.report = None
        self.worker.started.connect(self._started)
        self.worker.scenarioStarted.connect(lambda name: self._mark(name, "running"))
        self.worker.result.connect(self._result)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(lambda why: self.header.setText(f"The check could not "
                                                                   f"run: {why}"))

    def _tree(self) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setColumnCount(len(COLUMNS))
        tree.setHeaderLabels(COLUMNS)
        tree.setRootIsDecorated(False)
        tree.setWordWrap(True)
        tree.setUniformRowHeights(False)
        tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = tree.header()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        tree.itemActivated.connect(self._activated)
        return tree

    # -- running ------------------------------------------------------------------------
    def start(self, target: check.Target) -> bool:
        return self.worker.start(target)

    def stop(self, wait: float = 0.0) -> None:
        self.worker.stop()
        if wait:
            self.worker.wait(wait)

    def _started(self, label: str, names: list) -> None:
        self.report = None
        self.tree.clear()
        self.rows = {}
        for scenario in check.SCENARIOS:
            row = QTreeWidgetItem(["waiting", scenario.name, "", "", scenario.title])
            self._color(row, "waiting")
            self.tree.addTopLevelItem(row)
            self.rows[scenario.name] = row
        self.label = label
        self.header.setText(f"Checking {label}…")
        self.stop_button.setEnabled(True)

    def _mark(self, name: str, status: str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.setText(0, status)
            self._color(row, status)

    def _result(self, result) -> None:
        row = self.rows.get(result.name)
        if row is None:
            return
        why = result.reason or result.title + (f" ({'; '.join(result.notes)})"
                                               if result.notes else "")
        where = str(result.where) if result.where and result.where.file else ""
        for column, text in enumerate([result.status, result.name, f"{result.seconds:.1f} s",
                                       where, why]):
            row.setText(column, text)
        row.setToolTip(WHY, result.reason or result.title)
        target = target_of(result)
        row.setData(0, TARGET, target)
        if target:  # looks like a link: it leads to the line
            row.setForeground(WHERE, QColor(LINK))
            row.setToolTip(WHERE, "Double-click to go to this line of the field"
                           if target[0] == "field" else
                           f"Double-click to show {result.where.file} at this line")
        self._color(row, result.status)
        done = sum(r.text(0) in COLORS and r.text(0) not in ("waiting", "running")
                   for r in self.rows.values())
        self.header.setText(f"Checking {self.label}… {done}/{len(self.rows)}")

    def _finished(self, report) -> None:
        self.stop_button.setEnabled(False)
        for row in self.rows.values():
            if row.text(0) in ("waiting", "running"):
                row.setText(0, "not run")
                self._color(row, "not run")
        if report is None:
            return
        self.report = report
        color = COLORS[check.PASSED if report.ok else check.FAILED]
        summary = html.escape(report.summary())
        self.header.setText(f'<span style="color:{color}"><b>{summary}</b></span>'
                            + ("" if report.ok else " — double-click a failure in a callback "
                               "field to go to its line"))

    @staticmethod
    def _color(row: QTreeWidgetItem, status: str) -> None:
        row.setForeground(0, QColor(COLORS.get(status, "#dcdcdc")))

    def _activated(self, row: QTreeWidgetItem, _column: int) -> None:
        target = row.data(0, TARGET)
        if target:
            self.activated.emit(tuple(target))
