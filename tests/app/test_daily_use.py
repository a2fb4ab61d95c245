"""The studio in daily use: what is typed is what cooks and saves, undo and redo that say what
they do, a window that works at 1,024 x 700 and remembers its layout, logs and links that open
inside the studio, and settings that stay out of the user's own."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from schedstudio import main as studio_main
from schedstudio.document import Document
from schedstudio.window import MainWindow

from ..conftest import EXAMPLES
from .xdisplay import missing_xcb_libraries


@pytest.fixture
def example(tmp_path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex" / "wedge_summary.top.json"


@pytest.fixture
def windows(qtbot):
    opened = []

    def make(path, size=None):
        win = MainWindow(Document.open(path))
        if size:
            win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()  # keys and shortcuts as on a desktop
        qtbot.waitUntil(win.isActiveWindow)
        opened.append(win)
        return win

    yield make
    for win in opened:
        win.document.dirty = False
        win.close()
        win.deleteLater()


def cook(qtbot, win, timeout=90_000):
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=timeout) as finished:
        assert win.cook()
    return finished.args[0]


def type_into(qtbot, widget, text: str) -> None:
    """Select all and type, as a person does: no Enter, no focus change."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


# -- 1. a value typed is a value made ---------------------------------------------------------
def test_a_typed_command_cooks_and_saves_without_enter(qtbot, windows, tmp_path):
    path = tmp_path / "echo.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"command": "echo old"}}]}))
    win = windows(path)
    win.panel.select("gen")
    type_into(qtbot, win.pane.widgets["command"], "echo fixed")
    assert win.pane.widgets["command"].hasFocus()  # still typing: no Enter, no focus-out
    assert win.document.network.node("gen").parms["command"] == "echo fixed"
    assert win.windowTitle().startswith("echo.top.json *")
    result = cook(qtbot, win)
    assert [i.command for i in result.items] == ["echo fixed"]
    win.activateWindow()  # offscreen, any window shown meanwhile took the activation
    qtbot.waitUntil(win.isActiveWindow)
    qtbot.keyClick(win.pane.widgets["command"], Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier)
    assert json.loads(path.read_text())["nodes"][0]["parms"]["command"] == "echo fixed"
    assert not win.document.dirty


def test_typing_in_the_middle_of_a_field_keeps_the_cursor(qtbot, windows, example):
    win = windows(example)
    win.panel.select("render1")
    field = win.pane.widgets["command"]
    field.setFocus()
    field.setCursorPosition(0)
    qtbot.keyClicks(field, "nice ")
    assert win.document.network.node("render1").parms["command"].startswith("nice ")
    assert field.cursorPosition() == len("nice ")


def test_quit_with_a_typed_edit_asks_first(qtbot, windows, example, monkeypatch):
    win = windows(example)
    win.panel.select("render1")
    type_into(qtbot, win.pane.widgets["command"], "echo unsaved")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *args, **kwargs: asked.append(args) or QMessageBox.StandardButton.Cancel))
    assert "Ctrl+Q" in win.quit_action.shortcut().toString()
    win.quit_action.trigger()
    assert asked and win.isVisible()


@pytest.mark.parametrize("answer, opened", [(QMessageBox.StandardButton.Cancel, False),
                                             (QMessageBox.StandardButton.Discard, True)])
def test_open_recent_with_a_typed_edit_asks_first(qtbot, windows, example, monkeypatch, answer,
                                                  opened):
    other = example.parent / "python_scheduler.top.json"
    win = windows(example)
    win._remember(str(other))
    win.panel.select("render1")
    type_into(qtbot, win.pane.widgets["command"], "echo unsaved")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *args, **kwargs: asked.append(args) or answer))
    recent = next(a for a in win.recent_menu.actions() if a.text() == str(other.resolve()))
    recent.trigger()
    assert asked and "unsaved changes" in asked[0][2]
    assert (Path(win.document.path).resolve() == other.resolve()) is opened
    if not opened:  # the edit is still there
        assert win.document.dirty
        assert win.document.network.node("render1").parms["command"] == "echo unsaved"


def test_reload_types_from_its_menu_says_what_it_did(qtbot, windows, example):
    win = windows(example)
    action = next(a for a in win.findChildren(QAction) if a.text() == "&Reload Types")
    action.trigger()  # an exception in the slot fails the test
    assert win.statusBar().currentMessage().startswith(("Types reloaded", "No type file"))


