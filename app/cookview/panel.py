"""The cook viewer: the work items table with its filters, the selected item's details and
the tail of its log (live while it cooks), and a summary bar with counts and progress."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from schedcore.workitem import WorkItem, WorkItemState

from ..bridge import CookBridge
from ..logview import open_link
from .model import COLUMNS, STATE_COLORS, ItemTableModel, state_text
from .spans import CookSpans

LOG_TAIL = 16_000  # characters of a log shown
FITTED = [COLUMNS.index(name) for name in ("id", "name", "node")]
MAX_FITTED = 360  # pixels: a column grows to its longest text, up to this


def log_tail(item: WorkItem) -> str:
    if not item.log_file:
        return item.log
    path = Path(item.log_file)
    after = item.log_after_file()[-LOG_TAIL:]
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - LOG_TAIL + len(after)))
            return handle.read().decode("utf-8", errors="replace") + after
    except OSError:
        return item.log or "(no log yet)"


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _detail_rows(item: WorkItem) -> list[tuple[str, str]]:
    """The item as (label, text) rows: one per attribute, output and input."""
    rows = [("node", item.node), ("reason", item.reason),
            ("command", item.command),
            ("duration", _duration(item.cook_duration) if item.cook_duration else "")]
    rows += _usage_rows(item.usage)
    for name in item.attribNames():
        values = item.attribArray(name) or []
        rows.append((name, str(values[0]) if len(values) == 1 else ", ".join(map(str, values))))
    rows += [("output", o.path) for o in item.outputFiles]
    rows += [("input", o.path) for o in item.inputFiles]
    return [(label, text) for label, text in rows if text]


def _usage_rows(usage) -> list[tuple[str, str]]:
    """What the item's job used and where it ran, as far as it is known."""
    if usage is None:
        return []
    from schedcore.trace import exit_status, format_duration, format_memory, format_time

    rows = [("ran", format_duration(usage.realtime)),
            ("CPU", format_duration(usage.cpu) if usage.cpu is not None else "-"),
            ("peak memory", format_memory(usage.peak_rss)),
            ("exit", exit_status(usage)), ("started", format_time(usage.start)),
            ("ended", format_time(usage.end)),
            ("attempt", str(usage.attempt) if usage.attempt else "-"),
            ("where", " ".join(part for part in (usage.host, usage.slot) if part) or "-"),
            ("job", usage.native_id or "-")]
    return [(label, text) for label, text in rows if text != "-"]


