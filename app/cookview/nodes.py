"""The Cook Viewer's Nodes tab: the cook's figures by node (items, failures, how long its jobs
ran: median, 95 %, longest, in all; CPU and peak memory) and, beside them, the node's median
in its earlier cooks, so a slow-down shows. Worked out when the tab is looked at (once a
second while it is, during a cook), never per batch of a cook of 100,000 items."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from schedcore import cookhistory, usagestats
from schedcore.trace import format_duration, format_memory

COLUMNS = ["node", "items", "failed", "canceled", "not run", "median", "95 %", "longest",
           "in all", "CPU", "peak memory", "earlier cooks"]  # medians, oldest first
BLOCKS = "▁▂▃▄▅▆▇█"
SLOWER = 1.5  # the last cook's median against the one before: marked as a slow-down


def sparkline(values: list[float]) -> str:
    """``values`` as a line of block characters, the highest the tallest."""
    top = max(values, default=0.0)
    if top <= 0:
        return BLOCKS[0] * len(values)
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))]
                   for v in values)


class NodeFiguresTable(QTableWidget):
    def __init__(self, bridge, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.bridge = bridge
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(len(COLUMNS) - 1).setToolTip(
            "The node's median time per job in its last cooks, oldest first, and the last")
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timer = QTimer(self, interval=1000)
        self.timer.timeout.connect(self.refresh)
        bridge.cookStarted.connect(self._cook_started)
        bridge.cookFinished.connect(lambda _result: self.refresh())

    def _cook_started(self) -> None:
        if self.isVisible():
            self.timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        if self.bridge.cooking:
            self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def refresh(self) -> None:
        engine = self.bridge.engine
        if not self.bridge.cooking:
            self.timer.stop()
        if engine is None:
            self.setRowCount(0)
            return
        result = engine.result
        figures = usagestats.figures_of_result(result) if result is not None else \
            usagestats.figures_of_items(list(self.bridge.items), engine.state.times)
        earlier = cookhistory.medians(engine.journal_path, [f.node for f in figures])
        self.setRowCount(len(figures))
        for row, node in enumerate(figures):
            history = earlier.get(node.node, [])
            slower = len(history) > 1 and history[-1] > SLOWER * max(history[-2], 1e-3)
            cells = [node.node, str(node.count), str(node.failed), str(node.canceled),
                     str(node.not_run), format_duration(node.p50), format_duration(node.p95),
                     format_duration(node.max), format_duration(node.total) if node.max
                     is not None else "-", format_duration(node.cpu) if node.cpu else "-",
                     format_memory(node.peak_rss),
                     (f"{sparkline(history)}  {format_duration(history[-1])}"
                      + ("  ▲ slower" if slower else "")) if history else ""]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column in (1, 2, 3, 4):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if column == 2 and node.failed:
                    cell.setForeground(QColor("#e5534b"))
                if column == len(COLUMNS) - 1 and history:
                    cell.setToolTip(", ".join(format_duration(v) for v in history))
                    if slower:
                        cell.setForeground(QColor("#e5534b"))
                self.setItem(row, column, cell)
