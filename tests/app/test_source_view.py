"""A scheduler file fixed where it failed: a file that failed to load opens at its line from
the Problems panel or the TAB menu, is edited and saved there, and its type is in use at once;
unsaved edits are never lost without asking."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from schedcore import registry
from schedstudio.document import Document
from schedstudio.window import MainWindow

GOOD = ("from schedcore.schedulers import Scheduler\n\n\n"
        "class Fixed(Scheduler):\n    type_name = 'fixedhere'\n\n\n"
        "def registerTypes(type_registry):\n"
        "    type_registry.registerScheduler(Fixed, label='Fixed Here')\n")
BROKEN = GOOD.replace("class Fixed(Scheduler):", "class Fixed(Scheduler)")  # line 4
Button = QMessageBox.StandardButton


@pytest.fixture
def module(tmp_path):
    folder = registry.user_types_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fixedhere.py"
    path.write_text(BROKEN)
    registry.default().reload()
    yield path
    path.unlink(missing_ok=True)
    registry.default().reload()


@pytest.fixture
def window(qtbot, tmp_path, module):
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [], "parms": {"command": "true"}}]}))
    win = MainWindow(Document.open(path))
    win.show()
    qtbot.waitExposed(win)
    yield win
    if win.source_view is not None:
        win.source_view.editor.document().setModified(False)
        win.source_view.close()
    win.document.dirty = False
    win.close()
    win.deleteLater()


def answer(monkeypatch, button, asked: list | None = None):
    def question(_parent, title, text, *_args):
        if asked is not None:
            asked.append((title, text))
        return button
    monkeypatch.setattr(QMessageBox, "question", question)


def test_a_file_that_failed_to_load_is_fixed_and_saved_where_it_failed(qtbot, window, module):
    assert "fixedhere" not in registry.scheduler_types()
    with qtbot.waitSignal(window.bridge.cookFinished, timeout=60_000):
        assert window.cook()
    problems = [window.problems.item(n) for n in range(window.problems.count())]
    failed = next(p for p in problems if p.text().startswith("load error"))
    assert f"{module}:4: syntax error" in failed.text()
    window.problems.itemActivated.emit(failed)
    view = window.source_view
    assert view.isVisible() and view.windowTitle() == "fixedhere.py:4"
    assert view.where.text().startswith(f"{module}, line 4: syntax error: ")  # and Python's why
    assert view.editor.textCursor().blockNumber() == 3
    assert view.editor.error == (4, "")  # the failed line marked
    assert not view.save_button.isEnabled()

    view.editor.moveCursor(view.editor.textCursor().MoveOperation.EndOfBlock)
    qtbot.keyClicks(view.editor, ":")
    assert view.modified and view.windowTitle() == "fixedhere.py:4 *"
    assert view.save_button.isEnabled()
    view.editor.run_check()  # (after a pause in typing) Python's own check now: it compiles
    assert view.editor.error is None
    qtbot.waitUntil(view.isActiveWindow)  # the window typed in: its Ctrl+S
    qtbot.keyClick(view.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert module.read_text() == GOOD, (module.read_text(), view.editor.toPlainText())
    assert not view.modified and view.windowTitle() == "fixedhere.py:4"
    view.editor.run_check()  # (as after a pause) the fixed line is no longer marked
    assert view.editor.error is None and not view.editor.extraSelections()
    assert registry.scheduler_types()["fixedhere"].__name__ == "Fixed"  # in use at once
    assert not registry.default().failures
    assert not any(window.problems.item(n).text().startswith("load error")  # fixed: gone
                   for n in range(window.problems.count()))
    assert window.statusBar().currentMessage() == "Saved fixedhere.py. Types reloaded"
    assert not window.document.dirty  # Ctrl+S there saved the file, not the network


def test_the_tab_menu_opens_a_failed_file_at_its_line(qtbot, window, module):
    window.open_tab_menu()
    menu = window.tab_menu
    broken = menu.tree.topLevelItem(menu.tree.topLevelItemCount() - 1)
    assert broken.text(0) == "Failed to load (1)"
    menu.tree.itemClicked.emit(broken.child(0), 0)
    assert not menu.isVisible()
    assert window.source_view.isVisible() and window.source_view.path == str(module)
    assert window.source_view.editor.textCursor().blockNumber() == 3
    assert window.source_view.where.text().startswith(f"{module}, line 4: syntax error: ")


def test_a_syntax_error_typed_is_marked_at_its_line(qtbot, window, module):
    module.write_text(GOOD)
    window.go_to(("file", str(module), 2))
    view = window.source_view
    assert view.editor.error == (2, "")  # where it was opened, until edited
    qtbot.keyClicks(view.editor, "x = 1 +")  # on the empty line 2
    view.editor.run_check()
    assert view.editor.error is not None and view.editor.error[0] == 2
    assert view.editor.error[1]  # Python's own words


def test_unsaved_edits_are_asked_about_and_kept_on_cancel(qtbot, window, module, monkeypatch,
                                                          tmp_path):
    window.go_to(("file", str(module), 4))
    view = window.source_view
    qtbot.keyClicks(view.editor, "# edited ")
    asked = []
    answer(monkeypatch, Button.Cancel, asked)
    assert not view.close() and view.isVisible()
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    assert not view.show_line(str(other), 1)  # another file would drop the edits: kept
    assert view.path == str(module) and view.modified
    window.close()  # the studio quitting asks too, and stays
    assert window.isVisible() and view.isVisible()
    assert [title for title, _text in asked] == ["Unsaved changes"] * 3
    assert "fixedhere.py has unsaved changes" in asked[0][1]
    assert module.read_text() == BROKEN

    answer(monkeypatch, Button.Discard)
    assert view.show_line(str(other), 1) and view.editor.toPlainText() == "x = 1\n"
    assert module.read_text() == BROKEN  # discarded, not written


def test_a_file_changed_on_disk_is_not_overwritten_without_asking(qtbot, window, module,
                                                                   monkeypatch):
    window.go_to(("file", str(module), 4))
    view = window.source_view
    qtbot.keyClicks(view.editor, "# mine ")
    module.write_text("# theirs\n" + BROKEN)  # another editor saved meanwhile
    asked = []
    answer(monkeypatch, Button.Cancel, asked)
    assert not view.save()
    assert asked[0][0] == "Changed on disk" and module.read_text().startswith("# theirs")
    answer(monkeypatch, Button.Save)
    assert view.save() and module.read_text() == view.editor.toPlainText()
    assert "# mine" in module.read_text() and "# theirs" not in module.read_text()


def test_a_file_that_is_not_utf8_is_shown_read_only(qtbot, window, module):
    module.write_bytes(b"# caf\xe9\n" + GOOD.encode())
    window.go_to(("file", str(module), 1, "why"))
    view = window.source_view
    assert view.editor.isReadOnly() and view.where.text().endswith(
        "line 1: why (not UTF-8 text: shown read-only)")
    assert not view.save() and module.read_bytes().startswith(b"# caf\xe9\n")