class CookViewer(QWidget):
    itemSelected = Signal(object)  # the WorkItem, or None
    openInside = Signal(QUrl)      # a link the desktop cannot open: the studio shows it

    def __init__(self, bridge: CookBridge, parent=None):
        super().__init__(parent)
        self.bridge = bridge
        self.model = ItemTableModel(self)
        self.state_filter = QComboBox()
        self.state_filter.addItem("all states", "")
        for state in WorkItemState:
            self.state_filter.addItem(state.name, state.name)
        self.node_filter = QComboBox()
        self.node_filter.addItem("all nodes", "")
        self.text_filter = QLineEdit(placeholderText="Filter by name, command, attributes…")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self._longest: dict[int, int] = {}  # column -> characters of its longest text so far
        self._fitting = False
        self._user_sized: set[int] = set()  # columns the user resized: left as they are
        self.table.horizontalHeader().sectionResized.connect(self._resized_by_user)
        self.table.horizontalHeader().resizeSection(  # the longest state's name fits
            COLUMNS.index("state"), self.table.fontMetrics().horizontalAdvance("CookedSuccessMM"))
        self.details = QTextBrowser(openLinks=False)
        self.details.anchorClicked.connect(self.open_url)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setStyleSheet("font-family: monospace;")
        self.progress = QProgressBar()
        self.summary = QLabel("No cook yet: Cook (F5) runs the network.")
        self.spans = CookSpans(placing=False)  # what the timeline shows, from the cook's start
        self.timeline = None  # a TimelineView, made when its tab is first shown
        self._timeline_tab = QWidget()
        QVBoxLayout(self._timeline_tab).setContentsMargins(0, 0, 0, 0)
        self.nodes = None  # a NodeFiguresTable, made when its tab is first shown
        self._nodes_tab = QWidget()
        QVBoxLayout(self._nodes_tab).setContentsMargins(0, 0, 0, 0)
        self._build()
        self._wire_timeline()
        self._log_timer = QTimer(self, interval=500)
        self._log_timer.timeout.connect(self._refresh_selected)
        for widget in (self.state_filter, self.node_filter):
            widget.currentIndexChanged.connect(self._filter)
        self.text_filter.textChanged.connect(self._filter)
        self.table.selectionModel().selectionChanged.connect(self._selection)
        bridge.cookStarted.connect(self._started)
        bridge.itemsChanged.connect(self._changed)
        bridge.cookFinished.connect(self._finished)
        bridge.itemsForgotten.connect(lambda _nodes: self._show_items_left())

    def _build(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.state_filter)
        filters.addWidget(self.node_filter)
        filters.addWidget(self.text_filter, 1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(filters)
        column.addWidget(self.table, 1)
        right = QSplitter()
        right.setOrientation(Qt.Orientation.Vertical)
        right.addWidget(self.details)
        right.addWidget(self.log)
        right.setSizes([300, 300])  # the details get half, not the two lines of a hint
        split = QSplitter()
        self.tabs = QTabWidget()
        self.tabs.addTab(left, "Items")
        self.tabs.addTab(self._timeline_tab, "Timeline")
        self.tabs.addTab(self._nodes_tab, "Nodes")
        split.addWidget(self.tabs)
        split.addWidget(right)
        split.setSizes([600, 400])
        for splitter in (split, right):
            splitter.setChildrenCollapsible(False)
        self.splitters = (split, right)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addLayout(bar)

    def _wire_timeline(self) -> None:
        """The timeline follows the same batches as the table, and shares its selection."""
        self.bridge.itemsChanged.connect(self._timeline_changed)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.table.selectionModel().selectionChanged.connect(self._select_in_timeline)

    def show_timeline(self):
        """The Timeline tab in front; its TimelineView."""
        self.tabs.setCurrentWidget(self._timeline_tab)
        return self.timeline

    def _tab_shown(self, index: int) -> None:
        if self.nodes is None and self.tabs.widget(index) is self._nodes_tab:
            from .nodes import NodeFiguresTable  # with the first look, not with the window

            self.nodes = NodeFiguresTable(self.bridge)
            self._nodes_tab.layout().addWidget(self.nodes)
            self.nodes.show()
        if self.timeline is None and self.tabs.widget(index) is self._timeline_tab:
            from .timeline import TimelineView  # with the first look, not with the window

            self.timeline = TimelineView(data=self.spans)
            self.timeline.itemClicked.connect(self._timeline_clicked)
            self._timeline_tab.layout().addWidget(self.timeline)
            self.timeline.show()  # added to a page already shown: not shown by itself
            self.timeline.data_changed()
            self._select_in_timeline()

    def _timeline_changed(self, new: list, changed_ids: list) -> None:
        self.spans.add(new)  # as they are now: their changes too
        added = {item.id for item in new}
        self.spans.changed_ids([i for i in changed_ids if i not in added])
        if self.timeline is not None:
            self.timeline.data_changed()

    def _timeline_clicked(self, item_id: int) -> None:
        if not self.select_item(item_id):  # filtered out of the table: every item again
            self.show_item(item_id)

    def _select_in_timeline(self) -> None:
        if self.timeline is not None:
            self.timeline.select(next((i.id for i in self.selected_items()), None))

    # -- following the cook -------------------------------------------------------------
    def _started(self) -> None:
        self.model.reset([])
        self.spans.clear()
        if self.timeline is not None:
            self.timeline.clear()
        self.node_filter.blockSignals(True)
        self.node_filter.clear()
        self.node_filter.addItem("all nodes", "")
        self.node_filter.blockSignals(False)
        self._filter()  # the model filters by what the combos say: all nodes
        self.details.clear()
        self.log.clear()
        self._summary()

    def reset(self) -> None:
        """Another network is open: no items, no filters, no cook yet."""
        for widget in (self.state_filter, self.text_filter):
            widget.blockSignals(True)
        self.state_filter.setCurrentIndex(0)
        self.text_filter.clear()
        for widget in (self.state_filter, self.text_filter):
            widget.blockSignals(False)
        self._started()
        self.progress.reset()
        self.summary.setText("No cook yet: Cook (F5) runs the network.")

    def _changed(self, new: list, changed: list) -> None:
        self.model.update(new, changed)
        self._fit_columns(new)
        for node in dict.fromkeys(i.node for i in new):
            if self.node_filter.findData(node) < 0:
                self.node_filter.addItem(node, node)
        self._summary()

    def _fit_columns(self, new: list) -> None:
        """Widen the name columns to their longest text as items come (never narrower: a
        column does not jump about while a cook runs); one the user sized stays so."""
        metrics, header = self.table.fontMetrics(), self.table.horizontalHeader()
        for column in FITTED:
            if column in self._user_sized or not new:
                continue
            texts = (ItemTableModel.cell_text(item, COLUMNS[column]) for item in new)
            longest = max(texts, key=len)
            if len(longest) <= self._longest.get(column, 0):
                continue
            self._longest[column] = len(longest)
            wanted = min(MAX_FITTED, metrics.horizontalAdvance(longest + "MM"))
            if wanted > header.sectionSize(column):
                self._fitting = True
                header.resizeSection(column, wanted)
                self._fitting = False

    def _resized_by_user(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and column != self.model.columnCount() - 1:
            self._user_sized.add(column)

    def _show_items_left(self) -> None:
        self.model.reset(self.bridge.items)
        self._summary()

    def _finished(self, result) -> None:
        self._summary(result)
        self._refresh_selected()

    def _summary(self, result=None) -> None:
        totals: Counter = self.bridge.totals()
        total = sum(totals.values())
        done = self.bridge.finished_count(totals)
        self.progress.setRange(0, max(total, 1))
        canceled = result is not None and result.canceled
        # a cancel ends every item, but cooks none: the bar says how far it got
        self.progress.setValue(done - totals.get("CookedCancel", 0) if canceled else done)
        self.progress.setFormat("canceled at %p%" if canceled else "%p%")
        parts = [f"<span style='color:{STATE_COLORS[state]}'>{state} {n}</span>"
                 for state, n in sorted(totals.items(), key=lambda kv: WorkItemState[kv[0]])
                 if n]
        verdict = ""
        if result is not None:
            verdict = ("<b>canceled</b> · " if result.canceled else
                       "<b>every item cooked</b> · " if result.ok else "<b>the cook failed</b> · ")
        self.summary.setText(f"{verdict}{done}/{total} items · " + " · ".join(parts))

    # -- filters and the selected item -----------------------------------------------------
    def _filter(self) -> None:
        self.model.set_filter(self.state_filter.currentData() or "",
                              self.node_filter.currentData() or "", self.text_filter.text())

    def selected_items(self) -> list[WorkItem]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [self.model.rows[row] for row in sorted(rows) if row < len(self.model.rows)]

    def show_item(self, item_id: int, state: str = "", node: str = "") -> bool:
        """Show the items of ``state`` and ``node`` (every item where empty), the filters
        saying so, and select the item."""
        for combo, value in ((self.state_filter, state), (self.node_filter, node)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.blockSignals(False)
        self.text_filter.blockSignals(True)
        self.text_filter.clear()
        self.text_filter.blockSignals(False)
        self._filter()
        return self.select_item(item_id)

    def select_item(self, item_id: int) -> bool:
        for row, item in enumerate(self.model.rows):
            if item.id == item_id:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
                return True
        return False

    def _selection(self) -> None:
        items = self.selected_items()
        self.itemSelected.emit(items[0] if items else None)
        self._refresh_selected()
        if items:
            self._log_timer.start()
        else:
            self._log_timer.stop()

    def _refresh_selected(self) -> None:
        items = self.selected_items()
        if not items:
            return
        item = items[0]
        self.details.setHtml(self._details_html(item))
        tail = log_tail(item)
        if tail != self.log.toPlainText():
            self.log.setPlainText(tail)
            self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())
        if item.state.is_final:
            self._log_timer.stop()

    @staticmethod
    def _details_html(item: WorkItem) -> str:
        import html  # with the first item shown, not on the way to the window

        try:
            rows = _detail_rows(item)
        except RuntimeError:  # the engine changed the item meanwhile: the next refresh
            return ""
        cells = [f"<td style='color:#9a9a9a; padding-right:12px'>{html.escape(label)}</td>"
                 f"<td>{html.escape(text)}</td>" for label, text in rows]
        cells += [f"<td style='color:#9a9a9a'>{label}</td><td><a href='{html.escape(uri)}'>"
                  f"{html.escape(uri)}</a></td>"
                  for label, uri in (("log", item.log_uri), ("status", item.status_uri)) if uri]
        color = STATE_COLORS.get(item.state.name, "#ccc")
        table = "".join(f"<tr>{row}</tr>" for row in cells)
        state = html.escape(state_text(item))
        return (f"<h3>{html.escape(item.name)} <span style='color:{color}'>{state}</span></h3>"
                f"<table cellspacing='2'>{table}</table>")

    def open_url(self, url: QUrl) -> None:
        open_link(url, self.openInside.emit)
