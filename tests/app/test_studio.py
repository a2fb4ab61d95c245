"""The studio's window, driven offscreen as a person would drive it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from schedcore import network as network_file
from schedcore import registry
from schedcore.schedulers.python import GROUPS
from schedstudio.document import Document
from schedstudio.window import MainWindow

from ..conftest import EXAMPLES


@pytest.fixture
def window(qtbot, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = MainWindow(Document.open(tmp_path / "ex" / "wedge_summary.top.json"))
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.document.dirty = False  # no unsaved-changes prompt while the test closes it
    win.tab_menu.hide()
    win.close()
    win.deleteLater()


def click_node(qtbot, win: MainWindow, name: str) -> None:
    panel = win.panel
    item = panel.items[name]
    point = panel.mapFromScene(item.scenePos() + QPointF(40, 20))
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert win.pane.node == name


def replace_text(qtbot, editor, text: str) -> None:
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)


def test_python_scheduler_pane_save_to_python_and_the_tab_menu(qtbot, window, monkeypatch):
    click_node(qtbot, window, "localscheduler1")
    click_node(qtbot, window, "pythonscheduler1")
    pane = window.pane
    assert pane.widgets["savetopython"].text() == "Save To Python"
    assert [pane.tabs.tabText(i) for i in range(pane.tabs.count())] == GROUPS + [
        "Settings", "Spare Parameters (0)"]
    assert pane.working_dir_label.text() == str(Path(window.document.path).parent)
    assert pane.editors["onSchedule"].signature.text() == "def onSchedule(self, work_item):"

    editor = pane.editors["onSchedule"].editor
    replace_text(qtbot, editor, "# typed in the studio")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "return pdg.scheduleResult.CookSucceeded")
    assert window.document.spec("pythonscheduler1").parms["onSchedule"] == (
        "# typed in the studio\nreturn pdg.scheduleResult.CookSucceeded")
    assert window.windowTitle().startswith("wedge_summary.top.json *")

    target = registry.user_types_folder() / "typedinstudio.py"
    window.document.network.scheduler("pythonscheduler1")  # still the node to save
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    qtbot.mouseClick(pane.widgets["savetopython"], Qt.MouseButton.LeftButton)
    try:
        text = target.read_text()
        assert "class Pythonscheduler1(Scheduler):" in text
        assert ("    def onSchedule(self, work_item):\n        # typed in the studio\n"
                "        return pdg.scheduleResult.CookSucceeded\n") in text

        window.panel.setFocus()
        qtbot.keyClick(window.panel, Qt.Key.Key_Tab)
        menu = window.tab_menu
        assert menu.isVisible()
        entries = menu.entries()
        assert entries["pythonscheduler1"] == "Schedulers"
        assert entries["localscheduler"] == "Schedulers" and entries["wedge"] == "TOP Nodes"
        qtbot.keyClicks(menu.search, "Pythonscheduler1")
        assert list(menu.entries()) == ["pythonscheduler1"]
        qtbot.keyClick(menu.search, Qt.Key.Key_Return)
        assert not menu.isVisible()
        created = window.panel.selected()
        assert window.document.spec(created).type == "pythonscheduler1"
        assert created in window.panel.items
    finally:
        target.unlink()
        registry.default().reload()


def test_save_to_python_adds_the_extension_and_says_only_what_loaded(qtbot, window,
                                                                     monkeypatch):
    """A name typed without .py still makes a module the Scheduler Factory loads; the status
    bar says what the registry found in it."""
    target = registry.user_types_folder() / "noextension"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    try:
        window.save_to_python("pythonscheduler1")
        saved = target.with_suffix(".py")
        assert saved.is_file() and not target.exists()
        assert window.statusBar().currentMessage() == (
            f"Saved {saved}: the scheduler type 'pythonscheduler1' is in the TAB menu")
        assert "pythonscheduler1" in registry.scheduler_types()
    finally:
        target.with_suffix(".py").unlink(missing_ok=True)
        registry.default().reload()


def test_code_editor_keys_and_live_syntax_check(qtbot, window):
    click_node(qtbot, window, "pythonscheduler1")
    field = window.pane.editors["onTick"]
    editor = field.editor
    replace_text(qtbot, editor, "if True:")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # auto-indent after a colon
    qtbot.keyClick(editor, Qt.Key.Key_Tab)     # Tab is four spaces
    qtbot.keyClicks(editor, "x = (")
    assert editor.toPlainText() == "if True:\n        x = ("
    qtbot.waitUntil(lambda: editor.error is not None)
    assert editor.error == (2, "'(' was never closed")
    assert "line 2" in field.message.text()
    # above the body, in view however tall the field is
    field.resize(500, 2000)
    field.layout().activate()
    assert field.message.geometry().bottom() < field.editor.geometry().top()
    field.message.linkActivated.emit("1")  # the message's link jumps to the line
    assert editor.textCursor().blockNumber() == 0
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(editor, "1)")
    qtbot.waitUntil(lambda: editor.error is None)
    assert field.message.text() == ""
    typed = editor.toPlainText()
    assert typed == "if True:\n        x = (1)"
    editor.undo()
    assert editor.toPlainText() != typed
    editor.redo()
    assert editor.toPlainText() == typed


def test_a_field_that_does_not_compile_refuses_save_to_python(qtbot, window, monkeypatch,
                                                               tmp_path):
    click_node(qtbot, window, "pythonscheduler1")
    window.pane.editors["getLogURI"].editor.setPlainText("# mine\nreturn (\n")
    target = tmp_path / "old.py"
    target.write_text("# the old module\n")
    warnings = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda parent, title, text: warnings.append(text)))
    qtbot.mouseClick(window.pane.widgets["savetopython"], Qt.MouseButton.LeftButton)
    assert "getLogURI, line 2: '(' was never closed" in warnings[0]
    assert target.read_text() == "# the old module\n"
    assert window.pane.tabs.tabText(window.pane.tabs.currentIndex()) == "Logging"
    editor = window.pane.editors["getLogURI"].editor
    assert editor.textCursor().blockNumber() == 1


def test_top_node_pane_edits_the_network(qtbot, window):
    click_node(qtbot, window, "wedge1")
    count = window.pane.widgets["wedgecount"]
    count.setValue(9)
    assert window.document.spec("wedge1").parms["wedgecount"] == 9
    assert window.document.dirty
    choice = window.pane.widgets["scheduler"]
    choice.setCurrentIndex(choice.findData("pythonscheduler1"))
    assert window.document.network.node("wedge1").scheduler == "pythonscheduler1"
    assert "wedge · pythonscheduler1" in window.panel.items["wedge1"].subtitle
    window.save()
    assert not window.document.dirty
    saved = Document.open(window.document.path)
    assert saved.spec("wedge1").parms["wedgecount"] == 9


def test_delete_nodes_and_undo(qtbot, window):
    net = window.document.network
    click_node(qtbot, window, "collect1")
    qtbot.keyClick(window.panel, Qt.Key.Key_Delete)
    assert "collect1" not in window.panel.items and window.pane.node == ""
    assert net.node("summary1").inputs == ["render1"]  # reconnected past the deleted node
    assert window.windowTitle().startswith("wedge_summary.top.json *")

    click_node(qtbot, window, "pythonscheduler1")
    qtbot.keyClick(window.panel, Qt.Key.Key_Delete)
    assert net.node("summary1").scheduler is None  # back on the default scheduler
    assert "summary1" in window.panel.items and "pythonscheduler1" not in window.panel.items

    click_node(qtbot, window, "wedge1")
    window.pane.widgets["wedgecount"].setValue(7)
    window.pane.widgets["wedgecount"].setValue(8)  # one run of edits: one step back
    click_node(qtbot, window, "render1")
    assert "priority" not in net.node("render1").parms
    window.pane.widgets["priority"].setValue(5)
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert "priority" not in net.node("render1").parms
    assert window.pane.widgets["priority"].value() == 0  # the default, shown again
    window.undo_action.trigger()
    assert net.node("wedge1").parms["wedgecount"] == 6
    click_node(qtbot, window, "wedge1")
    assert window.pane.widgets["wedgecount"].value() == 6
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert net.node("summary1").scheduler == "pythonscheduler1"
    assert net.node("summary1").inputs == ["collect1"]
    assert net.node("collect1").inputs == ["render1"]
    assert set(window.panel.items) >= {"collect1", "pythonscheduler1"}
    assert not window.undo_action.isEnabled()


def drag(panel, start: QPointF, end: QPointF) -> None:
    """A left-button drag in the network panel between two scene points, as the mouse does."""
    viewport = panel.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    steps = [(QEvent.Type.MouseButtonPress, start, left, left)]
    steps += [(QEvent.Type.MouseMove, start + (end - start) * f, none, left)
              for f in (0.25, 0.5, 0.75, 1.0)]
    steps.append((QEvent.Type.MouseButtonRelease, end, left, none))
    for kind, point, button, buttons in steps:
        local = QPointF(panel.mapFromScene(point))
        QApplication.sendEvent(viewport, QMouseEvent(
            kind, local, QPointF(viewport.mapToGlobal(local)), button, buttons,
            Qt.KeyboardModifier.NoModifier))


def test_dragging_several_selected_nodes_moves_them_all_in_one_undo(qtbot, window):
    panel, net, doc = window.panel, window.document.network, window.document
    panel.scene().clearSelection()
    starts = {}
    for name in ("wedge1", "render1"):
        panel.items[name].setSelected(True)
        starts[name] = panel.items[name].pos()
    grab = starts["wedge1"] + QPointF(60, 20)
    drag(panel, grab, grab + QPointF(300, 40))
    for name, start in starts.items():
        assert net.node(name).position == [start.x() + 300, start.y() + 40]
    assert doc.undo_text() == "Move wedge1, render1"
    window.undo_action.trigger()
    assert net.node("wedge1").position is None and net.node("render1").position is None


def test_move_connect_and_disconnect_nodes_by_dragging(qtbot, window):
    panel, net = window.panel, window.document.network
    wedge = panel.items["wedge1"]
    start = wedge.pos()
    drag(panel, start + QPointF(60, 20), start + QPointF(60 + 520, 20 + 30))
    assert net.node("wedge1").position == [start.x() + 520, start.y() + 30]
    assert wedge.edges[0].path().elementAt(0).x == wedge.port().x()  # the wire followed
    assert window.document.dirty

    summary = panel.items["summary1"]
    drag(panel, wedge.port(), summary.pos() + QPointF(50, 20))
    assert net.node("summary1").inputs == ["collect1", "wedge1"]
    drag(panel, panel.items["summary1"].port(), panel.items["wedge1"].pos() + QPointF(50, 20))
    assert net.node("wedge1").inputs == []  # a loop is refused, and said why
    assert "would make a loop" in window.statusBar().currentMessage()

    edge = next(e for e in panel.items["summary1"].edges if e.source.name == "wedge1")
    point = panel.mapFromScene(edge.path().pointAtPercent(0.5))
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert panel.selected_edge() is not None
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert net.node("summary1").inputs == ["collect1"]
    assert "summary1" in panel.items  # the connection went, not the node
    window.undo_action.trigger()
    assert net.node("summary1").inputs == ["collect1", "wedge1"]

    window.save()
    reopened = Document.open(window.document.path)
    assert reopened.network.node("wedge1").position == [start.x() + 520, start.y() + 30]
    window.set_document(reopened)
    assert window.panel.items["wedge1"].pos() == start + QPointF(520, 30)


def test_changes_made_elsewhere_show_in_the_pane(qtbot, window):
    click_node(qtbot, window, "pythonscheduler1")
    window.document.set_parm("pythonscheduler1", "onTick", "return pdg.tickResult.SchedulerBusy")
    assert window.pane.editors["onTick"].editor.toPlainText() == \
        "return pdg.tickResult.SchedulerBusy"
    window.document.set_parm("pythonscheduler1", "pdg_workingdir", "/tmp/elsewhere")
    assert window.pane.widgets["pdg_workingdir"].text() == "/tmp/elsewhere"
    assert window.pane.working_dir_label.text() == "/tmp/elsewhere"


def test_a_working_dir_typed_after_another_scheduler_was_shown(qtbot, window):
    """The Python Scheduler's pane shows its working dir expanded; once another node is shown,
    that label is gone and typing the Local Scheduler's working dir must not reach it."""
    click_node(qtbot, window, "pythonscheduler1")
    assert window.pane.working_dir_label is not None
    click_node(qtbot, window, "localscheduler1")
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the old pane is gone
    field = window.pane.widgets["pdg_workingdir"]
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "/tmp/x")  # an exception in a slot fails the test
    assert window.document.spec("localscheduler1").parms["pdg_workingdir"] == "/tmp/x"


