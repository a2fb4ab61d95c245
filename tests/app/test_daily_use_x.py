"""What is typed is what cooks, saves and is asked about on Quit, on a real X display with a
window manager and real key and mouse events (skipped, saying why, where none can start)."""

from __future__ import annotations

import json
from pathlib import Path

from .xdisplay import xdisplay  # noqa: F401  (the fixture)

HOOK = '''
from PySide6.QtWidgets import QApplication, QMessageBox


def state(window):
    field = window.pane.widgets.get("command")
    centre = field.mapToGlobal(field.rect().center()) if field is not None else None
    boxes = [w.windowTitle() for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible()]
    spec = window.document.network.node("gen")
    return {"command_field": [centre.x(), centre.y()] if centre else None,
            "command_focus": bool(field is not None and field.hasFocus()),
            "command": spec.parms.get("command"), "dirty": window.document.dirty,
            "cooked": [i.command for i in window.bridge.items],
            "cooking": window.bridge.cooking, "boxes": boxes}
'''


def test_typed_edits_cook_save_and_are_asked_about_on_quit(xdisplay, tmp_path):  # noqa: F811
    network = tmp_path / "echo.top.json"
    network.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"command": "echo old"}}]}))
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    studio = xdisplay.start_studio(network, tmp_path, hook=hook)
    state = studio.wait_for(lambda s: s["window_active"] and s["node_points"].get("gen"),
                            timeout=30)
    xdisplay.click(*state["node_points"]["gen"])
    state = studio.wait_for(lambda s: s["command_field"], what="the Command field")
    xdisplay.click(*state["command_field"])
    studio.wait_for(lambda s: s["command_focus"], what="the Command field's focus")
    xdisplay.key("ctrl+a")
    xdisplay.type("echo fixed")
    studio.wait_for(lambda s: s["command"] == "echo fixed" and s["dirty"],
                    what="the typed command in the network, no Enter pressed")
    xdisplay.key("F5")
    studio.wait_for(lambda s: s["cooked"] == ["echo fixed"] and not s["cooking"], timeout=60,
                    what="a cook of the typed command")
    xdisplay.key("ctrl+s")
    studio.wait_for(lambda s: not s["dirty"], what="the save")
    saved = json.loads(Path(network).read_text())["nodes"][0]["parms"]["command"]
    assert saved == "echo fixed"
    xdisplay.type(" again")
    studio.wait_for(lambda s: s["dirty"], what="the second edit")
    xdisplay.key("ctrl+q")
    studio.wait_for(lambda s: s["boxes"] == ["Unsaved changes"], what="Quit asking first")
    xdisplay.key("Escape")  # Cancel: the studio stays, with the edit
    state = studio.wait_for(lambda s: not s["boxes"], what="the question gone")
    assert state["command"] == "echo fixed again" and studio.process.poll() is None


FAILURES_HOOK = '''
def state(window):
    problems, viewer = window.problems, window.viewer
    first = problems.item(0) if problems.count() else None
    point = None
    if first is not None and problems.isVisible():
        centre = problems.visualItemRect(first).center()
        point = problems.viewport().mapToGlobal(centre)
    return {"problems": [problems.item(n).text() for n in range(problems.count())],
            "problem_point": [point.x(), point.y()] if point else None,
            "viewer_visible": viewer.isVisible(),
            "viewer_rows": [i.name for i in viewer.model.rows],
            "viewer_filters": [viewer.state_filter.currentText(),
                               viewer.node_filter.currentText()],
            "viewer_selected": [i.name for i in viewer.selected_items()],
            "cooking": window.bridge.cooking}
'''


def cook_on_display(xdisplay, tmp_path, nodes: list, hook: str):  # noqa: F811
    """The studio on the display with a network of ``nodes`` and ``hook``, cooking (F5)."""
    network = tmp_path / "net.top.json"
    network.write_text(json.dumps({"format": "schedcore-network", "nodes": nodes}))
    (tmp_path / "hook.py").write_text(hook)
    studio = xdisplay.start_studio(network, tmp_path, hook=tmp_path / "hook.py")
    studio.wait_for(lambda s: s["window_active"], timeout=30, what="the window, active")
    xdisplay.key("F5")
    return studio


