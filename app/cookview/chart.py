"""How the timeline looks: what a paint draws of its view (rows, bars, waits, marks, the
time axis and the lanes' names) and the surface that paints it and takes the mouse."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

from .lanes import RUNNING, Row

if TYPE_CHECKING:
    from .timeline import TimelineView

FAILED, CANCELED, PATH, SELECTED = "#e5534b", "#b07adf", "#ffd54a", "#ffffff"
BACK, GUTTER_BACK, GRID, TEXT = "#232323", "#2b2b2b", "#383838", "#c8c8c8"
NOW = "#2c8fd4"  # the Cooking colour
NICE_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
              60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400]
MIN_BAR = 2.0       # pixels: the narrowest bar, so a short item is still seen and hit
TICK_SPACING = 90   # pixels, about, between two ticks of the time axis


def tick_text(seconds: float, step: float) -> str:
    """A tick's label: "0.25 s", "45 s", "2 min 30 s", "1 h 05 min"."""
    if step < 1:
        return f"{seconds:.{min(3, math.ceil(-math.log10(step) - 1e-9))}f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    return f"{hours} h" + (f" {minutes:02d} min" if minutes else "")


def paint(view: TimelineView, painter: QPainter) -> None:
    """The visible rows of ``view``: grid, waits, bars, marks, then the axis and the names."""
    width, height = view.canvas.width(), view.canvas.height()
    painter.fillRect(0, 0, width, height, QColor(BACK))
    now = view.clock()
    t1 = view.time_at(width)
    first = max(0, int(view.y0 // view.row_h))
    last = min(len(view.lanes.rows), int((view.y0 + view.plot_height()) // view.row_h) + 1)
    _paint_grid(view, painter, width, height)
    painter.save()
    painter.setClipRect(QRectF(view.gutter, view.axis_h, width, height))
    bars: dict[str, list[QRectF]] = defaultdict(list)
    waits: dict[str, list[QRectF]] = defaultdict(list)
    failed: list[QRectF] = []
    canceled: list[QRectF] = []
    running: list[QRectF] = []
    # a screen more on the right: the waits of items that start there
    window = (view.t0, t1 + (t1 - view.t0))
    for index in range(first, last):
        _collect(view, view.lanes.rows[index], view.row_top(index), window, now,
                 (bars, waits, failed, canceled, running))
    dim = view.critical and bool(view.critical_path())
    painter.setPen(Qt.PenStyle.NoPen)
    for node, rects in waits.items():
        color = QColor(view.color(node))
        color.setAlpha(60 if dim else 130)
        painter.setBrush(color)
        painter.drawRects(rects)
    for node, rects in bars.items():
        color = QColor(view.color(node))
        if dim:
            color.setAlpha(70)
        painter.setBrush(color)
        painter.drawRects(rects)
    painter.setBrush(QBrush(QColor(FAILED), Qt.BrushStyle.BDiagPattern))
    painter.setPen(QPen(QColor(FAILED), 1.5))
    painter.drawRects(failed)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(CANCELED), 1.5, Qt.PenStyle.DashLine))
    painter.drawRects(canceled)
    painter.setPen(QPen(QColor(NOW), 1.5))
    painter.drawRects(running)
    if view.critical:
        _paint_path(view, painter, t1)
    _paint_selected(view, painter)
    if view.lanes.running:
        x = view.x_of(now)
        painter.setPen(QPen(QColor(NOW), 1))
        painter.drawLine(QPointF(x, view.axis_h), QPointF(x, height))
    painter.restore()
    _paint_axis(view, painter, width)
    _paint_gutter(view, painter, first, last, height)
    if not view.lanes.spans:
        painter.setPen(QColor("#8a8a8a"))
        painter.drawText(QRectF(0, view.axis_h, width, height - view.axis_h),
                         Qt.AlignmentFlag.AlignCenter, "No item has started yet.")


def _collect(view: TimelineView, row: Row, top: float, window, now: float, out) -> None:
    """The bars of one row in the time window, a pixel column drawing one bar of the many
    that may fall in it. The row's own lists give all a bar needs (no item is read): this
    runs for every visible bar of every paint."""
    bars, waits, failed, canceled, running = out
    lo, hi = row.window(*window)
    starts, ends, tags, queued = row.starts, row.ends, row.tags, row.queued
    bar_top, bar_h = top + 3, view.row_h - 10
    wait_top = top + view.row_h - 5
    left, t0, scale = view.gutter, view.t0, view.scale
    index = lo
    while index < hi:
        start = starts[index]
        end = ends[index]
        x1 = left + (start - t0) * scale
        x2 = left + ((max(now, start) if end == RUNNING else end) - t0) * scale
        if x2 < x1 + MIN_BAR:
            x2 = x1 + MIN_BAR
        node, mark = tags[index]
        rect = QRectF(x1, bar_top, x2 - x1, bar_h)
        bars[node].append(rect)
        if mark:
            (failed, canceled, running)[mark - 1].append(rect)
        waited = queued[index]
        if waited is not None and waited < start:
            xq = left + (waited - t0) * scale
            waits[node].append(QRectF(xq, wait_top, x1 - xq, 2))
        index += 1
        if index < hi:
            next_pixel = t0 + (x2 + 1 - left) / scale
            if starts[index] < next_pixel:
                # the items starting in this bar's last pixel: only the last of them shows
                index = max(index, bisect_left(starts, next_pixel, index, hi) - 1)


def _paint_grid(view: TimelineView, painter: QPainter, width: int, height: int) -> None:
    origin = view.lanes.origin if view.lanes.origin is not None else view.t0
    painter.setPen(QColor(GRID))
    for when, _step in _ticks(view, origin, width):
        x = view.x_of(when)
        painter.drawLine(QPointF(x, view.axis_h), QPointF(x, height))


def _ticks(view: TimelineView, origin: float, width: int):
    step = next((s for s in NICE_STEPS if s * view.scale >= TICK_SPACING), NICE_STEPS[-1])
    first = math.ceil((view.time_at(view.gutter) - origin) / step)
    last = math.floor((view.time_at(width) - origin) / step)
    return [(origin + n * step, step) for n in range(max(0, first), last + 1)]


def _paint_axis(view: TimelineView, painter: QPainter, width: int) -> None:
    painter.fillRect(QRectF(0, 0, width, view.axis_h), QColor(GUTTER_BACK))
    origin = view.lanes.origin if view.lanes.origin is not None else view.t0
    painter.setPen(QColor(TEXT))
    metrics = painter.fontMetrics()
    for when, step in _ticks(view, origin, width):
        x = view.x_of(when)
        painter.drawLine(QPointF(x, view.axis_h - 5), QPointF(x, view.axis_h))
        text = tick_text(when - origin, step)
        if x + 3 + metrics.horizontalAdvance(text) <= width:  # a label cut short misleads
            painter.drawText(QRectF(x + 3, 0, TICK_SPACING, view.axis_h - 3),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, text)


def _paint_gutter(view: TimelineView, painter: QPainter, first: int, last: int,
                  height: int) -> None:
    painter.fillRect(QRectF(0, view.axis_h, view.gutter, height), QColor(GUTTER_BACK))
    painter.setPen(QColor(TEXT))
    metrics = painter.fontMetrics()
    for index in range(first, last):
        top = view.row_top(index)
        label = metrics.elidedText(view.lanes.rows[index].label,
                                   Qt.TextElideMode.ElideMiddle, int(view.gutter) - 10)
        painter.drawText(QRectF(6, top, view.gutter - 8, view.row_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
    painter.setPen(QColor(GRID))
    painter.drawLine(QPointF(view.gutter, view.axis_h), QPointF(view.gutter, height))


def _paint_path(view: TimelineView, painter: QPainter, t1: float) -> None:
    """The critical path's bars in the window, bright over the dimmed others, and lines
    from each to the next."""
    view.critical_path()
    starts, ids, longest = view.data.path_index
    lo = bisect_left(starts, view.t0 - longest)
    hi = bisect_right(starts, t1)
    shown = ids[max(0, lo - 1):hi + 1]  # and the one before: the line to the first
    rects = [view.bar_rect(item_id) for item_id in shown]  # every path item has a span
    painter.setPen(Qt.PenStyle.NoPen)
    for item_id, rect in zip(shown, rects, strict=True):
        painter.setBrush(view.color(str(view.items[item_id].node)))
        painter.drawRect(rect)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(PATH), 2))
    painter.drawRects(rects)
    for before, after in zip(rects, rects[1:], strict=False):
        painter.drawLine(QPointF(before.right(), before.center().y()),
                         QPointF(after.left(), after.center().y()))


def _paint_selected(view: TimelineView, painter: QPainter) -> None:
    rect = None if view.selected is None else view.bar_rect(view.selected)
    if rect is not None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(SELECTED), 2))
        painter.drawRect(rect.adjusted(-1, -1, 1, 1))


