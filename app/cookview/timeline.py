"""The Cook Viewer's timeline: the cook as a Gantt chart. A row per slot, worker or host (the
lane that ran the item), a bar per item from its start to its end coloured by node, its wait
in the queue a thin line before it; bars of running items grow with the clock.

Where the job reported its usage (``item.usage``: queued, started, ended, slot, host, ...) the
bars say so; else ``span_of`` (in ``spans.py``, without Qt) falls back on the times the studio
saw the item start and end.
A paint reads only the visible rows and, in each, the items of the visible time window (two
binary searches, see ``lanes.py``); zoomed out, a pixel column draws one bar of the many that
fall in it, so a paint costs the same for 1,000 items as for 100,000."""

from __future__ import annotations

import html
import time
from bisect import bisect_right

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .chart import CANCELED, FAILED, MIN_BAR, NOW, Canvas
from .lanes import RUNNING, Row
from .spans import CookSpans, figure, span_of

__all__ = ["TimelineView", "span_of"]  # span_of lives in spans.py, without Qt

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7",
           "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#8cd17d", "#d4a6c8", "#f1ce63",
           "#86bcb6", "#d7b5a6"]  # the most distinct first; no red: red marks a failure
LIVE_MS = 250       # running bars grow this often
TOLERANCE = 3.0     # pixels a hover or a click may miss a thin bar by
MARGIN = 8.0        # pixels left free at both ends of a fitted cook
MAX_SCALE = 1e5     # pixels a second: 10 µs a pixel


def clock_text(when: float, origin: float | None) -> str:
    text = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1000):03d}"
    return text if origin is None else f"{text} (+{when - origin:.2f} s)"


