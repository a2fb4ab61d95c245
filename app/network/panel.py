"""The network panel: a node editor like Houdini's TOP network. Scheduler nodes along the
top, TOP nodes below in dependency order with their connections, each TOP node saying which
scheduler cooks it and showing its work items beside it.

Wheel zooms around the cursor; the middle button (or Space + drag) pans; A or Home frames
everything, F the selection. Tab opens the TAB menu; a new node goes where it was asked for
(under the node it is connected to), on a free spot. Nodes are dragged where one wants them
(the position is saved with the network); dragging from a TOP node's output port (the dot
under it) onto another node connects them; a connection is selected with a click and deleted
with Delete. Hover or middle-click a node for its info; right-click for its menu; click a
work item's dot to select it in the Cook Viewer."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QKeySequence, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QMenu,
    QToolTip,
)

from schedcore.workitem import WorkItemState

from ..document import Document
from . import dots, layout
from .items import (  # noqa: F401 (names others import from here)
    EXTRA_W,
    NODE_H,
    NODE_W,
    SELECTED_COLOR,
    EdgeItem,
    NodeItem,
    extra_rect,
    wire,
)
from .nameeditor import NameEditor

MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
WHEEL_STEP = 1.2          # zoom factor per wheel notch
SCENE_REACH = 50_000      # the scene is this large each way, so the view pans freely
FRAME_MARGIN = 30


class InfoPopup(QLabel):
    """A node's info from a middle-click: it stays (a tooltip would go as the button is
    released) until the next click or the mouse leaves the node."""

    def __init__(self, parent):
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.setObjectName("nodeinfo")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("#nodeinfo { background: #2f3338; color: #e6e6e6; padding: 6px;"
                           " border: 1px solid #6a7c90; }")
        self.node = ""

    def show_for(self, node: str, text: str, at: QPoint) -> None:
        self.node = node
        self.setText(text)
        self.adjustSize()
        self.move(at + QPoint(12, 12))
        self.show()


UNFINISHED = ("Waiting", "Scheduled", "Cooking", "Uncooked")


def _xy(position) -> QPointF | None:
    return QPointF(*position) if position else None


class NetworkPanel(QGraphicsView):
    nodeSelected = Signal(str)      # a node's name, "" when nothing is selected
    tabPressed = Signal()           # open the TAB menu
    deletePressed = Signal()        # delete the selected nodes
    nodesMoved = Signal(list)       # [(name, new x, new y)] of one drag
    connectRequested = Signal(str, str)          # source, target
    disconnectRequested = Signal(str, str)       # source, target
    rebuilt = Signal()              # the node items were made anew
    cookRequested = Signal(str)     # cook up to this node (its context menu)
    dirtyRequested = Signal(str, bool)  # node, and whether to delete its results from disk
    showItemsRequested = Signal(str)  # show this node's items in the Cook Viewer
    itemClicked = Signal(int)       # a work item's dot was clicked: select that item
    renameRequested = Signal(str, str)  # old name, new name (typed in the node's name editor)

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.items: dict[str, NodeItem] = {}
        self.bridge = None
        self.work = dots.NodeItems()
        self._wiring: tuple[NodeItem, QGraphicsPathItem] | None = None
        self._pressed_at: dict[str, QPointF] = {}
        self._pan: tuple[QPointF, int, int] | None = None  # where the pan began, scroll values
        self._space = False
        self._fresh = True           # the next build is of a newly opened network
        self._view_touched = False   # zoomed, panned or framed by the user
        self._pending_view: tuple[float, float, float] | None = None  # for its first size
        self._menu_at: QPointF | None = None  # where the context menu asked for a node
        self._anchor: QPointF | None = None   # where the next new node goes
        self._renamed: tuple[str, str] | None = None  # (old, new) for the next build
        self._cooked_as: dict[str, str] = {}  # a node renamed since the cook: name -> cooked name
        self.name_editor: NameEditor | None = None
        self.rings: dict[int, str] = {}  # the selected item and those it depends on and feeds
        self.dirty: set[str] = set()  # nodes changed or dirtied since the last cook
        self.info_popup = InfoPopup(self)
        self.setScene(QGraphicsScene(self))
        self.scene().setSceneRect(-SCENE_REACH, -SCENE_REACH, 2 * SCENE_REACH, 2 * SCENE_REACH)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        for policy in (self.setHorizontalScrollBarPolicy, self.setVerticalScrollBarPolicy):
            policy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # a node editor pans instead
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scene().selectionChanged.connect(self._selection_changed)
        document.renamed.connect(self._follow_rename)
        document.structureChanged.connect(self.rebuild)
        document.parmChanged.connect(self._parm_changed)
        self.rebuild()

    def set_document(self, document: Document) -> None:
        self.document.renamed.disconnect(self._follow_rename)
        self.document.structureChanged.disconnect(self.rebuild)
        self.document.parmChanged.disconnect(self._parm_changed)
        self.document = document
        document.renamed.connect(self._follow_rename)
        document.structureChanged.connect(self.rebuild)
        document.parmChanged.connect(self._parm_changed)
        self.dirty.clear()
        self._cooked_as = {}
        self._fresh, self._view_touched, self._pending_view = True, False, None
        self.rebuild()
        self._home()

    def set_bridge(self, bridge) -> None:
        """Show ``bridge``'s cook: each TOP node's work items beside it."""
        self.bridge = bridge
        bridge.cookStarted.connect(self.work.clear)
        bridge.cookStarted.connect(self._cooked_as.clear)
        bridge.cookStarted.connect(lambda: self.show_related(None))
        bridge.cookStarted.connect(self.dirty.clear)
        bridge.cookFinished.connect(lambda _result: self._show_badges())
        bridge.itemsForgotten.connect(self._forgotten)
        bridge.itemsChanged.connect(self._items_changed)
        self._show_dots()

    # -- building the scene ------------------------------------------------------------------
    def _follow_rename(self, old: str, new: str) -> None:
        """The next build keeps ``new`` where ``old`` was, selected if it was, with the
        work items it cooked under its old name."""
        self._renamed = (old, new)
        self._cooked_as[new] = self._cooked_as.pop(old, old)

    def cooked_name(self, name: str) -> str:
        """The name node ``name`` had in the last cook (it may have been renamed since)."""
        return self._cooked_as.get(name, name)

    def rebuild(self) -> None:
        self._close_name_editor()
        selected = self.selected()
        before = None if self._fresh else set(self.items)
        if self._renamed is not None:
            old, new = self._renamed
            self._renamed = None
            selected = new if selected == old else selected
            if before is not None and old in before:
                before = (before - {old}) | {new}
        self._fresh = False
        scene = self.scene()
        scene.blockSignals(True)
        scene.clear()
        self.items = {}
        for spec, scheduler, position in self._positions(before).values():
            self._add(spec, scheduler, position)
        for spec in self.document.network.nodes:
            for upstream in spec.inputs:
                scene.addItem(EdgeItem(self.items[upstream], self.items[spec.name]))
        self._show_dots()
        if self.bridge is not None:
            self._show_badges()
        self.rebuilt.emit()
        scene.blockSignals(False)
        if selected in self.items:
            self.select(selected)
        else:
            self.nodeSelected.emit("")

    def _positions(self, before: set | None) -> dict:
        """Each node's spec, kind and place: saved places first, then free spots for the
        others (a new node near where it was asked for, the rest in dependency order)."""
        net = self.document.network
        specs = [(s, True) for s in net.schedulers] + [(s, False) for s in net.topological()]
        placed = {s.name: (s, sched, _xy(s.position)) for s, sched in specs if s.position}
        taken = [layout.footprint(pos, sched) for _s, sched, pos in placed.values()]
        depth: dict[str, int] = {}
        columns: dict[int, int] = {}
        wanted: dict[str, QPointF] = {}  # where each node not placed yet goes by its rank
        for spec, scheduler in specs:
            level = 0 if scheduler else 1 + max((depth[i] for i in spec.inputs), default=0)
            depth[spec.name] = level
            column = columns.get(level, 0)
            columns[level] = column + 1
            wanted[spec.name] = layout.scheduler_spot(column) if scheduler \
                else layout.top_spot(level, column)
        new = [(s, sched) for s, sched in specs if before is not None and s.name not in before]
        # the nodes there were first, as they were laid out before; then the new ones, so a
        # node added never moves one the user sees but never placed
        for spec, scheduler in [*(n for n in specs if n not in new), *new]:
            if spec.name in placed:
                continue
            if (spec, scheduler) in new:
                position = layout.free_spot(self._new_spot(spec, placed), scheduler, taken)
                # saved at once, as part of the step that made the node
                spec.position = [round(position.x(), 1), round(position.y(), 1)]
            else:
                position = layout.free_spot(wanted[spec.name], scheduler, taken)
            placed[spec.name] = (spec, scheduler, position)
            taken.append(layout.footprint(position, scheduler))
        return {spec.name: placed[spec.name] for spec, _s in specs}

    def _new_spot(self, spec, placed: dict) -> QPointF:
        """Under the node it is connected to; else where the TAB menu was asked for; else
        the middle of the view."""
        inputs = [placed[name][2] for name in getattr(spec, "inputs", []) if name in placed]
        if inputs:
            return layout.below(inputs[0])
        anchor, self._anchor = self._anchor, None
        if anchor is not None:
            return anchor - QPointF(NODE_W / 2, NODE_H / 2)
        return self.mapToScene(self.viewport().rect().center()) - QPointF(NODE_W / 2, NODE_H)

    def _add(self, spec, scheduler: bool, position: QPointF) -> None:
        net = self.document.network
        if scheduler:
            default = " (default)" if spec.name == net.default_scheduler else ""
            subtitle = spec.type + default
        else:
            subtitle = f"{spec.type} · {net.scheduler_for(spec)}"
        item = NodeItem(spec.name, spec.type, subtitle, scheduler)
        item.setPos(position)
        self.scene().addItem(item)
        self.items[spec.name] = item

    # -- work items ----------------------------------------------------------------------------
    def _show_dots(self) -> None:
        if self.bridge is None:
            return
        for name, item in self.items.items():
            if not item.is_scheduler:
                item.painter_extra = self._dots_painter(name)
                item.prepareGeometryChange()

    def _dots_painter(self, name: str):
        return lambda painter, rect: dots.paint(
            painter, rect, self.work.of(self.cooked_name(name)),
            self.bridge.counts.get(self.cooked_name(name)), self.rings)

    def _forgotten(self, nodes: list) -> None:
        self.work.forget(nodes)
        self.dirty |= {name for name in self.items if self.cooked_name(name) in nodes}
        self.show_related(None)
        self._show_badges()

    def _parm_changed(self, node: str, _parm: str) -> None:
        """A node changed since its cook is dirty, and so is every node below it; a
        scheduler node's change dirties the nodes it cooks."""
        net = self.document.network
        if self.document.is_scheduler(node):
            changed = {spec.name for spec in net.nodes if net.scheduler_for(spec) == node}
        else:
            changed = {node}
        for name in changed:
            self.dirty |= self.document.downstream_of(name)
        self._show_badges()

    def node_badge(self, name: str) -> str | None:
        """How node ``name``'s last cook went: cooking, failed, canceled or cooked; dirty
        when it changed since; None before any cook."""
        counts = self.bridge.counts.get(self.cooked_name(name)) if self.bridge else None
        if not counts:
            return "dirty" if name in self.dirty else None
        if self.bridge.cooking and any(counts.get(s) for s in UNFINISHED):
            return "cooking"
        if name in self.dirty:
            return "dirty"
        if counts.get("CookedFail"):
            return "failed"
        if counts.get("CookedCancel"):
            return "canceled"
        return "cooked" if all(WorkItemState[s].is_success for s in counts) else None

    def _show_badges(self) -> None:
        for name, item in self.items.items():
            if not item.is_scheduler:
                badge = self.node_badge(name)
                if badge != item.badge:
                    item.badge = badge
                    item.update()

    def show_related(self, item) -> None:
        """Ring ``item``'s dot, and the dots of the items upstream and downstream of it, as
        Houdini does for a selected work item (None: no rings)."""
        self.rings = dots.related(item, self.bridge.items) if item is not None \
            and self.bridge is not None else {}
        self.viewport().update()

    def _items_changed(self, new: list, changed: list) -> None:
        self.work.update(new, changed)
        self._show_badges()
        self.viewport().update()

    def _item_at(self, point: QPointF) -> tuple[str, int] | None:
        """The node and id of the work item whose dot is at ``point`` (scene)."""
        if self.bridge is None:
            return None
        for name, item in self.items.items():
            if item.is_scheduler or not item.footprint().contains(point):
                continue
            cooked = self.cooked_name(name)
            found = dots.hit(self.work.of(cooked), self.bridge.counts.get(cooked), extra_rect(),
                             item.mapFromScene(point))
            if found is not None:
                return name, found
        return None

    def node_info(self, name: str) -> str:
        """What hovering or middle-clicking ``name`` shows: counts, last cook, errors."""
        item, cooked = self.items[name], self.cooked_name(name)
        counts = self.bridge.counts.get(cooked) if self.bridge is not None else None
        if item.is_scheduler:
            return f"<b>{name}</b> · scheduler {item.subtitle}"
        figures, earlier = self._figures(cooked) if counts else (None, None)
        return dots.info(name, item.subtitle, self.work.of(cooked), counts,
                         self.work.changed_at.get(cooked), figures, earlier)

    def _figures(self, cooked: str) -> tuple:
        """The last cook's figures of node ``cooked`` (what its jobs took) and the medians
        of its earlier cooks, once the cook is over (None, None before)."""
        from schedcore import cookhistory, usagestats

        engine = self.bridge.engine if self.bridge is not None else None
        if engine is None or engine.result is None:
            return None, None
        figures = next(iter(usagestats.figures_of_items(self.work.of(cooked),
                                                         engine.result.timeline)), None)
        earlier = [c.figures.p50 for c in cookhistory.node_durations(engine.journal_path,
                                                                     cooked)
                   if c.figures.p50 is not None]
        return figures, earlier

    def _show_info(self, name: str, where: QPoint) -> None:
        area = self.mapFromScene(self.items[name].sceneBoundingRect()).boundingRect()
        QToolTip.showText(where, self.node_info(name), self.viewport(), area)

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.info_popup.hide()
        if event.type() == QEvent.Type.ToolTip and not self.info_popup.isVisible():
            point = self.mapToScene(event.pos())
            dot = self._item_at(point)
            node = self._node_at(point)
            if dot is not None:
                QToolTip.showText(event.globalPos(), self._dot_tip(dot[1]), self.viewport())
                return True
            if node is not None:
                self._show_info(node.name, event.globalPos())
                return True
        return super().viewportEvent(event)

    def _dot_tip(self, item_id: int) -> str:
        item = next((i for i in self.bridge.items if i.id == item_id), None)
        if item is None:
            return ""
        return f"{item.name}: {dots.STATE_WORDS.get(item.state.name, item.state.name)} " \
               f"(click to select it in the Cook Viewer)"

    # -- selection -----------------------------------------------------------------------
    def selected(self) -> str:
        """The selected node (the first of several), "" for none."""
        names = self.selected_names()
        return names[0] if names else ""

    def selected_names(self) -> list[str]:
        """Every selected node, in the order the network lists them."""
        chosen = {i.name for i in self.scene().selectedItems() if isinstance(i, NodeItem)}
        return [name for name in self.items if name in chosen]

    def selected_edge(self) -> EdgeItem | None:
        edges = [i for i in self.scene().selectedItems() if isinstance(i, EdgeItem)]
        return edges[0] if edges else None

    def select(self, name: str) -> None:
        """Select node ``name`` alone (none when unknown); one nodeSelected when that
        changes the selection, none when it was selected already (its pane stays as it is,
        with the undo history of its fields)."""
        scene, before = self.scene(), self.selected_names()
        scene.blockSignals(True)  # no "nothing selected" between the two
        scene.clearSelection()
        item = self.items.get(name)
        if item is not None:
            item.setSelected(True)
        scene.blockSignals(False)
        if self.selected_names() != before:
            self._selection_changed()
        if item is not None:
            scrolled = self._scrolled()
            self.ensureVisible(item.mapRectToScene(item.box()), 20, 20)  # its dots may not fit
            # the view moved in front of the user: a resize must not move it back
            if self._scrolled() != scrolled and self.isVisible():
                self._view_touched, self._pending_view = True, None

    def _scrolled(self) -> tuple[int, int]:
        return self.horizontalScrollBar().value(), self.verticalScrollBar().value()

    def _selection_changed(self) -> None:
        self.nodeSelected.emit(self.selected())

    # -- the view: zoom, pan, frame --------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_at(self, factor: float, view_point: QPoint) -> None:
        """Zoom by ``factor``, keeping the scene point under ``view_point`` where it is."""
        anchor = self.mapToScene(view_point)
        wanted = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        self.setTransform(QTransform.fromScale(wanted, wanted))
        self._scroll_by(self.mapFromScene(anchor) - view_point)
        self._view_touched = True

    def _scroll_by(self, delta: QPoint) -> None:
        bars = self.horizontalScrollBar(), self.verticalScrollBar()
        bars[0].setValue(bars[0].value() + delta.x())
        bars[1].setValue(bars[1].value() + delta.y())

    def frame(self, rect: QRectF, most: float = 1.0) -> None:
        """Show ``rect`` whole, in the middle, zoomed in no further than ``most``."""
        rect = rect.adjusted(-FRAME_MARGIN, -FRAME_MARGIN, FRAME_MARGIN, FRAME_MARGIN)
        view = self.viewport().rect()
        scale = min(view.width() / rect.width(), view.height() / rect.height(), most)
        scale = max(MIN_ZOOM, scale)
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(rect.center())
        self._view_touched = True

    def _bounds(self, items) -> QRectF:
        rect = QRectF()
        for item in items:
            rect = rect.united(item.footprint())
        return rect

    def frame_all(self) -> None:
        if self.items:
            self.frame(self._bounds(self.items.values()))

    def frame_selected(self) -> None:
        chosen = [i for i in self.scene().selectedItems() if isinstance(i, NodeItem)]
        if chosen:
            self.frame(self._bounds(chosen))
        else:
            self.frame_all()

    def view_state(self) -> list[float] | None:
        """Zoom and the scene point in the middle of the view, once the user moved the view
        (None before: the network opens at its top-left corner)."""
        if not self._view_touched:
            return None
        if self._pending_view is not None:  # not shown since
            return list(self._pending_view)
        middle = self.mapToScene(self.viewport().rect().center())
        return [self.zoom(), middle.x(), middle.y()]

    def restore_view(self, state) -> None:
        """The view as ``view_state`` gave it; anything else is ignored."""
        try:
            zoom, x, y = (float(value) for value in state)
        except (TypeError, ValueError):
            return
        if not all(map(math.isfinite, (zoom, x, y))):
            return
        self._view_touched = True
        self._pending_view = (min(MAX_ZOOM, max(MIN_ZOOM, zoom)), x, y)
        if self.isVisible():  # else once it has its size: the middle depends on it
            self._apply_view()

    def _apply_view(self) -> None:
        zoom, x, y = self._pending_view
        self._pending_view = None
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(x, y)

    def _home(self) -> None:
        """At 100 %, the network's top-left corner at the view's, until the user moves it."""
        self.resetTransform()
        rect = self._bounds(self.items.values())
        if rect.isNull():
            rect = QRectF(0, 0, 1, 1)
        view = self.viewport().rect()
        self.centerOn(rect.left() - 16 + view.width() / 2, rect.top() - 16 + view.height() / 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._pending_view is not None:
            self._apply_view()
        elif not self._view_touched:
            self._home()

    # -- keys --------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        key, plain = event.key(), not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if key == Qt.Key.Key_Tab:
            self.tabPressed.emit()
        elif key == Qt.Key.Key_F2 and self.selected():
            self.edit_name(self.selected())
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._delete()
        elif plain and key in (Qt.Key.Key_A, Qt.Key.Key_Home):
            self.frame_all()
        elif plain and key == Qt.Key.Key_F:
            self.frame_selected()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal, Qt.Key.Key_Minus):
            factor = 1 / WHEEL_STEP if key == Qt.Key.Key_Minus else WHEEL_STEP
            self.zoom_at(factor, self.viewport().rect().center())
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
        super().keyReleaseEvent(event)

    def _delete(self) -> None:
        edge = self.selected_edge()
        if edge is not None:
            self.disconnectRequested.emit(edge.source.name, edge.target.name)
        else:
            self.deletePressed.emit()

    def focusNextPrevChild(self, forward: bool) -> bool:
        return False  # Tab is ours: it opens the TAB menu

    # -- the TAB menu and the context menu ----------------------------------------------------
    def menu_point(self) -> QPoint:
        """Where the TAB menu opens (global), kept as the place for the node it makes: the
        context menu's point, else the cursor over the network, else the view's middle."""
        if self._menu_at is None:
            cursor = self.viewport().mapFromGlobal(QCursor.pos())
            inside = self.viewport().rect().contains(cursor)
            self._menu_at = self.mapToScene(cursor if inside else self.viewport().rect().center())
        self._anchor, self._menu_at = self._menu_at, None
        return self.viewport().mapToGlobal(self.mapFromScene(self._anchor))

    def context_menu(self, point: QPointF) -> QMenu:
        """The right-click menu at ``point`` (scene): the node's actions, then the view's."""
        menu = QMenu(self)
        node = self._node_at(point)
        if node is not None:
            if node.name not in self.selected_names():  # a click in a selection keeps it
                self.select(node.name)
            if not node.is_scheduler:
                menu.addAction(f"Cook {node.name}", lambda: self.cookRequested.emit(node.name))
                menu.addAction("Show Its Items in the Cook Viewer",
                               lambda: self.showItemsRequested.emit(node.name))
                menu.addAction("Dirty This Node",
                               lambda: self.dirtyRequested.emit(node.name, False))
                menu.addAction("Delete This Node's Results from Disk…",
                               lambda: self.dirtyRequested.emit(node.name, True))
            menu.addAction("Rename…", lambda: self.edit_name(node.name),
                           QKeySequence(Qt.Key.Key_F2))
            chosen = self.selected_names()
            menu.addAction(f"Delete {node.name}" if len(chosen) == 1 else
                           f"Delete {len(chosen)} Nodes", self.deletePressed.emit,
                           QKeySequence(Qt.Key.Key_Delete))
            menu.addSeparator()
        menu.addAction("Add Node…", lambda: self._add_at(point), QKeySequence(Qt.Key.Key_Tab))
        menu.addSeparator()
        menu.addAction("Frame All", self.frame_all, QKeySequence(Qt.Key.Key_A))
        menu.addAction("Frame Selected", self.frame_selected, QKeySequence(Qt.Key.Key_F))
        return menu

    def _add_at(self, point: QPointF) -> None:
        self._menu_at = point
        self.tabPressed.emit()

    def contextMenuEvent(self, event) -> None:
        self.context_menu(self.mapToScene(event.pos())).exec(event.globalPos())

    # -- the mouse: pan, info, dots, moving nodes and connecting them ----------------------
    def _node_at(self, scene_point: QPointF) -> NodeItem | None:
        for item in self.scene().items(scene_point):
            if isinstance(item, NodeItem):
                return item
        return None

    def wheelEvent(self, event) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.zoom_at(WHEEL_STEP ** notches, event.position().toPoint())
        event.accept()

    def _pans(self, event, node: NodeItem | None) -> bool:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            return node is None
        alt = event.modifiers() & Qt.KeyboardModifier.AltModifier
        return button == Qt.MouseButton.LeftButton and bool(self._space or alt)

    def mousePressEvent(self, event) -> None:
        point = self.mapToScene(event.position().toPoint())
        node = self._node_at(point)
        if self._pans(event, node):
            self._pan = (event.position(), self.horizontalScrollBar().value(),
                         self.verticalScrollBar().value())
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        self.info_popup.hide()
        if event.button() == Qt.MouseButton.MiddleButton:
            QToolTip.hideText()
            self.info_popup.show_for(node.name, self.node_info(node.name),
                                     event.globalPosition().toPoint())
            return
        if event.button() == Qt.MouseButton.LeftButton and self._press_left(node, point):
            return
        super().mousePressEvent(event)
        self._pressed_at = {name: item.pos() for name, item in self.items.items()}

    def _press_left(self, node: NodeItem | None, point: QPointF) -> bool:
        """A click on a dot, or the start of a connection from a port; True when handled."""
        if node is None:
            dot = self._item_at(point)
            if dot is not None:
                self.select(dot[0])
                self.itemClicked.emit(dot[1])
                return True
        if node is not None and node.on_port(point):
            path = self.scene().addPath(wire(node.port(), point),
                                        QPen(SELECTED_COLOR, 1.5, Qt.PenStyle.DashLine))
            self._wiring = (node, path)
            return True
        return False

    def mouseDoubleClickEvent(self, event) -> None:
        """A double-click on a node's name edits it, as in Houdini."""
        point = self.mapToScene(event.position().toPoint())
        node = self._node_at(point)
        if event.button() == Qt.MouseButton.LeftButton and node is not None \
                and node.name_rect().contains(node.mapFromScene(point)):
            self.edit_name(node.name)
            return
        super().mouseDoubleClickEvent(event)

    # -- renaming ---------------------------------------------------------------------------
    def edit_name(self, name: str) -> None:
        """A field over node ``name``'s name: Return (or a click elsewhere) renames it, Esc
        leaves it as it was."""
        self._close_name_editor()
        node = self.items[name]
        self.select(name)
        rect = self.mapFromScene(node.mapRectToScene(node.name_rect())).boundingRect()
        editor = NameEditor(name, self.viewport())
        editor.setGeometry(rect.adjusted(-2, -2, 2, 1))
        editor.done.connect(self._name_edited)
        editor.show()
        editor.setFocus()
        self.name_editor = editor

    def _name_edited(self, old: str, new: str) -> None:
        self._close_name_editor()
        self.setFocus()
        if new and new != old:
            self.renameRequested.emit(old, new)

    def _close_name_editor(self) -> None:
        editor, self.name_editor = self.name_editor, None
        if editor is not None:
            editor.done.disconnect(self._name_edited)
            editor.hide()
            editor.deleteLater()

    def mouseMoveEvent(self, event) -> None:
        if self.info_popup.isVisible():
            under = self._node_at(self.mapToScene(event.position().toPoint()))
            if under is None or under.name != self.info_popup.node:
                self.info_popup.hide()
        if self._pan is not None:
            start, x, y = self._pan
            moved = event.position() - start
            self.horizontalScrollBar().setValue(x - round(moved.x()))
            self.verticalScrollBar().setValue(y - round(moved.y()))
            self._view_touched = True
            return
        if self._wiring is not None:
            source, path = self._wiring
            path.setPath(wire(source.port(), self.mapToScene(event.position().toPoint())))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan is not None:
            self._pan = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            return
        if self._wiring is not None:
            self._finish_wire(event)
            return
        super().mouseReleaseEvent(event)
        moved = [(name, item.pos().x(), item.pos().y()) for name, item in self.items.items()
                 if name in self._pressed_at and item.pos() != self._pressed_at[name]]
        self._pressed_at = {}
        if moved:
            self.nodesMoved.emit(moved)

    def _finish_wire(self, event) -> None:
        source, path = self._wiring
        self._wiring = None
        self.scene().removeItem(path)
        target = self._node_at(self.mapToScene(event.position().toPoint()))
        if target is not None and target is not source:
            self.connectRequested.emit(source.name, target.name)