class Canvas(QWidget):
    """The chart's surface: paints what its view says, and passes the mouse and keys on."""

    def __init__(self, view: TimelineView):
        super().__init__(view)
        self.view = view
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(120, 60)
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragged = False

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            paint(self.view, painter)
        finally:
            painter.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view.refresh()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            item_id = self.view.item_at(QPointF(event.pos()))
            if item_id is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.view.tooltip_text(item_id), self)
            return True
        return super().event(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = self._last = event.position()
            self._dragged = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press is not None and self._last is not None:
            moved = event.position() - self._press
            if self._dragged or moved.manhattanLength() >= QApplication.startDragDistance():
                self._dragged = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                step = event.position() - self._last
                self.view.pan(step.x(), step.y())
            self._last = event.position()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            if not self._dragged:
                item_id = self.view.item_at(event.position())
                if item_id is not None:
                    self.view.select(item_id)
                    self.view.itemClicked.emit(item_id)
            self._press = self._last = None
            self.unsetCursor()
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            # lanes up and down (Qt may turn a shifted wheel into a horizontal one)
            self.view.pan(0, (delta.y() or delta.x()) / 2)
        elif delta.x() and not delta.y():
            self.view.pan(delta.x() / 2)
        elif delta.y():
            self.view.zoom(1.0015 ** delta.y(), event.position().x())
        event.accept()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Home, Qt.Key.Key_A):
            self.view.fit()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.view.zoom(1.5)
        elif key == Qt.Key.Key_Minus:
            self.view.zoom(1 / 1.5)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.view.pan((1 if key == Qt.Key.Key_Left else -1) * self.view.plot_width() / 4)
        else:
            super().keyPressEvent(event)