def test_reload_types_lists_new_and_broken_files(qtbot, window):
    folder = registry.user_types_folder()
    folder.mkdir(parents=True, exist_ok=True)
    good, broken = folder / "studiofresh.py", folder / "studiobroken.py"
    good.write_text("from schedcore.schedulers import Scheduler\n\n\n"
                    "class Fresh(Scheduler):\n    type_name = 'studiofresh'\n\n\n"
                    "def registerTypes(type_registry):\n"
                    "    type_registry.registerScheduler(Fresh, label='Fresh')\n")
    broken.write_text("x = 1\nimport not_a_module_anywhere\n")
    try:
        window.open_tab_menu()
        qtbot.mouseClick(window.tab_menu.reload_button, Qt.MouseButton.LeftButton)
        assert window.tab_menu.entries()["studiofresh"] == "Schedulers"
        texts = [window.tab_menu.tree.topLevelItem(i).text(0)
                 for i in range(window.tab_menu.tree.topLevelItemCount())]
        assert texts[-1].startswith("Failed to load")
        failed = window.tab_menu.tree.topLevelItem(len(texts) - 1)
        lines = [failed.child(i).text(0) for i in range(failed.childCount())]
        assert f"{broken}:2: import error: ModuleNotFoundError" in " ".join(lines)
    finally:
        good.unlink()
        broken.unlink()
        registry.default().reload()
        window.tab_menu.hide()


