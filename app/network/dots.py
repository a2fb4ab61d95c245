"""What a TOP node shows of its work items beside it: a dot per item, coloured by its state,
while there are a few dozen; past that a bar whose segments are in proportion to the counts
by state. Each dot (or segment) can be hit-tested, so a click selects that item."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

MAX_DOTS = 48          # a dot per item up to this many, then the proportional bar
PER_ROW = 24
DOT, DOT_GAP = 7, 3
BAR_H = 12
# the order of the bar's segments and of the counts: done first, then what is still to do
ORDER = ["CookedSuccess", "CookedCache", "CookedFail", "CookedCancel", "Cooking",
         "Scheduled", "Waiting", "Uncooked"]
STATE_WORDS = {"CookedSuccess": "cooked", "CookedCache": "cached", "CookedFail": "failed",
               "CookedCancel": "canceled", "Cooking": "cooking", "Scheduled": "scheduled",
               "Waiting": "waiting", "Uncooked": "uncooked"}


def state_colors() -> dict[str, str]:
    from ..cookview.model import STATE_COLORS  # the viewer's colours, one meaning everywhere
    return STATE_COLORS


@dataclass
class Mark:
    """A dot (one item: ``item_id``) or a bar segment (every item in ``state``)."""
    rect: QRectF
    state: str
    item_id: int | None = None


def ranked(counts: Counter) -> list[tuple[str, int]]:
    rank = {state: i for i, state in enumerate(ORDER)}
    return sorted(((s, n) for s, n in counts.items() if n), key=lambda kv: rank.get(kv[0], 99))


def counts_text(counts: Counter) -> str:
    return "  ".join(f"{n} {STATE_WORDS.get(state, state.lower())}"
                     for state, n in ranked(counts))


def marks(items: list, counts: Counter, area: QRectF) -> list[Mark]:
    """The dots, or the bar's segments, of one node's items inside ``area``."""
    total = sum(counts.values())
    if not total:
        return []
    if total <= MAX_DOTS and len(items) == total:
        return [_dot(index, item, area) for index, item in enumerate(items)]
    return _bar(counts, total, area)


def _dot(index: int, item, area: QRectF) -> Mark:
    row, column = divmod(index, PER_ROW)
    rect = QRectF(area.left() + column * (DOT + DOT_GAP), area.top() + 4 + row * (DOT + DOT_GAP),
                  DOT, DOT)
    return Mark(rect, item.state.name, item.id)


def _bar(counts: Counter, total: int, area: QRectF) -> list[Mark]:
    segments, left = [], area.left()
    for state, n in ranked(counts):
        width = area.width() * n / total
        segments.append(Mark(QRectF(left, area.top() + 5, width, BAR_H), state))
        left += width
    return segments


# rings around the dots of the selected item and of the items it depends on and feeds
SELECTED, UPSTREAM, DOWNSTREAM = "selected", "upstream", "downstream"
RING_COLORS = {SELECTED: "#ffffff", UPSTREAM: "#58a6ff", DOWNSTREAM: "#f0883e"}


def related(item, items: list) -> dict[int, str]:
    """``item``'s id as SELECTED, the ids of every item it depends on (through any chain) as
    UPSTREAM and of every item depending on it as DOWNSTREAM; ``items`` is the cook's."""
    found = {item.id: SELECTED}
    todo = list(item.dependencies)
    while todo:
        up = todo.pop()
        if up.id not in found:
            found[up.id] = UPSTREAM
            todo.extend(up.dependencies)
    dependents: dict[int, list] = {}
    for other in items:
        for dep in other.dependencies:
            dependents.setdefault(dep.id, []).append(other)
    todo = list(dependents.get(item.id, ()))
    while todo:
        down = todo.pop()
        if down.id not in found:
            found[down.id] = DOWNSTREAM
            todo.extend(dependents.get(down.id, ()))
    return found