def test_a_double_click_on_failures_alike_shows_them_all(xdisplay, tmp_path):  # noqa: F811
    studio = cook_on_display(xdisplay, tmp_path, [
        {"name": "bad", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 25, "command": "sh -c 'exit 2'"}},
        {"name": "fine", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 3, "command": "true"}}], FAILURES_HOOK)
    state = studio.wait_for(lambda s: not s["cooking"] and s["problem_point"], timeout=60,
                            what="the cook over, its problems shown")
    (line,) = state["problems"]
    assert line.startswith("failed items: bad_") and "and 24 more of bad: the command " \
        "ended with exit code 2" in line
    xdisplay.click(*state["problem_point"], times=2)
    state = studio.wait_for(lambda s: s["viewer_visible"] and len(s["viewer_rows"]) == 25,
                            what="the failed items in the Cook Viewer")
    assert state["viewer_filters"] == ["CookedFail", "bad"]
    assert state["viewer_selected"] == [line.split()[2]]  # the first named


FIX_HOOK = '''
from PySide6.QtWidgets import QApplication, QTabBar

from schedcore import registry


def state(window):
    problems, view = window.problems, window.source_view
    popup = QApplication.activePopupWidget()
    point = tab = None
    for n in range(problems.count()):
        # the part of the line a person sees (the panel may be narrower than the line), once
        # the panel is laid out in the window
        rect = problems.visualItemRect(problems.item(n)).intersected(problems.viewport().rect())
        seen = problems.viewport().mapToGlobal(rect.center())
        if problems.item(n).text().startswith("load error") and problems.isVisible() \\
                and not rect.isEmpty() and window.frameGeometry().contains(seen):
            point = seen
    for bar in window.findChildren(QTabBar):
        for n in range(bar.count()):
            if bar.tabText(n) == "Problems" and bar.isVisible():
                tab = bar.mapToGlobal(bar.tabRect(n).center())
    return {"load_error_point": [point.x(), point.y()] if point else None,
            "menu": popup.title() if popup is not None and hasattr(popup, "title") else "",
            "problems_tab": [tab.x(), tab.y()] if tab else None,
            "cooking": window.bridge.cooking, "dirty": window.document.dirty,
            "source": None if view is None else {
                "visible": view.isVisible(), "active": view.isActiveWindow(),
                "focus": view.editor.hasFocus(), "title": view.windowTitle()},
            "types": sorted(registry.scheduler_types()),
            "status": window.statusBar().currentMessage()}
'''


def test_a_broken_scheduler_file_is_fixed_in_its_own_window(xdisplay, tmp_path):  # noqa: F811
    """Double-clicked in Problems, the file opens in a window of its own that has the keys:
    typed there and saved with Ctrl+S, the file is fixed and its type in use, the network
    untouched."""
    types = tmp_path / "data" / "schedstudio" / "pdg" / "types"
    types.mkdir(parents=True)
    module = types / "fixedhere.py"
    module.write_text("from schedcore.schedulers import Scheduler\n\n\n"
                      "class Fixed(Scheduler)\n    type_name = 'fixedhere'\n\n\n"
                      "def registerTypes(type_registry):\n"
                      "    type_registry.registerScheduler(Fixed)\n")
    studio = cook_on_display(xdisplay, tmp_path, [
        {"name": "gen", "type": "genericgenerator", "inputs": [], "parms": {"command": "true"}}],
        FIX_HOOK)
    state = studio.wait_for(lambda s: not s["cooking"] and s["problems_tab"], timeout=60,
                            what="the cook over")
    # the cook went well: the Cook Viewer is in front; View > Panes > Problems brings it (the
    # keys, as the tab's reported place can be off after a cook: a studio issue still open)
    xdisplay.key("alt+v")
    studio.wait_for(lambda s: s["menu"] == "&View", what="the View menu open")
    xdisplay.key("p")
    studio.wait_for(lambda s: s["menu"] == "&Panes", what="its Panes menu open")
    xdisplay.key("p")
    state = studio.wait_for(lambda s: s["load_error_point"], what="the load error in Problems")
    xdisplay.click(*state["load_error_point"], times=2)
    studio.wait_for(lambda s: s["source"] and s["source"]["active"] and s["source"]["focus"],
                    what="the file's window, active, its text focused")
    xdisplay.key("End")
    xdisplay.type(":")
    studio.wait_for(lambda s: s["source"]["title"] == "fixedhere.py:4 *", what="the edit")
    xdisplay.key("ctrl+s")
    state = studio.wait_for(lambda s: "fixedhere" in s["types"], what="the fixed type loaded")
    assert "class Fixed(Scheduler):\n" in module.read_text()
    assert state["source"]["title"] == "fixedhere.py:4" and not state["dirty"]
    assert state["status"].startswith("Saved fixedhere.py. Types reloaded")