def test_open_a_malformed_network_explains_it(qtbot, window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.top.json"
    bad.write_text('{"format": "schedcore-network", "nodes": [{"name": "a", '
                   '"type": "genericgenerator", "inputs": ["nope"]}]}')
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda parent, title, text: warnings.append(text)))
    assert window.open_path(str(bad)) is False
    assert "nodes[0].inputs[0]: no node named 'nope'" in warnings[0]
    assert window.open_path(str(EXAMPLES / "python_scheduler.top.json"))
    assert window.recent_files()[0] == str(EXAMPLES / "python_scheduler.top.json")


def test_unsaved_changes_are_asked_about_on_close(qtbot, window, monkeypatch):
    window.document.set_parm("wedge1", "wedgecount", 2)
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *args, **kwargs: answers.pop(0)))
    window.close()
    assert window.isVisible()  # canceled
    window.close()
    assert not window.isVisible()


def test_twenty_thousand_signals():
    class Emitter(QObject):
        fired = Signal(int)

    emitter, seen = Emitter(), []
    emitter.fired.connect(seen.append)
    for n in range(20_000):
        emitter.fired.emit(n)
    assert len(seen) == 20_000 and seen[-1] == 19_999


def studio(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "schedstudio.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_screenshot_from_the_command_line_needs_no_display(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    png = tmp_path / "window.png"
    done = studio("--screenshot", str(png), str(EXAMPLES / "wedge_summary.top.json"), env=env)
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_no_display_is_explained():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = studio(env=env, timeout=60)
    assert done.returncode == 2
    assert "there is no display" in done.stderr
    assert "xvfb-run" in done.stderr and "schedcore cook" in done.stderr


def test_self_test_of_the_install(tmp_path):
    done = studio("--self-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok   ") == 3 and "self-test passed" in done.stdout


def add_spare_by_dialog(qtbot, window, name, kind, label="", menu=""):
    from schedstudio.parms.pane import SpareParmDialog
    qtbot.mouseClick(window.pane.widgets["addspare"], Qt.MouseButton.LeftButton)
    dialog, = [d for d in window.pane.findChildren(SpareParmDialog) if d.isVisible()]
    dialog.name.setText(name)
    dialog.label.setText(label)
    dialog.kind.setCurrentText(kind)
    dialog.menu.setText(menu)
    dialog.accept()
    return dialog


def test_spare_parameters_are_added_edited_removed_undone_and_saved(qtbot, window,
                                                                    monkeypatch, tmp_path):
    click_node(qtbot, window, "localscheduler1")
    doc, pane = window.document, window.pane
    dialog = add_spare_by_dialog(qtbot, window, "rush_title", "string", "Rush Title")
    assert not dialog.isVisible() and doc.spare_names("localscheduler1") == ["rush_title"]
    dialog = add_spare_by_dialog(qtbot, window, "maxprocs", "int")  # the type's own
    assert dialog.isVisible() and "has a parameter named 'maxprocs' already" in \
        dialog.error.text()
    dialog.name.setText("2x")
    dialog.accept()
    assert "name: expected a name of letters" in dialog.error.text()
    dialog.reject()
    add_spare_by_dialog(qtbot, window, "rush_queue", "menu", "Queue", "low, high")

    edit = pane.widgets["rush_title"]
    edit.setText("$HIP/shot")
    edit.editingFinished.emit()
    pane.widgets["rush_queue"].setCurrentText("high")
    spec = doc.network.scheduler("localscheduler1")
    assert spec.parms["rush_title"] == "$HIP/shot" and spec.parms["rush_queue"] == "high"
    instance = registry.scheduler_types()["localscheduler"].create(
        spec.name, spec.values(), doc.network.hip)
    assert instance["rush_title"].evaluateString() == f"{doc.network.hip}/shot"
    shell = window._scheduler_instance("localscheduler1")  # the Python Shell's `scheduler`
    assert shell["rush_title"].evaluateString() == f"{doc.network.hip}/shot"

    qtbot.mouseClick(pane.widgets["remove:rush_queue"], Qt.MouseButton.LeftButton)
    assert doc.spare_names("localscheduler1") == ["rush_title"]
    assert "rush_queue" not in pane.widgets and "rush_queue" not in spec.parms
    assert doc.undo()  # the removal
    assert doc.spare_names("localscheduler1") == ["rush_title", "rush_queue"]
    assert pane.widgets["rush_queue"].currentText() == "high"
    assert doc.undo()  # the menu choice
    assert pane.widgets["rush_queue"].currentText() == "low"
    assert doc.undo()  # the title's value
    assert pane.widgets["rush_title"].text() == ""

    doc.save(tmp_path / "spare.top.json")
    saved = network_file.load(tmp_path / "spare.top.json").scheduler("localscheduler1")
    assert [t.name for t in saved.spare_parms] == ["rush_title", "rush_queue"]
    assert saved.to_json()["spare_parms"][1] == {"name": "rush_queue", "type": "menu",
                                                 "label": "Queue", "value": "low",
                                                 "menu": ["low", "high"]}
    shot = os.environ.get("SCHEDSTUDIO_SPARE_SHOT")
    if shot:  # how the README's picture is made
        add_spare_by_dialog(qtbot, window, "rush_cpus", "int", "CPUs")
        pane.widgets["rush_title"].setText("$HIP/shot_010")
        pane.widgets["rush_title"].editingFinished.emit()
        window.resize(1200, 720)
        qtbot.wait(200)  # the rebuilt pane laid out
        window.grab().save(shot)


def test_save_to_python_offers_both_forms_and_keeps_spare_parameters(qtbot, window,
                                                                     monkeypatch, tmp_path):
    click_node(qtbot, window, "pythonscheduler1")
    add_spare_by_dialog(qtbot, window, "rush_title", "string", "Rush Title")
    assert window.pane.tabs.tabText(window.pane.tabs.count() - 1) == "Spare Parameters (1)"
    asked = []

    def choose(parent, title, start, filters, *rest):
        asked.append(filters.split(";;"))
        return str(tmp_path / "houdini_form.py"), asked[0][1]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    monkeypatch.setattr(registry, "register_file", lambda path: None)
    qtbot.mouseClick(window.pane.widgets["savetopython"], Qt.MouseButton.LeftButton)
    assert asked[0][0].startswith("Scheduler module for schedcore")  # the default
    text = (tmp_path / "houdini_form.py").read_text()
    assert "class Pythonscheduler1(CallbackServerMixin, PyScheduler):" in text
    assert '"name": "rush_title",' in text


def test_help_about_names_the_version_and_the_window_has_its_icon(qtbot, window):
    import schedcore
    from schedstudio import about
    titles = [a.text() for menu in window.menuBar().actions() for a in menu.menu().actions()]
    assert "&About schedstudio" in titles
    box = about.show_about(window)
    assert f"schedstudio {schedcore.__version__}" in box.text() and "LGPL" in box.text()
    assert not box.iconPixmap().isNull() and not window.windowIcon().isNull()
    box.close()


def test_file_new_opens_an_empty_network_on_the_local_scheduler(qtbot, window):
    window.new_network()
    network = window.document.network
    assert network.path == "" and network.nodes == []
    assert [s.type for s in network.schedulers] == ["localscheduler"]
    assert window.windowTitle().startswith("untitled")


def test_no_argument_opens_the_users_own_copy_of_the_example(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    png = tmp_path / "window.png"
    done = studio("--screenshot", str(png), env=env)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "data" / "schedstudio" / "examples"
    assert (copy / "wedge_summary.top.json").is_file()
    assert (copy / "scripts" / "render_shape.py").is_file()


def test_ctrl_s_on_the_installed_example_says_why_it_asks_where(qtbot, monkeypatch, tmp_path):
    from schedstudio.document import EXAMPLE
    win = MainWindow(Document.open(EXAMPLE))
    win.show()
    qtbot.waitExposed(win)
    asked = []

    def choose(parent, title, start, filters, *rest):
        asked.append((title, start, win.statusBar().currentMessage()))
        return str(tmp_path / "mine"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    win.document.set_parm("wedge1", "wedgecount", 3)
    before = EXAMPLE.read_bytes()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.panel.setFocus()
    qtbot.keyClick(win.panel, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    title, start, said = asked[0]
    assert "is not changed: save your copy of it" in title and said in title
    assert Path(start).parent == Path.home()  # not the installation's folder
    assert EXAMPLE.read_bytes() == before
    assert (tmp_path / "mine.top.json").is_file() and not win.document.dirty
    assert win.statusBar().currentMessage().startswith("Saved ")
    win.close()


def test_changing_the_selection_twice_at_once_opens_no_stray_window(qtbot, window):
    """Clearing the selection and selecting a node in one pass of the event loop (as a
    click on another node, or F2, does) left the pane's hint as a window of its own, which
    took the activation from the studio (and the focus from what was being typed in)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for name in ("render1", "wedge1", "pythonscheduler1"):
        window.panel.select(name)  # clears the selection (no node), then selects
        QApplication.processEvents()
        assert window.pane.node == name
    stray = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window
             and not w.windowType() & Qt.WindowType.Popup]
    assert stray == [] and window.isActiveWindow()


def test_going_to_a_field_of_the_node_shown_keeps_its_editor_and_undo(qtbot, window):
    click_node(qtbot, window, "pythonscheduler1")
    editor = window.pane.editors["onTick"].editor
    replace_text(qtbot, editor, "x = 1")
    window.go_to(("field", "pythonscheduler1", "onTick", 1))  # a problem activated
    assert window.pane.editors["onTick"].editor is editor
    assert editor.document().isUndoAvailable()
