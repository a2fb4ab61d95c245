"""The network panel: scheduler nodes along the top, TOP nodes below in dependency order with
their connections, each TOP node saying which scheduler cooks it. Tab opens the TAB menu.

Nodes are dragged where one wants them (the position is saved with the network); dragging from
a TOP node's output port (the dot under it) onto another node connects them; a connection is
selected with a click and deleted with Delete."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
)

from ..document import Document

NODE_W, NODE_H = 200, 46
GAP_X, GAP_Y = 24, 46
EXTRA_W = 250  # room beside a node for what the cook viewer draws there
TOP_COLOR, SCHEDULER_COLOR = QColor("#3d4c5e"), QColor("#4b3d5e")
EDGE_COLOR, SELECTED_COLOR = QColor("#9aa5b1"), QColor("#f0c040")
PORT_R = 5  # radius of a TOP node's output port


def _wire(start: QPointF, end: QPointF) -> QPainterPath:
    path = QPainterPath(start)
    middle = (start.y() + end.y()) / 2
    path.cubicTo(QPointF(start.x(), middle), QPointF(end.x(), middle), end)
    return path


class NodeItem(QGraphicsObject):
    """One node box. ``extra`` is painted beside it (the cook viewer's item dots)."""

    def __init__(self, name: str, type_name: str, subtitle: str, scheduler: bool):
        super().__init__()
        self.name, self.type_name, self.subtitle = name, type_name, subtitle
        self.is_scheduler = scheduler
        self.painter_extra = None  # callable(painter, rect) drawing beside the box
        self.edges: list[EdgeItem] = []
        flags = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flags.ItemIsSelectable | flags.ItemIsMovable
                      | flags.ItemSendsGeometryChanges)
        self.setToolTip(f"{name} ({type_name})" + (f"\n{subtitle}" if subtitle else ""))

    def port(self) -> QPointF:
        """The output port, in scene coordinates: connections leave from here."""
        return self.pos() + QPointF(NODE_W / 2, NODE_H)

    def on_port(self, scene_point: QPointF) -> bool:
        if self.is_scheduler:
            return False
        offset = scene_point - self.port()
        return offset.x() ** 2 + offset.y() ** 2 <= (PORT_R + 4) ** 2

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:
        extra = EXTRA_W + 10 if self.painter_extra is not None else 0
        return QRectF(-2, -2, NODE_W + 4 + extra, NODE_H + PORT_R + 4)

    def box(self) -> QRectF:
        return QRectF(0, 0, NODE_W, NODE_H)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = SCHEDULER_COLOR if self.is_scheduler else TOP_COLOR
        selected = self.isSelected()
        painter.setPen(QPen(QColor("#f0c040") if selected else color.lighter(150),
                            2.5 if selected else 1))
        painter.setBrush(QBrush(color))
        painter.drawRoundedRect(self.box(), 6, 6)
        painter.setPen(QColor("#f0f0f0"))
        bold = QFont(painter.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(8, 4, NODE_W - 16, 20), Qt.AlignmentFlag.AlignLeft,
                         self.name)
        painter.setFont(QFont(painter.font().family(), max(7, painter.font().pointSize() - 1)))
        painter.setPen(QColor("#b8c4d0"))
        subtitle = painter.fontMetrics().elidedText(self.subtitle or self.type_name,
                                                    Qt.TextElideMode.ElideRight, NODE_W - 16)
        painter.drawText(QRectF(8, 24, NODE_W - 16, 18), Qt.AlignmentFlag.AlignLeft, subtitle)
        if not self.is_scheduler:
            painter.setPen(QPen(color.lighter(170), 1))
            painter.setBrush(QBrush(color.lighter(130)))
            painter.drawEllipse(QPointF(NODE_W / 2, NODE_H), PORT_R, PORT_R)
        if self.painter_extra is not None:
            self.painter_extra(painter, QRectF(NODE_W + 10, 0, EXTRA_W, NODE_H))


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
        self.setPath(_wire(self.source.port(), self.target.pos() + QPointF(NODE_W / 2, 0)))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)  # easy to click
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        selected = self.isSelected()
        painter.setPen(QPen(SELECTED_COLOR if selected else EDGE_COLOR, 2.5 if selected else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


MAX_DOTS = 48  # beside a node: a dot per work item up to this many, then counts


def paint_dots(painter: QPainter, rect: QRectF, bridge, node: str) -> None:
    """The node's work items as dots coloured by state, and the counts by state."""
    from ..cookview.model import STATE_COLORS  # the viewer's colours

    counts = bridge.counts.get(node)
    if not counts:
        return
    order = {"CookedFail": 0, "Cooking": 1, "Scheduled": 2, "CookedSuccess": 3,
             "CookedCache": 4, "CookedCancel": 5, "Waiting": 6, "Uncooked": 7}
    ranked = sorted(((state, n) for state, n in counts.items() if n),
                    key=lambda kv: order.get(kv[0], 9))
    states: list[str] = []
    for state, n in ranked:  # at most MAX_DOTS of them, however many items there are
        states.extend([state] * min(n, MAX_DOTS - len(states)))
    size, gap = 7, 3
    painter.setPen(Qt.PenStyle.NoPen)
    for index, state in enumerate(states):
        row, column = divmod(index, 24)
        painter.setBrush(QColor(STATE_COLORS.get(state, "#888")))
        painter.drawEllipse(QRectF(rect.left() + column * (size + gap),
                                   rect.top() + 4 + row * (size + gap), size, size))
    text = "  ".join(f"{n} {state.replace('Cooked', '').lower()}" for state, n in ranked)
    painter.setPen(QColor("#c8c8c8"))
    painter.drawText(QRectF(rect.left(), rect.top() + 26, rect.width(), 18),
                     Qt.AlignmentFlag.AlignLeft, text)


class NetworkPanel(QGraphicsView):
    nodeSelected = Signal(str)      # a node's name, "" when nothing is selected
    tabPressed = Signal()           # open the TAB menu
    deletePressed = Signal()        # delete the selected node
    nodeMoved = Signal(str, float, float)        # name, new x, y
    connectRequested = Signal(str, str)          # source, target
    disconnectRequested = Signal(str, str)       # source, target
    rebuilt = Signal()              # the node items were made anew

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.items: dict[str, NodeItem] = {}
        self._wiring: tuple[NodeItem, QGraphicsPathItem] | None = None
        self._pressed_at: dict[str, QPointF] = {}
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scene().selectionChanged.connect(self._selection_changed)
        document.structureChanged.connect(self.rebuild)
        self.rebuild()

    def set_document(self, document: Document) -> None:
        self.document.structureChanged.disconnect(self.rebuild)
        self.document = document
        document.structureChanged.connect(self.rebuild)
        self.rebuild()

    # -- building the scene ------------------------------------------------------------------
    def rebuild(self) -> None:
        selected = self.selected()
        scene = self.scene()
        scene.blockSignals(True)
        scene.clear()
        self.items = {}
        net = self.document.network
        for column, spec in enumerate(net.schedulers):
            default = " (default)" if spec.name == net.default_scheduler else ""
            self._add(spec.name, spec.type, spec.type + default, True,
                      spec.position or QPointF(column * (NODE_W + GAP_X), 0))
        depth: dict[str, int] = {}
        rows: dict[int, int] = {}
        for spec in net.topological():
            level = 1 + max((depth[name] for name in spec.inputs), default=0)
            depth[spec.name] = level
            column = rows.get(level, 0)
            rows[level] = column + 1
            self._add(spec.name, spec.type, f"{spec.type} · {net.scheduler_for(spec)}", False,
                      spec.position or QPointF(column * (NODE_W + GAP_X),
                                               level * (NODE_H + GAP_Y) + 10))
        for spec in net.nodes:
            for upstream in spec.inputs:
                scene.addItem(EdgeItem(self.items[upstream], self.items[spec.name]))
        self._fit_scene()
        self.rebuilt.emit()
        scene.blockSignals(False)
        if selected in self.items:
            self.select(selected)
        else:
            self.nodeSelected.emit("")

    def _add(self, name, type_name, subtitle, scheduler, position) -> None:
        item = NodeItem(name, type_name, subtitle, scheduler)
        item.setPos(QPointF(*position) if isinstance(position, list) else position)
        self.scene().addItem(item)
        self.items[name] = item

    def _fit_scene(self) -> None:
        scene = self.scene()
        scene.setSceneRect(QRectF(scene.itemsBoundingRect()).adjusted(-12, -16, 12, 16))

    # -- selection -----------------------------------------------------------------------
    def selected(self) -> str:
        nodes = [i for i in self.scene().selectedItems() if isinstance(i, NodeItem)]
        return nodes[0].name if nodes else ""

    def selected_edge(self) -> EdgeItem | None:
        edges = [i for i in self.scene().selectedItems() if isinstance(i, EdgeItem)]
        return edges[0] if edges else None

    def select(self, name: str) -> None:
        self.scene().clearSelection()
        item = self.items.get(name)
        if item is not None:
            item.setSelected(True)
            self.ensureVisible(item)

    def _selection_changed(self) -> None:
        self.nodeSelected.emit(self.selected())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Tab:
            self.tabPressed.emit()
            return
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            edge = self.selected_edge()
            if edge is not None:
                self.disconnectRequested.emit(edge.source.name, edge.target.name)
            else:
                self.deletePressed.emit()
            return
        super().keyPressEvent(event)

    # -- dragging: moving nodes, and connecting them from a port ----------------------------
    def _node_at(self, scene_point: QPointF) -> NodeItem | None:
        for item in self.scene().items(scene_point):
            if isinstance(item, NodeItem) and item.box().contains(item.mapFromScene(scene_point)):
                return item
            if isinstance(item, NodeItem) and item.on_port(scene_point):
                return item
        return None

    def mousePressEvent(self, event) -> None:
        point = self.mapToScene(event.position().toPoint())
        node = self._node_at(point)
        if event.button() == Qt.MouseButton.LeftButton and node is not None \
                and node.on_port(point):
            wire = self.scene().addPath(_wire(node.port(), point),
                                        QPen(SELECTED_COLOR, 1.5, Qt.PenStyle.DashLine))
            self._wiring = (node, wire)
            return
        super().mousePressEvent(event)
        self._pressed_at = {name: item.pos() for name, item in self.items.items()}

    def mouseMoveEvent(self, event) -> None:
        if self._wiring is not None:
            source, wire = self._wiring
            wire.setPath(_wire(source.port(), self.mapToScene(event.position().toPoint())))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._wiring is not None:
            source, wire = self._wiring
            self._wiring = None
            self.scene().removeItem(wire)
            target = self._node_at(self.mapToScene(event.position().toPoint()))
            if target is not None and target is not source:
                self.connectRequested.emit(source.name, target.name)
            return
        super().mouseReleaseEvent(event)
        moved = [(name, item.pos()) for name, item in self.items.items()
                 if name in self._pressed_at and item.pos() != self._pressed_at[name]]
        self._pressed_at = {}
        for name, pos in moved:
            self.nodeMoved.emit(name, pos.x(), pos.y())
        if moved:
            self._fit_scene()

    def focusNextPrevChild(self, forward: bool) -> bool:
        return False  # Tab is ours: it opens the TAB menu
