"""A submitted cook, as the Cook Viewer shows one of the studio's own: its state and counts,
its errors, its items (from its journal: state, times, what they used, where they ran) and
the log of the item selected; the cook's own log; its report. Read from its status file and
its journal, again every second while it cooks (the cook runs in a process of its own)."""

from __future__ import annotations

import glob
import html
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from schedcore import trace
from schedcore.errors import SchedcoreError
from schedcore.journal import journal_path

from .cookview.model import STATE_COLORS

COLUMNS = ["id", "name", "node", "state", "exit", "ran", "CPU", "peak memory", "host"]
LOG_TAIL = 16_000  # characters of an item's log shown


def status_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path) if uri.startswith("file:") else uri)


class SubmittedCookView(QWidget):
    """One submitted cook, in a window of its own."""

    openNetwork = Signal(str)  # the network file the cook was made from
    openLink = Signal(QUrl)    # a log to show

    def __init__(self, uri: str, parent=None):
        super().__init__(parent)
        self.uri = uri
        self.status: dict = {}
        self.entries: list[trace.ItemTrace] = []
        self.resize(1000, 640)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.errors = QPlainTextEdit(readOnly=True, maximumHeight=90)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._show_log)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setStyleSheet("font-family: monospace;")
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for text, slot in (("Open Network", self._open_network),
                           ("Cook Log", self._open_cook_log),
                           ("Status File", lambda: self.openLink.emit(QUrl(self.uri))),
                           ("Export Report…", lambda: self.export_report())):
            button = self.buttons[text] = QPushButton(text)
            button.clicked.connect(slot)
            bar.addWidget(button)
        bar.addStretch(1)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.log)
        split.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.errors)
        layout.addWidget(split, 1)
        layout.addLayout(bar)
        self.timer = QTimer(self, interval=1000)
        self.timer.timeout.connect(self.refresh)
        self.refresh()

    # -- reading --------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """The cook's working dir: its status file is in ``<workdir>/pdgtemp/submitted``."""
        return status_path(self.uri).parent.parent.parent

    @property
    def journal(self) -> str:
        return journal_path(str(self.workdir), self.status.get("network", ""))

    def refresh(self) -> None:
        from schedcore.submit import read_status

        try:
            self.status = read_status(self.uri)
        except SchedcoreError as exc:
            self.status = {"state": "unreadable", "errors": [str(exc)]}
        self.entries = trace.entries_of_journal(self.journal) if self.status.get("network") \
            else []
        self._show_header()
        self._show_items()
        if not self.entries and not self.log.toPlainText():
            self.log.setPlainText(
                f"No items recorded yet in this cook's journal ({self.journal}): it lists "
                f"items as they end, and one written by an older version lists none.")
        cooking = self.status.get("state") in ("queued", "cooking")
        if cooking and not self.timer.isActive():
            self.timer.start()
        elif not cooking:
            self.timer.stop()

    def _show_header(self) -> None:
        status = self.status
        network = status.get("network", "")
        self.setWindowTitle(f"{Path(network).name or 'Submitted cook'}: submitted cook")
        state = status.get("state", "?")
        if state == "finished" and not status.get("ok"):
            state = "failed"
        color = {"finished": "#57ab5a", "failed": "#e5534b", "cooking": "#4e9de0",
                 "died": "#e5534b"}.get(state, "#d4a72c")
        counts = ", ".join(f"{n} {s}" for s, n in sorted(status.get("counts", {}).items()))
        when = " · ".join(f"{label} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t))}"
                          for label, t in (("started", status.get("started")),
                                           ("updated", status.get("updated")))
                          if isinstance(t, int | float))
        where = f"process {status['pid']} on {status.get('host', '?')}" \
            if "pid" in status else ""
        self.header.setText(
            f"<b>{html.escape(network or self.uri)}</b><br>"
            f"<span style='color:{color}'><b>{html.escape(state)}</b></span>"
            f"{' · ' + html.escape(counts) if counts else ''}"
            f"{' · ' + html.escape(where) if where else ''}"
            f"{' · ' + when if when else ''}")
        errors = status.get("errors") or []
        self.errors.setPlainText("\n".join(errors))
        self.errors.setVisible(bool(errors))
        self.buttons["Open Network"].setEnabled(bool(network) and os.path.isfile(network))
        self.buttons["Cook Log"].setEnabled(bool(status.get("log")))
        self.buttons["Export Report…"].setEnabled(bool(self.entries))

    def _show_items(self) -> None:
        selected = self._selected()
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            usage = entry.usage
            cells = [str(entry.id), entry.name, entry.node, entry.state.name,
                     trace.exit_status(usage), trace.format_duration(usage.realtime),
                     trace.format_duration(usage.cpu), trace.format_memory(usage.peak_rss),
                     usage.host or ""]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem("" if text == "-" else text)
                if column == 3:
                    cell.setForeground(QColor(STATE_COLORS.get(entry.state.name, "#ccc")))
                    cell.setToolTip(entry.reason or text)
                self.table.setItem(row, column, cell)
        if selected is not None:
            rows = [r for r, e in enumerate(self.entries) if e.id == selected.id]
            if rows:
                self.table.selectRow(rows[0])

    def _selected(self) -> trace.ItemTrace | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def log_file(self, entry: trace.ItemTrace) -> str:
        """The item's log: in the cook process's own logs folder (``pdgtemp/<pid>-*``)."""
        pid = self.status.get("pid")
        if not isinstance(pid, int):
            return ""
        found = glob.glob(str(self.workdir / "pdgtemp" / f"{pid}-*" / "logs" /
                              f"{glob.escape(entry.name)}.log"))
        return max(found, key=os.path.getmtime) if found else ""

    def _show_log(self) -> None:
        entry = self._selected()
        if entry is None:
            self.log.clear()
            return
        path = self.log_file(entry)
        text = ""
        if path:
            try:
                with open(path, "rb") as handle:
                    handle.seek(max(0, os.path.getsize(path) - LOG_TAIL))
                    text = handle.read().decode("utf-8", errors="replace")
            except OSError as exc:
                text = f"{path}: {exc.strerror or exc}"
        reason = f"{entry.reason}\n\n" if entry.reason else ""
        self.log.setPlainText(reason + (text or "(no log of this item found in "
                                                f"{self.workdir / 'pdgtemp'})"))

    # -- buttons ---------------------------------------------------------------------------
    def _open_network(self) -> None:
        self.openNetwork.emit(self.status.get("network", ""))

    def _open_cook_log(self) -> None:
        self.openLink.emit(QUrl.fromLocalFile(self.status.get("log", "")))

    def export_report(self, path: str = "") -> bool:
        from schedcore import report

        if not self.entries:
            return False
        name = Path(self.status.get("network", "cook")).name
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export cook report", str(self.workdir / f"{name.split('.')[0]}"
                                                                 f"-report.html"),
                "HTML pages (*.html)")
            if not path:
                return False
        try:
            report.write_report(path, self.entries, title=f"{name}: submitted cook")
        except OSError as exc:
            self.header.setText(self.header.text() + f"<br>not written: {path}: "
                                f"{html.escape(exc.strerror or str(exc))}")
            return False
        return True