def paint(painter: QPainter, area: QRectF, items: list, counts: Counter | None,
          rings: dict[int, str] | None = None) -> None:
    """The dots or the bar, and the counts by state under them; ``rings`` (item id ->
    SELECTED, UPSTREAM or DOWNSTREAM) are drawn around those items' dots."""
    if not counts:
        return
    colors = state_colors()
    painter.setPen(Qt.PenStyle.NoPen)
    found = marks(items, counts, area)
    for mark in found:
        painter.setBrush(QColor(colors.get(mark.state, "#888")))
        if mark.item_id is None:
            painter.drawRect(mark.rect)
        else:
            painter.drawEllipse(mark.rect)
    if rings:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for mark in found:
            ring = rings.get(mark.item_id) if mark.item_id is not None else None
            if ring is not None:
                painter.setPen(QPen(QColor(RING_COLORS[ring]), 1.5))
                painter.drawEllipse(mark.rect.adjusted(-1.5, -1.5, 1.5, 1.5))
    painter.setPen(QColor("#c8c8c8"))
    text = painter.fontMetrics().elidedText(counts_text(counts), Qt.TextElideMode.ElideRight,
                                            int(area.width()))
    painter.drawText(QRectF(area.left(), area.top() + 26, area.width(), 18),
                     Qt.AlignmentFlag.AlignLeft, text)


def hit(items: list, counts: Counter | None, area: QRectF, point) -> int | None:
    """The id of the item under ``point`` (node coordinates): the dot's item, or the first
    item in the segment's state."""
    for mark in marks(items, counts or Counter(), area):
        if mark.rect.adjusted(-1.5, -1.5, 1.5, 1.5).contains(point):
            if mark.item_id is not None:
                return mark.item_id
            return next((item.id for item in items if item.state.name == mark.state), None)
    return None


class NodeItems:
    """Each node's work items in the order they came, kept from the bridge's batches (so
    nothing walks every item of a cook to paint one node), and when each node last changed."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.by_node: dict[str, list] = {}
        self.node_of: dict[int, str] = {}
        self.changed_at: dict[str, float] = {}

    def update(self, new: list, changed_ids: list) -> None:
        now = time.time()
        for item in new:
            self.by_node.setdefault(str(item.node), []).append(item)
            self.node_of[item.id] = str(item.node)
        for node in {self.node_of.get(i) for i in changed_ids} | {str(i.node) for i in new}:
            self.changed_at[node] = now

    def forget(self, nodes) -> None:
        for node in nodes:
            for item in self.by_node.pop(node, []):
                self.node_of.pop(item.id, None)
            self.changed_at.pop(node, None)

    def of(self, node: str) -> list:
        return self.by_node.get(node, [])


def info(name: str, kind: str, items: list, counts: Counter | None,
         changed_at: float | None, figures=None, earlier: list[float] | None = None) -> str:
    """A node's info (hover and middle-click): its counts by state, the last cook and what
    its jobs took (``figures``: a ``usagestats.NodeFigures``), the median time of its jobs
    in its earlier cooks (``earlier``, oldest first), and its errors."""
    from schedcore.trace import format_duration, format_memory

    lines = [f"<b>{name}</b> · {kind}"]
    if not counts:
        return _block(lines + ["Not cooked yet"])
    lines.append(f"{sum(counts.values())} items: {counts_text(counts)}")
    when = time.strftime("%H:%M:%S", time.localtime(changed_at)) if changed_at else "?"
    lines.append(f"Last cook: {when}")
    if figures is not None and figures.max is not None:
        lines.append(f"Its jobs ran: median {format_duration(figures.p50)}, 95 % within "
                     f"{format_duration(figures.p95)}, longest {format_duration(figures.max)}"
                     f"; {format_duration(figures.total)} in all")
    if figures is not None and (figures.cpu or figures.peak_rss):
        lines.append(f"CPU {format_duration(figures.cpu)}" + (
            f", peak memory {format_memory(figures.peak_rss)}" if figures.peak_rss else ""))
    if earlier:
        shown = ", ".join(format_duration(seconds) for seconds in earlier[-6:])
        slower = len(earlier) > 1 and earlier[-1] > 1.5 * max(earlier[-2], 1e-3)
        lines.append(f"Median in its last {min(len(earlier), 6)} cooks: {shown}" + (
            " <span style='color:#e5534b'>▲ slower</span>" if slower else ""))
    failed = [item for item in items if item.state.name == "CookedFail"]
    if failed:
        lines.append(f"<span style='color:#e5534b'>Errors ({len(failed)}):</span>")
        lines += [f"{item.name}: {_escape(_first_line(item.reason))}" for item in failed[:3]]
        if len(failed) > 3:
            lines.append(f"… and {len(failed) - 3} more (Cook Viewer)")
    return _block(lines)


def _block(lines: list[str]) -> str:
    return f"<div style='white-space:nowrap'>{'<br>'.join(lines)}</div>"  # a line stays one


def _first_line(text: str) -> str:
    text = (text or "failed").strip().splitlines()
    return (text[-1] if text else "failed")[:160]  # a traceback's last line says what


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
