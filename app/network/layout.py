"""Where nodes go when nobody placed them: scheduler nodes along the top, TOP nodes below in
dependency order, and new nodes near where they were asked for. A spot is free when the
node's footprint (its box and, for a TOP node, its dots) meets no other node's footprint."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from PySide6.QtCore import QPointF, QRectF

from .items import EXTRA_W, GAP_X, GAP_Y, NODE_H, NODE_W, footprint

ROW = NODE_H + GAP_Y
SCHEDULER_COLUMN = NODE_W + GAP_X
TOP_COLUMN = NODE_W + 10 + EXTRA_W + GAP_X  # a TOP node's dots are part of its width
MARGIN = 12  # the least room between two footprints


STEP_X, STEP_Y = SCHEDULER_COLUMN / 2, ROW / 2


@cache
def _offsets(reach: int = 14) -> tuple[tuple[float, float], ...]:
    """Grid steps around a spot, nearest first, below before above (sorted once)."""
    spots = [(dx, dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)]
    spots.sort(key=lambda d: (abs(d[0]) * STEP_X) ** 2 + (abs(d[1]) * STEP_Y) ** 2
               + (0.5 if d[1] < 0 else 0) + (0.25 if d[0] < 0 else 0))
    return tuple((dx * STEP_X, dy * STEP_Y) for dx, dy in spots)


def _candidates(wanted: QPointF) -> Iterator[QPointF]:
    """Spots around ``wanted`` on a grid, nearest first, below before above."""
    x, y = wanted.x(), wanted.y()
    return (QPointF(x + dx, y + dy) for dx, dy in _offsets())


def is_free(rect: QRectF, taken: list[QRectF]) -> bool:
    grown = rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    return not any(grown.intersects(other) for other in taken)


def free_spot(wanted: QPointF, scheduler: bool, taken: list[QRectF]) -> QPointF:
    """The free spot nearest ``wanted`` for a node (``wanted`` itself when it is free)."""
    for spot in _candidates(wanted):
        if is_free(footprint(spot, scheduler), taken):
            return spot
    far = max((rect.bottom() for rect in taken), default=wanted.y())
    return QPointF(wanted.x(), far + GAP_Y)  # everything near is taken: below them all


def scheduler_spot(column: int) -> QPointF:
    return QPointF(column * SCHEDULER_COLUMN, 0)


def top_spot(level: int, column: int) -> QPointF:
    return QPointF(column * TOP_COLUMN, level * ROW + 10)


def below(position: QPointF) -> QPointF:
    """Where a node connected under the node at ``position`` goes first."""
    return QPointF(position.x(), position.y() + ROW)
