"""Types > Check Scheduler: the kit runs in the background on the selected scheduler node and
its findings fill the Scheduler Check panel; a failure in a callback field leads to its line."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtWidgets import QApplication

from schedstudio.document import Document
from schedstudio.window import MainWindow

# a Houdini-style slip: Limit Jobs is 0 ("the CPUs") unless set
BROKEN_TICK = ("self.pollJobs()\n"
               "load = len(self.jobs) / self['pdg_maxtasks'].evaluateInt()\n"
               "return pdg.tickResult.SchedulerReady\n")


@pytest.fixture
def window(qtbot, tmp_path):
    path = tmp_path / "farm.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1, "default_scheduler": "farm",
        "schedulers": [{"name": "farm", "type": "pythonscheduler",
                        "parms": {"onTick": BROKEN_TICK, "pdg_tickperiod": 0.1}}],
        "nodes": [{"name": "render", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 3, "command": "echo frame @pdg_index"}}]}))
    win = MainWindow(Document.open(path))
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.check_panel.stop(wait=120)
    win.document.dirty = False
    win.close()
    win.deleteLater()


def test_a_failed_check_lists_every_scenario_and_leads_to_the_line(qtbot, window):
    window.panel.select("farm")
    panel = window.check_panel
    assert window.check_scheduler()
    assert panel.worker.running  # the check runs on its thread: the window answers meanwhile
    assert panel.rows["commands"].text(0) in ("waiting", "running")
    QApplication.processEvents()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=300_000)
    assert not panel.report.ok
    row = panel.rows["commands"]
    assert row.text(0) == "failed"
    assert row.text(4) == "onTick raised ZeroDivisionError: division by zero"
    assert row.text(3) == "onTick, line 2 of the field"
    assert "does not conform" in panel.header.text()
    window.pane.show_node("render")
    panel.tree.itemActivated.emit(row, 0)
    assert window.pane.node == "farm"
    assert window.pane.editors["onTick"].editor.textCursor().blockNumber() == 1  # line 2
    shot = os.environ.get("SCHEDSTUDIO_CHECK_SHOT")
    if shot:  # how the README's picture is made
        window.resize(1280, 860)
        window.check_dock.raise_()
        qtbot.wait(300)
        window.grab().save(shot)


def test_check_scheduler_asks_for_a_scheduler_node(qtbot, window):
    window.panel.select("render")
    assert not window.check_scheduler()
    assert window.statusBar().currentMessage() == "Select a scheduler node to check"
    assert not window.check_panel.worker.running


def test_a_failure_in_a_module_file_shows_the_file_at_its_line(qtbot, window, tmp_path):
    from schedcore.check.probe import Where
    from schedcore.check.report import FAILED, ScenarioResult
    from schedstudio.check.panel import target_of

    module = tmp_path / "my_farm.py"
    module.write_text("import os\n\n\ndef onTick(self):\n    return 1 / 0\n")
    result = ScenarioResult("commands", "jobs end once", FAILED,
                            "onTick raised ZeroDivisionError: division by zero",
                            Where("onTick", str(module), 5))
    assert target_of(result) == ("file", str(module), 5,
                                 "onTick raised ZeroDivisionError: division by zero")
    window.go_to(target_of(result))
    view = window.source_view
    assert view.isVisible() and not view.editor.isReadOnly()  # to be fixed there
    assert view.editor.textCursor().blockNumber() == 4  # line 5
    assert view.editor.toPlainText() == module.read_text()
    assert view.windowTitle() == "my_farm.py:5"
    assert view.where.text() == (f"{module}, line 5: onTick raised ZeroDivisionError: "
                                 f"division by zero")
    assert not view.show_line(str(tmp_path / "gone.py"), 3)  # a file since removed: said so
    assert "gone.py: No such file or directory" in view.where.text()
    view.close()
