"""The network view as a node editor and the TAB menu as a popup, driven offscreen (the
same behaviours on a real X server with real input: test_real_display.py)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from schedstudio.document import Document
from schedstudio.network import dots
from schedstudio.network.items import BADGE_COLORS, EDGE_COLOR, NODE_W, badge_rect, extra_rect
from schedstudio.network.tabmenu import clamp_to
from schedstudio.window import MainWindow

from ..conftest import EXAMPLES, make_network


def _show(qtbot, document: Document) -> MainWindow:
    win = MainWindow(document)
    win.resize(1024, 700)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = _show(qtbot, Document.open(tmp_path / "ex" / "wedge_summary.top.json"))
    yield win
    win.document.dirty = False
    win.tab_menu.hide()
    win.close()
    win.deleteLater()


def _visible(panel) -> QRectF:
    return panel.mapToScene(panel.viewport().rect()).boundingRect()


def _send(widget, kind, pos: QPointF, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos)),
                                               button, buttons, modifiers))


def _overlaps(panel) -> list:
    nodes = list(panel.items.values())
    return [(a.name, b.name) for i, a in enumerate(nodes) for b in nodes[i + 1:]
            if a.footprint().intersects(b.footprint())]


# -- the TAB menu ---------------------------------------------------------------------------
def test_tab_menu_is_a_popup_with_the_keyboard(qtbot, window):
    menu, panel = window.tab_menu, window.panel
    panel.select("wedge1")
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Tab)
    assert menu.isVisible() and menu.windowType() == Qt.WindowType.Popup
    assert QApplication.activePopupWidget() is menu
    assert menu.search.hasFocus()
    qtbot.keyClicks(menu.search, "scheduler")
    assert set(menu.entries()) == {"localscheduler", "pythonscheduler", "daskscheduler",
                                   "slurmscheduler"}
    first = menu.current()
    qtbot.keyClick(menu.search, Qt.Key.Key_Down)
    second = menu.current()
    assert second != first and second in menu.entries()
    qtbot.keyClick(menu.search, Qt.Key.Key_Backspace)  # edits the search, never the network
    assert menu.search.text() == "schedule" and "wedge1" in panel.items
    qtbot.keyClick(menu.search, Qt.Key.Key_Return)
    assert not menu.isVisible()
    made = panel.selected()
    assert window.document.spec(made).type == second


def test_tab_menu_closes_on_escape_and_on_a_click_outside(qtbot, window):
    menu = window.tab_menu
    window.open_tab_menu()
    assert menu.isVisible()
    qtbot.keyClick(menu.search, Qt.Key.Key_Escape)
    assert not menu.isVisible()
    window.open_tab_menu()
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=QPoint(-20, -20))
    assert not menu.isVisible()
    assert window.document.dirty is False


def test_tab_menu_never_opens_off_screen(qtbot, window):
    menu = window.tab_menu
    area = QGuiApplication.primaryScreen().availableGeometry()
    for corner in (area.bottomRight() + QPoint(300, 300), area.topLeft() - QPoint(500, 50)):
        menu.popup(corner)
        assert area.contains(menu.geometry()), (corner, menu.geometry(), area)
        menu.close()
    assert clamp_to(QRect(90, 90, 50, 50), QRect(0, 0, 100, 100)) == QRect(50, 50, 50, 50)
    assert clamp_to(QRect(0, 0, 500, 50), QRect(0, 0, 100, 100)) == QRect(0, 0, 100, 50)


# -- zoom, pan, frame -----------------------------------------------------------------------
def test_wheel_zooms_around_the_cursor(qtbot, window):
    panel = window.panel
    viewport = panel.viewport()
    at = QPoint(120, 90)
    under = panel.mapToScene(at)
    for delta in (120, 120, -120 * 3):
        QApplication.sendEvent(viewport, QWheelEvent(
            QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(), QPoint(0, delta),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
            False))
        moved = panel.mapToScene(at) - under
        assert abs(moved.x()) < 2 / panel.zoom() and abs(moved.y()) < 2 / panel.zoom()
    assert panel.zoom() == pytest.approx(1 / 1.2)


def test_middle_drag_and_space_drag_pan(qtbot, window):
    panel = window.panel
    viewport = panel.viewport()
    empty = QPointF(viewport.width() - 10, viewport.height() - 10)
    assert panel._node_at(panel.mapToScene(empty.toPoint())) is None
    before = panel.mapToScene(viewport.rect().center())
    middle, none = Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
    _send(viewport, QEvent.Type.MouseButtonPress, empty, middle, middle)
    _send(viewport, QEvent.Type.MouseMove, empty - QPointF(60, 40), none, middle)
    _send(viewport, QEvent.Type.MouseButtonRelease, empty - QPointF(60, 40), middle, none)
    assert panel.mapToScene(viewport.rect().center()) - before == QPointF(60, 40)

    panel.setFocus()
    qtbot.keyPress(panel, Qt.Key.Key_Space)
    left = Qt.MouseButton.LeftButton
    start = QPointF(panel.mapFromScene(panel.items["wedge1"].pos() + QPointF(30, 20)))
    _send(viewport, QEvent.Type.MouseButtonPress, start, left, left)
    _send(viewport, QEvent.Type.MouseMove, start + QPointF(25, 0), none, left)
    _send(viewport, QEvent.Type.MouseButtonRelease, start + QPointF(25, 0), left, none)
    qtbot.keyRelease(panel, Qt.Key.Key_Space)
    assert panel.mapToScene(viewport.rect().center()) - before == QPointF(35, 40)
    assert window.document.network.node("wedge1").position is None  # panned, not moved


def test_frame_all_and_frame_selected(qtbot, window):
    panel = window.panel
    panel.setFocus()
    panel.zoom_at(3.0, QPoint(0, 0))
    qtbot.keyClick(panel, Qt.Key.Key_A)
    visible = _visible(panel)
    assert all(visible.contains(item.footprint()) for item in panel.items.values())
    assert panel.zoom() <= 1.0
    panel.zoom_at(0.2, QPoint(0, 0))
    panel.select("summary1")
    qtbot.keyClick(panel, Qt.Key.Key_F)
    box = panel.items["summary1"].footprint()
    assert _visible(panel).contains(box)
    assert (_visible(panel).center() - box.center()).manhattanLength() < 3
    panel.zoom_at(0.5, QPoint(0, 0))
    qtbot.keyClick(panel, Qt.Key.Key_Home)
    assert all(_visible(panel).contains(i.footprint()) for i in panel.items.values())


def test_each_network_opens_again_zoomed_and_panned_as_it_was_left(qtbot, window, tmp_path):
    panel, first = window.panel, window.document.path
    panel.zoom_at(2.0, QPoint(100, 80))
    panel._scroll_by(QPoint(-40, 25))
    zoom, middle = panel.zoom(), _visible(panel).center()
    window.open_path(str(tmp_path / "ex" / "shared_server.top.json"))
    assert panel.zoom() == 1.0  # a network never moved opens at its top-left corner
    window.open_path(first)
    assert panel.zoom() == pytest.approx(zoom)
    assert (_visible(panel).center() - middle).manhattanLength() < 2
    window.close()  # the settings keep it for the next session, in a window of another size
    again = MainWindow(Document.open(first))
    again.resize(1300, 800)
    again.show()
    qtbot.waitExposed(again)
    assert again.panel.zoom() == pytest.approx(zoom)
    assert (_visible(again.panel).center() - middle).manhattanLength() < 3  # whole pixels
    again.close()
    again.deleteLater()


# -- where nodes go -----------------------------------------------------------------------
def test_new_nodes_appear_in_view_on_a_free_spot(qtbot, window):
    panel = window.panel
    panel.scene().clearSelection()
    for _ in range(3):  # no input: where the menu was asked for, the view's middle here
        panel.menu_point()
        window.add_node("genericgenerator")
        made = panel.items[panel.selected()]
        assert _visible(panel).contains(made.mapRectToScene(made.box()))
        assert not _overlaps(panel)
    panel.select("wedge1")
    window.add_node("genericgenerator")  # under the selected node, connected to it
    made = panel.selected()
    assert window.document.network.node(made).inputs == ["wedge1"]
    assert panel.items[made].pos().y() > panel.items["wedge1"].pos().y()
    assert _visible(panel).contains(panel.items[made].mapRectToScene(panel.items[made].box()))
    assert not _overlaps(panel)
    assert window.document.network.node(made).position is not None  # saved where it was put
    window.document.undo()  # the node and its place are one step
    assert made not in panel.items


def test_a_node_scrolled_into_view_stays_in_view_when_the_panes_resize(qtbot, window):
    panel = window.panel
    bottom = panel.mapToScene(panel.viewport().rect().bottomLeft())
    panel._anchor = bottom + QPointF(150, -10)  # the TAB menu asked for at the bottom edge
    panel.scene().clearSelection()
    window.add_node("genericgenerator")  # its free spot is below the view: it scrolls
    made = panel.items[panel.selected()]
    assert _visible(panel).contains(made.mapRectToScene(made.box()))
    window.resize(window.width() + 20, window.height() + 20)  # a dock moved: it resizes
    qtbot.waitUntil(lambda: panel.viewport().height() > 300)
    QApplication.processEvents()
    assert _visible(panel).contains(made.mapRectToScene(made.box()))  # not sent home


def test_a_node_added_never_moves_those_laid_out_before(qtbot, window):
    panel = window.panel
    for type_name, where in (("localscheduler", QPointF(20, 0)), ("pythonscheduler", None),
                             ("genericgenerator", QPointF(300, 150)), ("wedge", None)):
        before = {name: item.pos() for name, item in panel.items.items()}
        panel._anchor = where  # where the TAB menu was asked for (None: the view's middle)
        panel.scene().clearSelection()
        window.add_node(type_name)
        assert {name: panel.items[name].pos() for name in before} == before, type_name
        assert not _overlaps(panel)


def test_auto_layout_leaves_room_for_the_dots(qtbot, tmp_path):
    fan = [{"name": "wedge", "type": "wedge"}] + [
        {"name": f"gen{i}", "type": "genericgenerator", "inputs": ["wedge"]} for i in range(3)]
    fan.append({"name": "moved", "type": "genericgenerator", "position": [250, 102]})
    win = _show(qtbot, Document(make_network(tmp_path, fan)))
    try:
        assert not _overlaps(win.panel)
        assert win.panel.items["moved"].pos() == QPointF(250, 102)  # a saved place is kept
    finally:
        win.close()


# -- work-item dots, info, the context menu ------------------------------------------------
def test_dots_are_in_proportion_past_a_few_dozen_items(qtbot, window, tmp_path):
    window.bridge.counts["wedge1"] = Counter(Waiting=72, CookedSuccess=20)
    area = extra_rect()
    segments = dots.marks([], window.bridge.counts["wedge1"], area)
    widths = {mark.state: mark.rect.width() for mark in segments}
    assert widths["Waiting"] == pytest.approx(area.width() * 72 / 92)
    assert widths["CookedSuccess"] == pytest.approx(area.width() * 20 / 92)
    assert dots.counts_text(window.bridge.counts["wedge1"]) == "20 cooked  72 waiting"

    panel = window.panel
    panel.select("wedge1")
    panel.frame_selected()  # the whole bar in view
    image = panel.viewport().grab().toImage()
    image.save(str(tmp_path / "dots.png"))
    item = panel.items["wedge1"]
    y = panel.mapFromScene(item.mapToScene(QPointF(area.left(), area.top() + 11))).y()
    colors = dots.state_colors()
    row = [image.pixelColor(x, y).name() for x in range(image.width())]
    waiting = row.count(QColor(colors["Waiting"]).name())
    cooked = row.count(QColor(colors["CookedSuccess"]).name())
    assert cooked > 10 and waiting / cooked == pytest.approx(72 / 20, rel=0.15)


@pytest.fixture
def cooked(qtbot, tmp_path):
    net = make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 5, "command": "true"}},
        {"name": "bad", "type": "genericgenerator", "parms": {"itemcount": 2,
                                                               "command": "exit 3"}}])
    win = _show(qtbot, Document(net))
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=60_000):
        assert win.cook()
    yield win
    win.document.dirty = False
    win.close()


def test_a_click_on_a_dot_selects_that_item_in_the_cook_viewer(qtbot, cooked):
    panel = cooked.panel
    items = panel.work.of("gen")
    assert len(items) == 5
    third = dots.marks(items, cooked.bridge.counts["gen"], extra_rect())[2]
    at = panel.mapFromScene(panel.items["gen"].mapToScene(third.rect.center()))
    with qtbot.waitSignal(panel.itemClicked) as clicked:
        qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert clicked.args == [items[2].id]
    assert [item.id for item in cooked.viewer.selected_items()] == [items[2].id]


def test_node_info_on_hover_and_middle_click(qtbot, cooked):
    panel = cooked.panel
    info = panel.node_info("gen")
    assert "5 items: 5 cooked" in info and "Last cook:" in info and "Errors" not in info
    bad = panel.node_info("bad")
    assert "2 items: 2 failed" in bad and "Errors (2)" in bad
    box = panel.items["bad"]
    at = QPointF(panel.mapFromScene(box.mapToScene(QPointF(30, 20))))
    middle = Qt.MouseButton.MiddleButton
    _send(panel.viewport(), QEvent.Type.MouseButtonPress, at, middle, middle)
    _send(panel.viewport(), QEvent.Type.MouseButtonRelease, at, middle, Qt.MouseButton.NoButton)
    assert panel.info_popup.isVisible() and "Errors (2)" in panel.info_popup.text()
    away = QPointF(panel.viewport().width() - 5, panel.viewport().height() - 5)
    _send(panel.viewport(), QEvent.Type.MouseMove, away, Qt.MouseButton.NoButton,
          Qt.MouseButton.NoButton)
    assert not panel.info_popup.isVisible()  # gone once the mouse leaves the node


def test_context_menu_of_a_node_and_of_the_view(qtbot, window):
    panel = window.panel
    menu = panel.context_menu(panel.items["render1"].pos() + QPointF(30, 20))
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Cook render1", "Show Its Items in the Cook Viewer", "Dirty This Node",
                     "Delete This Node's Results from Disk…", "Rename…", "Delete render1",
                     "Add Node…", "Frame All", "Frame Selected"]
    assert panel.selected() == "render1"
    with qtbot.waitSignal(panel.cookRequested) as asked:
        menu.actions()[0].trigger()
    assert asked.args == ["render1"]
    window.bridge.cancel()
    window.bridge.wait(30)
    empty = panel.mapToScene(panel.viewport().rect().bottomRight() - QPoint(5, 5))
    texts = [a.text() for a in panel.context_menu(empty).actions() if a.text()]
    assert texts == ["Add Node…", "Frame All", "Frame Selected"]


def test_several_selected_nodes_are_deleted_together_and_come_back_in_one_undo(qtbot, window):
    panel, doc = window.panel, window.document
    before = [spec.name for spec in doc.network.nodes]
    panel.scene().clearSelection()  # the window selected its first node
    for name in ("render1", "summary1"):
        panel.items[name].setSelected(True)
    assert panel.selected_names() == ["render1", "summary1"]
    menu = panel.context_menu(panel.items["summary1"].pos() + QPointF(30, 20))
    assert "Delete 2 Nodes" in [a.text() for a in menu.actions()]
    assert panel.selected_names() == ["render1", "summary1"]  # a click in it keeps it
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert [spec.name for spec in doc.network.nodes] == \
        [name for name in before if name not in ("render1", "summary1")]
    assert "render1, summary1" in window.statusBar().currentMessage()
    assert doc.undo_text() == "Delete render1, summary1"
    doc.undo()
    assert [spec.name for spec in doc.network.nodes] == before



# -- renaming ---------------------------------------------------------------------------------
def _rename_with_keys(qtbot, panel, old: str, new: str) -> None:
    panel.select(old)
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_F2)
    editor = panel.name_editor
    assert editor is not None and editor.isVisible() and editor.selectedText() == old
    qtbot.keyClicks(editor, new)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_f2_renames_a_node_in_place_and_what_refers_to_it_follows(qtbot, window):
    panel, doc = window.panel, window.document
    where = panel.items["render1"].pos()
    _rename_with_keys(qtbot, panel, "render1", "beauty")
    net = doc.network
    assert [spec.name for spec in net.nodes] == ["wedge1", "beauty", "collect1", "summary1"]
    assert net.node("collect1").inputs == ["beauty"]
    assert panel.selected() == "beauty" and window.pane.node == "beauty"
    assert panel.items["beauty"].pos() == where  # where it was, not laid out again
    assert panel.name_editor is None and doc.dirty
    assert "Renamed render1 to beauty" in window.statusBar().currentMessage()
    doc.undo()
    assert net.node("collect1").inputs == ["render1"] and panel.selected() == "render1"
    doc.redo()
    assert net.node("collect1").inputs == ["beauty"] and panel.selected() == "beauty"


def test_renaming_a_scheduler_node_moves_the_nodes_it_cooks_and_the_default(qtbot, window):
    panel, doc = window.panel, window.document
    doc.set_scheduler_of("render1", "pythonscheduler1")
    _rename_with_keys(qtbot, panel, "pythonscheduler1", "farm")
    _rename_with_keys(qtbot, panel, "localscheduler1", "here")
    net = doc.network
    assert net.node("render1").scheduler == "farm" and net.default_scheduler == "here"
    assert panel.items["render1"].subtitle == "genericgenerator · farm"
    assert panel.items["here"].subtitle == "localscheduler (default)"


def test_a_name_taken_or_not_a_name_is_refused_and_said(qtbot, window):
    panel, doc = window.panel, window.document
    for wrong, why in (("wedge1", "there is a node named wedge1 already"),
                       ("2render", "is not a node name"), ("my render", "is not a node name")):
        _rename_with_keys(qtbot, panel, "render1", wrong)
        assert why in window.statusBar().currentMessage()
        assert "render1" in panel.items and not doc.dirty and doc.undo_text() == ""


def test_escape_leaves_the_name_and_a_double_click_on_the_name_edits_it(qtbot, window):
    panel, doc = window.panel, window.document
    box = panel.items["summary1"]
    panel.select("summary1")  # in view
    at = panel.mapFromScene(box.mapToScene(box.name_rect().center()))
    assert panel.viewport().rect().contains(at)
    qtbot.mouseDClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=at)
    editor = panel.name_editor
    assert editor is not None and editor.text() == "summary1"
    qtbot.keyClicks(editor, "other")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert "summary1" in panel.items and not doc.dirty and panel.name_editor is None
    qtbot.mouseDClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.keyClicks(panel.name_editor, "report")
    panel.setFocus()  # a click elsewhere: the name typed is kept, as in Houdini
    assert "report" in panel.items and "summary1" not in panel.items


def test_a_renamed_node_keeps_showing_the_items_it_cooked(qtbot, cooked):
    panel = cooked.panel
    before = panel.node_info("gen")
    _rename_with_keys(qtbot, panel, "gen", "make")
    assert panel.node_info("make") == before.replace("<b>gen</b>", "<b>make</b>")
    assert "5 items: 5 cooked" in panel.node_info("make")


def test_a_connection_ends_in_an_arrow_on_the_node_it_feeds(qtbot, window):
    panel = window.panel
    edge = next(e for e in panel.items["render1"].edges if e.target.name == "render1")
    assert edge.source.name == "wedge1"
    top_middle = panel.items["render1"].pos() + QPointF(NODE_W / 2, 0)
    arrow = edge.arrow().boundingRect()
    assert arrow.bottom() == pytest.approx(top_middle.y(), abs=0.5)  # its tip on the node
    assert arrow.height() > 6 and arrow.center().x() == pytest.approx(top_middle.x(), abs=1)
    # drawn: just above the node's top edge the arrowhead is filled, beside it is not
    panel.select("render1")
    image = panel.viewport().grab().toImage()

    def near_edge_color(point: QPointF) -> bool:
        color = image.pixelColor(panel.mapFromScene(point))
        return max(abs(color.red() - EDGE_COLOR.red()), abs(color.green() - EDGE_COLOR.green()),
                   abs(color.blue() - EDGE_COLOR.blue())) < 12
    assert near_edge_color(QPointF(arrow.center().x(), arrow.bottom() - 3))
    assert not near_edge_color(QPointF(arrow.center().x() + 12, arrow.bottom() - 3))


def test_a_selected_item_rings_its_dot_and_those_upstream_and_downstream(qtbot, window):
    with qtbot.waitSignal(window.bridge.cookFinished, timeout=90_000):
        assert window.cook()
    panel, items = window.panel, window.bridge.items
    render = [i for i in items if i.node == "render1"]
    chosen = render[2]
    window.viewer.select_item(chosen.id)
    rings = panel.rings
    assert rings[chosen.id] == dots.SELECTED
    upstream = {i.id for i in items if rings.get(i.id) == dots.UPSTREAM}
    downstream = {i.id for i in items if rings.get(i.id) == dots.DOWNSTREAM}
    assert upstream == {d.id for d in chosen.dependencies} and len(upstream) == 1
    assert next(i for i in items if i.id in upstream).node == "wedge1"
    assert {i.node for i in items if i.id in downstream} == {"collect1", "summary1"}
    assert not any(rings.get(i.id) for i in render if i is not chosen)  # its siblings: no
    # drawn: a white ring around the chosen dot
    mark = dots.marks(panel.work.of("render1"), window.bridge.counts["render1"],
                      extra_rect())[2]
    panel.select("render1")
    image = panel.viewport().grab().toImage()
    ring = mark.rect.adjusted(-1.5, -1.5, 1.5, 1.5)
    at = panel.mapFromScene(panel.items["render1"].mapToScene(
        QPointF(ring.center().x(), ring.top())))
    around = [image.pixelColor(at.x() + dx, at.y() + dy).lightness()
              for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert max(around) > 200  # white on the dark background
    window.viewer.table.clearSelection()
    assert panel.rings == {}


def test_a_node_badge_says_how_its_last_cook_went_and_when_it_changed_since(qtbot, cooked):
    panel, doc = cooked.panel, cooked.document
    assert (panel.items["gen"].badge, panel.items["bad"].badge) == ("cooked", "failed")
    doc.set_parm("gen", "command", "echo changed")
    assert panel.items["gen"].badge == "dirty" and panel.items["bad"].badge == "failed"
    panel.select("bad")  # in view
    image = panel.viewport().grab().toImage()
    badge = panel.items["bad"].mapToScene(badge_rect().center())
    assert image.pixelColor(panel.mapFromScene(badge)).name() == BADGE_COLORS["failed"]
    doc.set_parm("bad", "command", "sleep 30")
    with qtbot.waitSignal(cooked.bridge.itemsChanged, timeout=30_000):
        assert cooked.cook()
    qtbot.waitUntil(lambda: panel.items["bad"].badge == "cooking", timeout=30_000)
    qtbot.waitUntil(lambda: cooked.bridge.counts.get("gen") == {"CookedSuccess": 5},
                    timeout=30_000)  # gen cooked (a loaded machine may take a while)
    with qtbot.waitSignal(cooked.bridge.cookFinished, timeout=30_000):
        cooked.bridge.cancel()
    assert panel.items["bad"].badge == "canceled" and panel.items["gen"].badge == "cooked"


def test_hovering_a_node_tells_what_its_jobs_took_and_a_slow_down_since_earlier_cooks(
        qtbot, tmp_path):
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                   "parms": {"itemcount": 4, "command": "sleep 0.05"}}])
    win = _show(qtbot, Document(net))
    try:
        for command in ("sleep 0.05", "sleep 0.05", "sleep 0.6"):
            win.document.set_parm("gen", "command", command)
            with qtbot.waitSignal(win.bridge.cookFinished, timeout=60_000):
                assert win.cook()
        text = win.panel.node_info("gen")
        assert "Its jobs ran: median " in text and "longest " in text
        earlier = text.split("Median in its last 3 cooks: ")[1].split("<")[0]
        medians = [float(part.rstrip("ms ")) / (1000 if part.endswith("ms") else 1)
                   for part in earlier.split(", ")]
        assert medians[0] < 0.5 and medians[1] < 0.5 and medians[2] >= 0.6
        assert "▲ slower" in text
    finally:
        win.document.dirty = False
        win.close()