class TimelineView(QWidget):
    """The chart, its time axis, a legend of the nodes, Fit and Critical path."""

    itemClicked = Signal(int)

    def __init__(self, parent=None, data: CookSpans | None = None):
        super().__init__(parent)
        # the cook as recorded (the Cook Viewer's, kept from the cook's start; else its own)
        self.data = data if data is not None else CookSpans()
        self.data.place_all()
        self._measured = 0  # rows whose names the gutter was widened for
        self.colors: dict[str, QColor] = {}  # node -> colour, kept from cook to cook
        self._legend_size = -1
        self.selected: int | None = None
        self.critical = False
        self.follow = True  # the whole cook stays in view until the user zooms or pans
        self.t0, self.scale, self.y0 = 0.0, 50.0, 0
        self._hunit = self._hfrom = 0.0
        self._syncing = False
        self.canvas = Canvas(self)
        metrics = self.canvas.fontMetrics()
        self.row_h = metrics.height() + 10
        self.axis_h = metrics.height() + 10
        self.gutter = metrics.horizontalAdvance("lane 000") + 16
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.vbar = QScrollBar(Qt.Orientation.Vertical)
        self.fit_button = QToolButton(text="Fit", toolTip="Show the whole cook (Home or A)")
        self.critical_button = QToolButton(
            text="Critical path", checkable=True,
            toolTip="The chain of items whose times made the cook as long as it was")
        self.legend = QLabel()
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._build()
        self._live = QTimer(self, interval=LIVE_MS)
        self._live.timeout.connect(self._tick)
        self.fit_button.clicked.connect(self.fit)
        self.critical_button.toggled.connect(self.set_critical_path)
        self.hbar.valueChanged.connect(self._scrolled_h)
        self.vbar.valueChanged.connect(self._scrolled_v)

    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.critical_button)
        bar.addWidget(self.legend, 1)
        grid = QGridLayout()
        grid.setSpacing(0)
        grid.addWidget(self.canvas, 0, 0)
        grid.addWidget(self.vbar, 0, 1)
        grid.addWidget(self.hbar, 1, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(grid, 1)

    # -- feeding ------------------------------------------------------------------------------
    @property
    def lanes(self):
        return self.data.lanes

    @property
    def items(self) -> dict:
        return self.data.items

    @property
    def clock(self):
        """The clock the bars of running items grow with (the record's)."""
        return self.data.clock

    @clock.setter
    def clock(self, clock) -> None:
        self.data.clock = clock

    def add(self, items: list) -> None:
        """Items new to the cook."""
        self.data.add(items)
        self.data_changed()

    def changed(self, items: list) -> None:
        """Items whose state or usage changed."""
        self.data.changed(items)
        self.data_changed()

    def changed_ids(self, ids) -> None:
        """Items known by id (the bridge's batch) whose state or usage changed."""
        self.data.changed_ids(ids)
        self.data_changed()

    def clear(self) -> None:
        self.data.clear()
        self._measured = 0
        self.selected, self.follow, self.y0 = None, True, 0
        self._live.stop()
        self.data_changed()

    def data_changed(self) -> None:
        """The record changed (new rows, nodes, running items): keep up with it."""
        if self._measured != len(self.lanes.made):
            self._fit_gutter()
        if len(self.data.nodes) != self._legend_size:
            self._update_legend()
        if self.lanes.running and not self._live.isActive():
            self._live.start()
        self.refresh()

    def color(self, node: str) -> QColor:
        """The node's colour: the palette's next, in the order nodes first show, and the same
        for the rest of the session (a second cook does not repaint a node)."""
        color = self.colors.get(node)
        if color is None:
            count = len(self.colors)
            color = QColor(PALETTE[count]) if count < len(PALETTE) else QColor.fromHsvF(
                (count * 0.618034) % 1.0, 0.45, 0.85)  # golden-ratio hues: far apart
            self.colors[node] = color
        return color

    def _update_legend(self) -> None:
        self._legend_size = len(self.data.nodes)
        keys = [f"<span style='color:{self.color(node).name()}'>■</span>&nbsp;"
                f"{html.escape(node)}" for node in self.data.nodes]
        keys.append(f"<span style='color:{FAILED}'>▨</span>&nbsp;failed")
        keys.append(f"<span style='color:{CANCELED}'>┆</span>&nbsp;canceled")
        keys.append(f"<span style='color:{NOW}'>□</span>&nbsp;cooking")
        keys.append("<span style='color:#9a9a9a'>─</span>&nbsp;waiting")
        self.legend.setText("&nbsp;&nbsp; ".join(keys))

    def _fit_gutter(self) -> None:
        """Widen the lanes' names to the longest (never narrower while a cook runs)."""
        metrics = self.canvas.fontMetrics()
        new = self.lanes.made[self._measured:]  # only the rows not measured yet
        self._measured = len(self.lanes.made)
        widest = max((metrics.horizontalAdvance(r.label) for r in new), default=0)
        self.gutter = max(self.gutter, min(220, widest + 16))

    # -- the view -----------------------------------------------------------------------------
    def plot_width(self) -> float:
        return max(20.0, self.canvas.width() - self.gutter)

    def plot_height(self) -> float:
        return max(0.0, self.canvas.height() - self.axis_h)

    def x_of(self, when: float) -> float:
        return self.gutter + (when - self.t0) * self.scale

    def time_at(self, x: float) -> float:
        return self.t0 + (x - self.gutter) / self.scale

    def row_top(self, index: int) -> float:
        return self.axis_h + index * self.row_h - self.y0

    def row_at(self, y: float) -> Row | None:
        if y < self.axis_h:
            return None
        index = int((y - self.axis_h + self.y0) // self.row_h)
        return self.lanes.rows[index] if 0 <= index < len(self.lanes.rows) else None

    @staticmethod
    def shown_end(end: float, now: float, start: float) -> float:
        """Where a bar ends: at ``end``, or now while the item runs."""
        return max(now, start) if end == RUNNING else end

    def bar_rect(self, item_id: int) -> QRectF | None:
        """Where the bar of the item is drawn (canvas coordinates), or None."""
        span = self.lanes.spans.get(item_id)
        if span is None:
            return None
        row = self.lanes.row_of[item_id]
        x1 = self.x_of(span.started)
        end = self.shown_end(RUNNING if span.ended is None else span.ended, self.clock(),
                             span.started)
        top = self.row_top(row.place)
        return QRectF(x1, top + 3, max(MIN_BAR, self.x_of(end) - x1), self.row_h - 10)

    def item_at(self, pos: QPointF) -> int | None:
        """The item whose bar is under ``pos`` (canvas coordinates), or one a few pixels
        off; the later of two that both cover it (it is drawn on top)."""
        row = self.row_at(pos.y())
        if row is None or pos.x() < self.gutter:
            return None
        now, best, distance = self.clock(), None, TOLERANCE
        index = bisect_right(row.starts, self.time_at(pos.x() + TOLERANCE)) - 1
        while index >= 0:
            start = row.starts[index]
            x1 = self.x_of(start)
            x2 = max(x1 + MIN_BAR, self.x_of(self.shown_end(row.ends[index], now, start)))
            if x2 < pos.x() - TOLERANCE and x1 + MIN_BAR < pos.x() - TOLERANCE:
                break  # the ends only get earlier from here
            off = 0.0 if x1 <= pos.x() <= x2 else min(abs(pos.x() - x1), abs(pos.x() - x2))
            if off < distance or (off == 0.0 and best is None):
                best, distance = row.ids[index], off
                if off == 0.0:
                    break
            index -= 1
        return best

    def fit(self) -> None:
        """The whole cook in view (and kept so while it grows)."""
        self.follow = True
        extent = self.lanes.extent(self.clock())
        if extent is not None:
            start, end = extent
            self.scale = min(MAX_SCALE, max(1e-6, self.plot_width() - 2 * MARGIN)
                             / max(end - start, 1e-3))
            self.t0 = start - MARGIN / self.scale
        self._sync_bars()
        self.canvas.update()

    def show_range(self, start: float, end: float) -> None:
        """Zoom the time axis to ``start``..``end``."""
        self.follow = False
        self.scale = min(MAX_SCALE, self.plot_width() / max(end - start, 1e-5))
        self.t0 = start
        self._sync_bars()
        self.canvas.update()

    def zoom(self, factor: float, x: float | None = None) -> None:
        """Zoom the time axis by ``factor`` around ``x`` (the middle when None): the time
        under it stays under it."""
        x = self.gutter + self.plot_width() / 2 if x is None else x
        when = self.time_at(x)
        extent = self.lanes.extent(self.clock())
        length = max(1.0, extent[1] - extent[0]) if extent else 10.0
        lowest = self.plot_width() / (10 * length)  # further out shows nothing more
        self.scale = min(MAX_SCALE, max(lowest, self.scale * factor))
        self.t0 = when - (x - self.gutter) / self.scale
        self.follow = False
        self._sync_bars()
        self.canvas.update()

    def pan(self, dx: float, dy: float = 0.0) -> None:
        """Move the view by pixels (a drag: the chart follows the mouse)."""
        self.t0 -= dx / self.scale
        self.y0 = self._clamp_y(self.y0 - dy)
        self.follow = False
        self._sync_bars()
        self.canvas.update()

    def _clamp_y(self, y: float) -> int:
        most = max(0, len(self.lanes.rows) * self.row_h - int(self.plot_height()))
        return int(min(max(0, y), most))

    def select(self, item_id: int | None) -> None:
        """Highlight the item (None: none), scrolling to it when out of view."""
        self.selected = item_id
        rect = None if item_id is None else self.bar_rect(item_id)
        if rect is not None:
            if rect.bottom() > self.canvas.height() or rect.top() < self.axis_h:
                self.y0 = self._clamp_y(rect.top() + self.y0 - self.axis_h
                                        - self.plot_height() / 2)
            if rect.right() < self.gutter or rect.left() > self.canvas.width():
                self.t0 = self.time_at(rect.center().x()) - self.plot_width() / 2 / self.scale
                self.follow = False
            self._sync_bars()
        self.canvas.update()

    def set_critical_path(self, on: bool) -> None:
        self.critical = bool(on)
        if self.critical_button.isChecked() != self.critical:
            self.critical_button.setChecked(self.critical)
        self.canvas.update()

    def critical_path(self) -> list[int]:
        """The ids of the critical path, first to last (see ``lanes.critical_path``)."""
        return self.data.critical_path()

    # -- keeping up ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fit again when following the cook, and repaint (Qt merges repaints asked for before
        the next frame: a batch of the bridge costs one paint)."""
        if self.follow:
            self.fit()
        else:
            self._sync_bars()
            self.canvas.update()

    def _tick(self) -> None:
        if not self.lanes.running:
            self._live.stop()
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def _sync_bars(self) -> None:
        self._syncing = True
        extent = self.lanes.extent(self.clock())
        view = self.plot_width() / self.scale
        start, end = extent if extent else (self.t0, self.t0 + view)
        start, end = min(start, self.t0), max(end, self.t0 + view)
        # a bar step is a thousandth of the view, coarser for a huge range (ints are 32 bits)
        self._hfrom, self._hunit = start, max(view / 1000, (end - start) / 1e9)
        self.hbar.setRange(0, int((end - start - view) / self._hunit))
        self.hbar.setPageStep(int(view / self._hunit))
        self.hbar.setSingleStep(max(1, int(view / self._hunit / 20)))
        self.hbar.setValue(int((self.t0 - start) / self._hunit))
        self.vbar.setRange(0, max(0, len(self.lanes.rows) * self.row_h
                                  - int(self.plot_height())))
        self.vbar.setPageStep(max(1, int(self.plot_height())))
        self.vbar.setSingleStep(self.row_h)
        self.vbar.setValue(self.y0)
        self._syncing = False

    def _scrolled_h(self, value: int) -> None:
        if not self._syncing:
            self.t0 = self._hfrom + value * self._hunit
            self.follow = False
            self.canvas.update()

    def _scrolled_v(self, value: int) -> None:
        if not self._syncing:
            self.y0 = value
            self.canvas.update()

    # -- words --------------------------------------------------------------------------------
    def figures(self, item_id: int) -> list[tuple[str, str]]:
        """What the tooltip says of the item, as (label, text): the figures known."""
        item = self.items.get(item_id)
        span = self.lanes.spans.get(item_id)
        if item is None:
            return []
        origin = self.lanes.origin
        rows = [("node", str(item.node)), ("state", item.state.name)]
        if span is not None:
            rows.append(("lane", self.lanes.row_of[item_id].label))
        rows.append(("host", str(figure(item, "host") or "")))
        for label in ("queued", "started", "ended"):
            when = getattr(span, label, None) if span is not None else None
            rows.append((label, clock_text(when, origin) if when is not None else ""))
        if span is not None:
            wall = (span.ended if span.ended is not None else self.clock()) - span.started
            rows.append(("wall", f"{wall:.2f} s" + ("" if span.ended is not None
                                                    else " so far")))
        duration = getattr(item, "cook_duration", 0.0)
        if duration:
            rows.append(("cook time", f"{duration:.2f} s (reported)"))
        cpu, rss = figure(item, "cpu"), figure(item, "peak_rss")
        rows += [("CPU", f"{cpu:.2f} s" if cpu is not None else ""),
                 ("peak RSS", f"{rss / 1e6:.1f} MB" if rss is not None else "")]
        for label, name in (("exit code", "exit_code"), ("attempt", "attempt"),
                            ("native id", "native_id")):
            value = figure(item, name)
            rows.append((label, "" if value is None else str(value)))
        if getattr(item, "usage", None) is None and span is not None:
            rows.append(("times", "as the studio saw them (the job reported none)"))
        return [(label, text) for label, text in rows if text]

    def tooltip_text(self, item_id: int) -> str:
        item = self.items.get(item_id)
        if item is None:
            return ""
        cells = "".join(f"<tr><td style='color:#707070; padding-right:8px'>{label}</td>"
                        f"<td>{html.escape(text)}</td></tr>"
                        for label, text in self.figures(item_id))
        return f"<b>{html.escape(item.name)}</b><table cellspacing='0'>{cells}</table>"
