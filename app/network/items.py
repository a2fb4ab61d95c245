"""The scene's items: a node box (with its output port and, beside it, the work-item dots)
and a connection between two nodes."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem

NODE_W, NODE_H = 200, 46
GAP_X, GAP_Y = 24, 46
EXTRA_W = 250  # room beside a TOP node for its work-item dots and counts
TOP_COLOR, SCHEDULER_COLOR = QColor("#3d4c5e"), QColor("#4b3d5e")
EDGE_COLOR, SELECTED_COLOR = QColor("#9aa5b1"), QColor("#f0c040")
PORT_R = 5  # radius of a TOP node's output port
ARROW_LENGTH, ARROW_WIDTH = 9, 8


def wire(start: QPointF, end: QPointF) -> QPainterPath:
    path = QPainterPath(start)
    middle = (start.y() + end.y()) / 2
    path.cubicTo(QPointF(start.x(), middle), QPointF(end.x(), middle), end)
    return path


def extra_rect() -> QRectF:
    """Where a TOP node's dots go, in the node's own coordinates."""
    return QRectF(NODE_W + 10, 0, EXTRA_W, NODE_H)


def footprint(position: QPointF, scheduler: bool) -> QRectF:
    """The scene area a node needs: its box and port, and for a TOP node its dots."""
    width = NODE_W if scheduler else NODE_W + 10 + EXTRA_W
    return QRectF(position.x(), position.y(), width, NODE_H + PORT_R)


# a TOP node's state after a cook, as the badge at its top right says it (Houdini's colours)
BADGE_COLORS = {"cooking": "#2c8fd4", "failed": "#e5534b", "canceled": "#b07adf",
                "cooked": "#3fb950", "dirty": "#8c8c8c"}


def badge_rect() -> QRectF:
    return QRectF(NODE_W - 18, 7, 10, 10)


class NodeItem(QGraphicsObject):
    """One node box. ``painter_extra`` is painted beside it (the work-item dots); ``badge``
    (a key of BADGE_COLORS, or None) says how its last cook went."""

    def __init__(self, name: str, type_name: str, subtitle: str, scheduler: bool):
        super().__init__()
        self.name, self.type_name, self.subtitle = name, type_name, subtitle
        self.is_scheduler = scheduler
        self.painter_extra = None  # callable(painter, rect) drawing beside the box
        self.badge: str | None = None
        self.edges: list[EdgeItem] = []
        flags = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flags.ItemIsSelectable | flags.ItemIsMovable
                      | flags.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)

    def port(self) -> QPointF:
        """The output port, in scene coordinates: connections leave from here."""
        return self.pos() + QPointF(NODE_W / 2, NODE_H)

    def on_port(self, scene_point: QPointF) -> bool:
        if self.is_scheduler:
            return False
        offset = scene_point - self.port()
        return offset.x() ** 2 + offset.y() ** 2 <= (PORT_R + 4) ** 2

    def footprint(self) -> QRectF:
        return footprint(self.pos(), self.is_scheduler)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:
        extra = EXTRA_W + 10 if self.painter_extra is not None else 0
        return QRectF(-2, -2, NODE_W + 4 + extra, NODE_H + PORT_R + 4)

    def shape(self) -> QPainterPath:
        # the box and port only: a press on the dots beside it is not a press on the node
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.WindingFill)  # where box and port meet is inside too
        path.addRoundedRect(self.box().adjusted(-2, -2, 2, 2), 6, 6)
        path.addEllipse(QPointF(NODE_W / 2, NODE_H), PORT_R + 4, PORT_R + 4)
        return path

    def box(self) -> QRectF:
        return QRectF(0, 0, NODE_W, NODE_H)

    def name_rect(self) -> QRectF:
        """Where the name is drawn (and edited), in the node's coordinates."""
        return QRectF(8, 4, NODE_W - 16, 20)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = SCHEDULER_COLOR if self.is_scheduler else TOP_COLOR
        selected = self.isSelected()
        painter.setPen(QPen(SELECTED_COLOR if selected else color.lighter(150),
                            2.5 if selected else 1))
        painter.setBrush(QBrush(color))
        painter.drawRoundedRect(self.box(), 6, 6)
        self._paint_text(painter)
        if self.badge is not None:
            badge = QColor(BADGE_COLORS[self.badge])
            painter.setPen(QPen(badge.lighter(140), 1))
            painter.setBrush(badge if self.badge != "dirty" else Qt.BrushStyle.NoBrush)
            painter.drawEllipse(badge_rect())
        if not self.is_scheduler:
            painter.setPen(QPen(color.lighter(170), 1))
            painter.setBrush(QBrush(color.lighter(130)))
            painter.drawEllipse(QPointF(NODE_W / 2, NODE_H), PORT_R, PORT_R)
        if self.painter_extra is not None:
            self.painter_extra(painter, extra_rect())

    def _paint_text(self, painter: QPainter) -> None:
        painter.setPen(QColor("#f0f0f0"))
        bold = QFont(painter.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(self.name_rect().adjusted(0, 0, -14, 0), Qt.AlignmentFlag.AlignLeft,
                         self.name)  # clear of the badge
        painter.setFont(QFont(painter.font().family(), max(7, painter.font().pointSize() - 1)))
        painter.setPen(QColor("#b8c4d0"))
        subtitle = painter.fontMetrics().elidedText(self.subtitle or self.type_name,
                                                    Qt.TextElideMode.ElideRight, NODE_W - 16)
        painter.drawText(QRectF(8, 24, NODE_W - 16, 18), Qt.AlignmentFlag.AlignLeft, subtitle)


class EdgeItem(QGraphicsPathItem):
    """A connection from ``source``'s port to the top of ``target``; selectable."""

    def __init__(self, source: NodeItem, target: NodeItem):
        super().__init__()
        self.source, self.target = source, target
        source.edges.append(self)
        target.edges.append(self)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.setToolTip(f"{source.name} → {target.name} (click, then Delete to disconnect)")
        self.update_path()

    def update_path(self) -> None:
        self.setPath(wire(self.source.port(), self.target.pos() + QPointF(NODE_W / 2, 0)))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)  # easy to click
        return stroker.createStroke(self.path())

    def arrow(self) -> QPolygonF:
        """The arrowhead at the target's end: which way the work flows."""
        path = self.path()
        tip = path.pointAtPercent(1.0)
        angle = math.radians(path.angleAtPercent(1.0))  # counter-clockwise, y up
        back = QPointF(-math.cos(angle), math.sin(angle)) * ARROW_LENGTH
        side = QPointF(-back.y(), back.x()) * (ARROW_WIDTH / 2 / ARROW_LENGTH)
        return QPolygonF([tip, tip + back + side, tip + back - side])

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(self.arrow().boundingRect()).adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        selected = self.isSelected()
        color = SELECTED_COLOR if selected else EDGE_COLOR
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.5 if selected else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(self.arrow())