# -- 7. undo that says what it undoes, and redo -----------------------------------------------
def test_undo_and_redo_name_their_steps(qtbot, windows, example):
    win = windows(example)
    doc = win.document
    assert not win.undo_action.isEnabled() and not win.redo_action.isEnabled()
    win.panel.select("render1")
    win.delete_selected()
    assert win.undo_action.text() == "&Undo Delete render1"
    assert "Ctrl+Shift+Z" in [k.toString() for k in win.redo_action.shortcuts()]
    win.undo_action.trigger()
    assert "render1" in doc.network.node_names()
    assert win.redo_action.isEnabled() and win.redo_action.text() == "&Redo Delete render1"
    win.redo_action.trigger()
    assert "render1" not in doc.network.node_names()
    win.undo_action.trigger()

    win.panel.select("wedge1")
    type_into(qtbot, win.pane.widgets["wedgecount"], "12")
    assert win.undo_action.text() == "&Undo Change Wedge Count of wedge1"
    assert not win.redo_action.isEnabled()  # a new change: nothing to redo
    win.undo_action.trigger()
    assert doc.network.node("wedge1").parms["wedgecount"] == 6
    assert win.pane.widgets["wedgecount"].value() == 6


def test_no_invisible_undo_steps(qtbot, windows, example):
    """Leaving a field at its default, or setting a value it has, is no step."""
    win = windows(example)
    win.panel.select("render1")
    win.document.set_parm("render1", "priority", 0)  # its default, not in the file
    win.document.set_parm("render1", "command", win.document.spec("render1").parms["command"])
    assert not win.undo_action.isEnabled() and not win.document.dirty


# -- 4. File > Open starts the Cook Viewer afresh ---------------------------------------------
def test_opening_another_network_resets_the_cook_viewer(qtbot, windows, example):
    win = windows(example)
    assert cook(qtbot, win).ok
    viewer = win.viewer
    viewer.node_filter.setCurrentIndex(viewer.node_filter.findData("render1"))
    assert len(viewer.model.rows) == 6
    assert win.open_path(str(example.parent / "python_scheduler.top.json"))
    assert viewer.model.rows == [] and viewer.model.node == ""
    assert viewer.node_filter.currentText() == "all nodes" and viewer.node_filter.count() == 1
    assert win.bridge.items == [] and win.bridge.counts == {}
    result = cook(qtbot, win)
    assert len(viewer.model.rows) == len(result.items) > 0


def test_a_new_cook_clears_the_node_filter_it_shows(qtbot, windows, example):
    win = windows(example)
    cook(qtbot, win)
    win.viewer.node_filter.setCurrentIndex(win.viewer.node_filter.findData("render1"))
    cook(qtbot, win)
    assert win.viewer.node_filter.currentText() == "all nodes"
    assert len(win.viewer.model.rows) == 14


# -- 8. Save As adds the extension and keeps the mode -----------------------------------------
def test_save_as_adds_the_extension_and_keeps_the_mode(qtbot, windows, example, monkeypatch):
    win = windows(example)
    typed = example.parent / "shot"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(typed), "")))
    assert win.save_as()
    saved = example.parent / "shot.top.json"
    assert saved.is_file() and not typed.exists()
    assert win.document.path == str(saved)
    os.chmod(saved, 0o644)
    win.document.set_parm("wedge1", "wedgecount", 3)
    assert win.save()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o644


# -- 12. tests and self-tests keep out of the user's settings -----------------------------------
def test_the_settings_are_the_test_runs_own(windows, example):
    win = windows(example)
    assert win.settings.fileName() == os.environ["SCHEDSTUDIO_SETTINGS"]
    assert not Path(win.settings.fileName()).is_relative_to(Path.home())
    run_dir = Path(os.environ["XDG_CONFIG_HOME"]).parent  # Qt's own default, just in case
    assert Path(QSettings("schedstudio", "schedstudio").fileName()).is_relative_to(run_dir)


def test_self_test_and_screenshots_leave_the_users_settings_alone(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("SCHEDSTUDIO_SETTINGS", None)
    done = subprocess.run([sys.executable, "-m", "schedstudio.main", "--self-test"], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "schedstudio.main", "--screenshot",
                           str(tmp_path / "w.png"), str(EXAMPLES / "wedge_summary.top.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list((tmp_path / "config").rglob("*")), "the user's settings were written"


# -- 3. a window that works at 1,024 x 700 and remembers its layout ------------------------------
def test_the_python_scheduler_pane_fits_a_small_window(qtbot, windows, example):
    win = windows(example, size=(1024, 700))
    win.panel.select("pythonscheduler1")
    for index in range(win.pane.tabs.count()):
        win.pane.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        assert win.height() <= 700 and win.width() <= 1024, win.pane.tabs.tabText(index)
    assert win.minimumSizeHint().height() <= 700
    win.resizeDocks([win.viewer_dock], [380], Qt.Orientation.Vertical)
    QApplication.processEvents()
    assert win.viewer_dock.height() >= 350 and win.height() <= 700


def test_the_tabs_need_no_scroll_arrows_at_1024(qtbot, windows, example):
    win = windows(example, size=(1024, 700))
    win.panel.select("pythonscheduler1")
    QApplication.processEvents()
    tabs = win.pane.tabs
    for index in range(tabs.count()):
        button = tabs.button(index)
        corner = button.mapTo(tabs, button.rect().bottomRight())
        assert button.isVisible() and tabs.rect().contains(corner), tabs.tabText(index)


def test_geometry_and_dock_layout_come_back(qtbot, windows, example):
    win = windows(example, size=(790, 650))  # the offscreen screen is 800 x 800
    win.resizeDocks([win.viewer_dock], [420], Qt.Orientation.Vertical)
    win.splitter.setSizes([300, 800])
    QApplication.processEvents()
    height, left = win.viewer_dock.height(), win.splitter.sizes()[0]
    win.close()
    again = windows(example)
    QApplication.processEvents()
    assert (again.width(), again.height()) == (790, 650)
    assert abs(again.viewer_dock.height() - height) <= 8
    assert abs(again.splitter.sizes()[0] - left) <= 8


# -- 10. links open inside the studio; readable details; cancel says so; dark shell -------------
def test_a_log_uri_opens_in_the_studio_when_there_is_no_launcher(qtbot, windows, example,
                                                                monkeypatch):
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    win = windows(example)
    cook(qtbot, win)
    item = next(i for i in win.bridge.items if i.node == "render1")
    win.viewer.open_url(QUrl(item.log_uri))
    viewer = win.log_viewer
    assert viewer.isVisible() and "drew a" in viewer.text.toPlainText()
    assert viewer.follow.isChecked()
    with open(item.log_file, "a") as log:
        log.write("a line written later\n")
    qtbot.waitUntil(lambda: "a line written later" in viewer.text.toPlainText(), timeout=5000)


def test_item_details_are_a_readable_table(qtbot, windows, example):
    win = windows(example)
    cook(qtbot, win)
    item = next(i for i in win.bridge.items if i.node == "render1")
    assert win.viewer.select_item(item.id)
    text = win.viewer.details.toPlainText()
    assert "shape" in text and '{"' not in text
    lines = text.splitlines()
    duration = lines[lines.index("duration") + 1]  # a table: each cell on its own line
    assert duration.endswith(" s") and len(duration.split()[0].split(".")[-1]) <= 2
    assert lines[lines.index("shape") + 1] == item.attribValue("shape")
    assert lines[lines.index("output") + 1] == item.outputFiles[0].path


def test_a_canceled_cook_does_not_read_100_percent(qtbot, windows, tmp_path):
    path = tmp_path / "long.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "long", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 4, "command": "sleep 60"}}]}))
    win = windows(path)
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=60_000):
        assert win.cook()
        qtbot.waitUntil(lambda: win.bridge.counts.get("long", {}).get("Cooking"),
                        timeout=30_000)
        win.cancel_action.trigger()
    assert "canceled" in win.viewer.progress.text()
    assert "100%" not in win.viewer.progress.text()


def test_the_python_shell_is_dark(qtbot, windows, example):
    win = windows(example)
    win.shell.start()
    assert "background-color: #" in win.shell.widget_.styleSheet()
    assert win.shell.widget_.syntax_style in ("monokai", "native", "zenburn", "paraiso-dark")


# -- 11. missing xcb libraries are named before Qt aborts ---------------------------------------
LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def test_missing_xcb_libraries_are_named_with_their_packages(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(studio_main, "_ldd", lambda plugin: LDD)
    message = studio_main.display_problem()
    assert "libxcb-icccm.so.4" in message and "libxcb-keysyms.so.1" in message
    assert "apt install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0" in message
    assert "dnf install xcb-util-wm xcb-util-keysyms xcb-util-cursor" in message
    monkeypatch.setattr(studio_main, "_ldd", lambda plugin: LDD.replace("not found", "/lib/x"))
    assert studio_main.display_problem() is None


def test_the_xcb_plugin_of_this_install_is_checked(monkeypatch):
    """On this machine, with or without the libraries: the start-up check names exactly
    what the dynamic loader cannot find for this install's plugin."""
    plugin = studio_main.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    message = studio_main.display_problem()
    missing = missing_xcb_libraries()
    if missing:
        assert message is not None and all(library in message for library in missing)
    else:
        assert message is None


# -- 6. each cook's logs are its own ---------------------------------------------------------
def test_a_second_cook_shows_its_own_log(qtbot, windows, tmp_path):
    path = tmp_path / "echo.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"command": "echo first cook"}}]}))
    win = windows(path)
    first = cook(qtbot, win).items[0]
    win.document.set_parm("gen", "command", "echo second cook")
    second = cook(qtbot, win).items[0]
    assert second.log_uri != first.log_uri
    assert Path(second.log_file).read_text() == "second cook\n"
    assert Path(first.log_file).read_text() == "first cook\n"  # kept, as it was
    win.viewer.select_item(second.id)
    assert win.viewer.log.toPlainText() == "second cook\n"


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_shows_in_problems_with_its_traceback(qtbot, windows, example):
    from PySide6.QtCore import QTimer

    win = windows(example)
    before = sys.excepthook
    studio_main.show_errors_in_problems()
    try:
        def broken_slot():
            raise TypeError("unsupported operand type(s) for +: 'bool' and 'str'")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: win.problems.count() > 0)
    finally:
        sys.excepthook = before
    entry = win.problems.item(win.problems.count() - 1)
    assert entry.text().startswith("internal error of the studio (please report it): "
                                   "Traceback (most recent call last):")
    assert entry.text().endswith("TypeError: unsupported operand type(s) for +: 'bool' and "
                                 "'str'")
    assert "in broken_slot" in entry.toolTip()
    assert win.statusBar().currentMessage() == "An internal error of the studio: see Problems"


def test_tab_over_the_network_opens_the_menu_whatever_has_the_keys(qtbot, windows, example):
    """As in Houdini, Tab follows the mouse: typed into a field with the mouse over the
    network, it opens the TAB menu (the next field does not get what is typed next); over the
    pane it moves to the next field."""
    from PySide6.QtGui import QCursor

    win = windows(example)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.panel.select("render1")
    field = win.pane.widgets["command"]
    type_into(qtbot, field, "echo typed")
    viewport = win.panel.viewport()
    QCursor.setPos(viewport.mapToGlobal(viewport.rect().center()))
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert win.tab_menu.isVisible() and win.tab_menu.search.hasFocus()
    win.tab_menu.hide()
    QCursor.setPos(field.mapToGlobal(field.rect().center()))  # over the pane: the next field
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert not win.tab_menu.isVisible() and not field.hasFocus()


def test_small_habits(qtbot, windows, example, tmp_path):
    """A long command opens at its start; the TAB menu says when a search finds nothing; the
    Log Viewer closes with Esc and Ctrl+W and opens whole on the screen."""
    from PySide6.QtCore import QUrl

    win = windows(example)
    long = "python render.py " + " ".join(f"--flag{i}" for i in range(40))
    win.document.set_parm("render1", "command", long)
    win.panel.select("render1")
    assert win.pane.widgets["command"].cursorPosition() == 0

    win.open_tab_menu()
    qtbot.keyClicks(win.tab_menu.search, "pysched")
    assert win.tab_menu.entries() == {}
    assert win.tab_menu.status.text() == "No node or scheduler type matches \u201cpysched\u201d"
    win.tab_menu.search.clear()
    assert win.tab_menu.status.text().endswith("scheduler types")
    win.tab_menu.hide()

    log = tmp_path / "a.log"
    log.write_text("a line\n")
    for keys in ((Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                 (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)):
        win.show_inside(QUrl.fromLocalFile(str(log)))
        viewer = win.log_viewer
        qtbot.waitUntil(viewer.isVisible)
        area = viewer.screen().availableGeometry()
        assert area.contains(viewer.frameGeometry())
        qtbot.keyClick(viewer.text, keys[0], keys[1])
        qtbot.waitUntil(lambda viewer=viewer: not viewer.isVisible())
