"""Cooking from the studio: the cook viewer fed by the engine's events, the Problems panel and
the Python Shell on the live objects."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from schedcore import network as network_file
from schedcore.engine import Engine
from schedstudio.cookview.model import COLUMNS
from schedstudio.cookview.nodes import BLOCKS
from schedstudio.document import Document
from schedstudio.window import MainWindow

from ..conftest import EXAMPLES


def open_window(qtbot, path) -> MainWindow:
    win = MainWindow(Document.open(path))
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def windows(qtbot):
    opened = []

    def make(path):
        opened.append(open_window(qtbot, path))
        return opened[-1]

    yield make
    for win in opened:
        win.document.dirty = False
        win.close()
        win.deleteLater()


def cook(qtbot, win, upto=None, timeout=90_000):
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=timeout) as finished:
        assert win.cook(upto)
    return finished.args[0]


def failing_network(tmp_path):
    path = tmp_path / "fails.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}},
                       {"name": "mine", "type": "pythonscheduler", "parms": {
                           "onSchedule": "# mine\nname = work_item.name\n"
                                         "raise ValueError('no farm for ' + name)\n"}}],
        "nodes": [
            {"name": "gen", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": 3, "command": "sh -c 'echo boom @pdg_index; "
                                                  "exit @pdg_index'"}},
            {"name": "after", "type": "genericgenerator", "inputs": ["gen"],
             "parms": {"command": "echo after"}},
            {"name": "other", "type": "genericgenerator", "inputs": [], "scheduler": "mine",
             "parms": {"command": "echo never"}}]}))
    return path


def test_cooking_the_example_fills_the_viewer(qtbot, windows, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    result = cook(qtbot, win)
    assert result.ok
    rows = win.viewer.model.rows
    assert len(rows) == 14 and {i.state.name for i in rows} == {"CookedSuccess"}
    assert "every item cooked" in win.viewer.summary.text()
    assert win.viewer.progress.value() == win.viewer.progress.maximum() == 14
    assert win.bridge.counts["render1"] == {"CookedSuccess": 6}
    assert win.panel.items["render1"].painter_extra is not None
    assert win.cook_action.isEnabled() and not win.cancel_action.isEnabled()

    win.viewer.state_filter.setCurrentIndex(win.viewer.state_filter.findData("CookedSuccess"))
    win.viewer.node_filter.setCurrentIndex(win.viewer.node_filter.findData("render1"))
    assert [i.node for i in win.viewer.model.rows] == ["render1"] * 6
    win.viewer.text_filter.setText("triangle")
    assert [i.attribValue("shape") for i in win.viewer.model.rows] == ["triangle"] * 2
    win.viewer.select_item(win.viewer.model.rows[0].id)
    assert "drew a triangle" in win.viewer.log.toPlainText()
    assert "CookedSuccess" in win.viewer.details.toPlainText()
    # where each job ran: its pid here, and this machine
    model, row = win.viewer.model, win.viewer.model.rows[0]
    job = model.data(model.index(0, COLUMNS.index("job")))
    assert job == row.usage.native_id and job.isdigit()
    assert model.data(model.index(0, COLUMNS.index("host"))) == socket.gethostname()


def test_failures_show_with_their_logs_and_problems_lead_to_them(qtbot, windows, tmp_path):
    win = windows(failing_network(tmp_path))
    result = cook(qtbot, win)
    assert not result.ok
    states = {i.name: i.state.name for i in win.viewer.model.rows}
    assert states["gen_2"] == states["gen_3"] == "CookedFail"
    assert states["after_5"] == "Uncooked"  # downstream of a failure: never ran
    problems = [win.problems.item(i) for i in range(win.problems.count())]
    texts = [p.text() for p in problems]
    failed = next(p for p in problems if p.text().startswith("failed item: gen_2"))
    win.problems.itemActivated.emit(failed)
    assert [i.name for i in win.viewer.selected_items()] == ["gen_2"]
    assert "boom 1" in win.viewer.log.toPlainText()
    assert "the command ended with exit code 1" in win.viewer.details.toPlainText()

    raised = next(p for p in problems if "no farm for" in p.toolTip())
    win.problems.itemActivated.emit(raised)  # the traceback leads to the user's line
    assert win.pane.node == "mine"
    editor = win.pane.editors["onSchedule"].editor
    assert editor.textCursor().blockNumber() == 2  # line 3
    assert any("failed item: other_" in t for t in texts)


def test_items_that_failed_alike_are_one_problem_that_shows_them_all(qtbot, windows, tmp_path):
    path = tmp_path / "alike.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [{"name": "bad", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 40, "command": "sh -c 'exit 2'"}},
                  {"name": "odd", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 1, "command": "sh -c 'exit 3'"}},
                  {"name": "fine", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 2, "command": "true"}}]}))
    win = windows(path)
    result = cook(qtbot, win)
    bad = sorted((i for i in result.failed if i.node == "bad"), key=lambda i: i.id)
    (odd,) = [i for i in result.failed if i.node == "odd"]
    assert len(bad) == 40
    problems = {win.problems.item(n).text(): win.problems.item(n)
                for n in range(win.problems.count())}
    assert sorted(problems) == sorted([
        f"failed items: {bad[0].name} and 39 more of bad: the command ended with exit code 2",
        f"failed item: {odd.name}: the command ended with exit code 3"])

    win.viewer.text_filter.setText("no such item")  # what the user had typed goes
    win.problems.itemActivated.emit(next(v for k, v in problems.items() if "more of" in k))
    assert [i.id for i in win.viewer.model.rows] == [i.id for i in bad]
    assert win.viewer.state_filter.currentText() == "CookedFail"
    assert win.viewer.node_filter.currentText() == "bad"
    assert win.viewer.text_filter.text() == ""
    assert [i.id for i in win.viewer.selected_items()] == [bad[0].id]

    win.problems.itemActivated.emit(problems[f"failed item: {odd.name}: the command ended "
                                             f"with exit code 3"])
    assert len(win.viewer.model.rows) == 43  # every item again, the filters say so
    assert win.viewer.state_filter.currentText() == "all states"
    assert win.viewer.node_filter.currentText() == "all nodes"
    assert [i.id for i in win.viewer.selected_items()] == [odd.id]


def test_cancel_from_the_studio(qtbot, windows, tmp_path):
    path = tmp_path / "long.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "long", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 2, "command": "sleep 60"}}]}))
    win = windows(path)
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=60_000) as finished:
        assert win.cook()
        qtbot.waitUntil(lambda: win.bridge.counts.get("long", {}).get("Cooking") == 1,
                        timeout=30_000)
        assert win.cancel_action.isEnabled()
        qtbot.keyClick(win, Qt.Key.Key_Escape)
    assert finished.args[0].canceled
    assert {i.state.name for i in win.viewer.model.rows} == {"CookedCancel"}
    assert "canceled" in win.viewer.summary.text()


def test_a_jobs_progress_and_own_state_show_while_it_cooks(qtbot, windows, tmp_path):
    job = tmp_path / "job.py"
    job.write_text("import os, sys, time\n"
                   "sys.path.insert(0, os.environ['PDG_SCRIPTDIR'])\n"
                   "import pdgjob\n"
                   "pdgjob.setCookPercent(40)\n"
                   "pdgjob.setCustomState('rendering')\n"
                   "pdgjob.flush()\n"
                   "time.sleep(60)\n")
    path = tmp_path / "progress.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "long", "type": "genericgenerator", "inputs": [],
         "parms": {"command": f"{sys.executable} {job}"}}]}))
    win = windows(path)
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=60_000):
        assert win.cook()
        model = win.viewer.model
        qtbot.waitUntil(lambda: model.rowCount() == 1 and model.data(
            model.index(0, COLUMNS.index("state"))) == "Cooking 40 %: rendering",
            timeout=30_000)
        win.cancel_action.trigger()
    assert model.data(model.index(0, COLUMNS.index("state"))) == "CookedCancel"


def test_the_python_shell_on_the_live_objects(qtbot, windows, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    cook(qtbot, win)
    win.shell.show()
    win.shell.raise_()
    win.shell.start()
    console = win.shell.widget_
    shell = win.shell.shell
    assert shell.ev("len(items)") == 14
    assert shell.ev("pdg.scheduleResult.Succeeded") == 4
    assert shell.ev("engine.result.ok") is True

    win.panel.select("wedge1")
    with qtbot.waitSignal(win.shell.executed, timeout=30_000):
        console.execute("network.node('wedge1').parms['wedgecount'] = 3")
    assert win.pane.widgets["wedgecount"].value() == 3
    assert win.document.dirty

    win.panel.select("pythonscheduler1")
    with qtbot.waitSignal(win.shell.executed, timeout=30_000):
        console.execute("scheduler.parms.set('onTick', 'return pdg.tickResult.SchedulerBusy')")
    assert win.pane.editors["onTick"].editor.toPlainText() == \
        "return pdg.tickResult.SchedulerBusy"
    assert shell.ev("type(scheduler).__name__") == "PythonScheduler"


def test_processes_still_spawn_once_the_python_shell_is_open(qtbot, windows, tmp_path):
    """A Dask cook's workers start with multiprocessing's spawn, which reads the main module's
    ``__spec__``: the shell's namespace is that module, and opening the shell must keep it."""
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    win.shell.start()
    with qtbot.waitSignal(win.shell.executed, timeout=30_000):
        win.shell.widget_.execute("import os")
    worker = multiprocessing.get_context("spawn").Process(target=os.getpid)
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0


def studio(*args):
    return subprocess.run([sys.executable, "-m", "schedstudio.main", *map(str, args)],
                          capture_output=True, text=True, timeout=180)


def test_cook_and_screenshot_from_the_command_line(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    png = tmp_path / "cooked.png"
    done = studio("--cook", "--screenshot", png, tmp_path / "ex" / "wedge_summary.top.json")
    assert done.returncode == 0, done.stderr
    assert png.stat().st_size > 20_000
    done = studio("--cook", "--screenshot", tmp_path / "failed.png", failing_network(tmp_path))
    assert done.returncode == 1
    assert (tmp_path / "failed.png").is_file()


def test_resume_cook_from_the_studio(qtbot, windows, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    assert cook(qtbot, win).ok
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=90_000) as finished:
        win.resume_action.trigger()
    result = finished.args[0]
    assert result.ok
    states = {i.node: i.state.name for i in result.items}
    assert states["render1"] == states["summary1"] == "CookedCache"  # not run again
    assert "CookedCache" in win.viewer.summary.text()


def test_submit_as_job_from_the_studio(qtbot, windows, tmp_path, monkeypatch):
    import time
    from urllib.parse import urlparse

    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    win.submit_action.trigger()
    panel = win.submitted
    assert panel.item(0, 0).text() == "wedge_summary.top.json"
    uri = panel.item(0, 4).text()
    status = Path(urlparse(uri).path)
    deadline = time.monotonic() + 120
    while panel.item(0, 2).text() != "finished":  # the panel follows the cook by itself
        assert time.monotonic() < deadline, panel.item(0, 2).toolTip()
        qtbot.wait(100)
    assert json.loads(status.read_text())["ok"] is True
    assert panel.item(0, 3).text() == "14 success"
    # a studio opened later still lists it
    again = windows(tmp_path / "ex" / "wedge_summary.top.json")
    assert again.submitted.item(0, 4).text() == uri
    assert again.submitted.item(0, 2).text() == "finished"

    # a double-click shows the cook: its items from its journal, and each one's log
    again.submitted.itemDoubleClicked.emit(again.submitted.item(0, 0))
    view = again._submitted_views[uri]
    assert view.isVisible() and "finished" in view.header.text()
    assert "14 CookedSuccess" in view.header.text()
    rows = [[view.table.item(r, c).text() for c in range(4)]
            for r in range(view.table.rowCount())]
    assert len(rows) == 14 and {r[3] for r in rows} == {"CookedSuccess"}
    assert sum(r[2] == "render1" for r in rows) == 6
    render = next(r for r in range(len(rows)) if rows[r][2] == "render1")
    view.table.selectRow(render)
    assert "drew a" in view.log.toPlainText()  # the item's own log, from the cook's folder
    assert view.export_report(str(tmp_path / "submitted.html"))
    assert "render1" in (tmp_path / "submitted.html").read_text()
    with qtbot.waitSignal(view.openNetwork) as opened:
        view.buttons["Open Network"].click()
    assert Path(opened.args[0]).name == "wedge_summary.top.json"
    view.close()


def test_failures_above_a_wait_for_all_end_the_cook_in_the_studio(qtbot, windows, tmp_path,
                                                                  monkeypatch):
    path = tmp_path / "hang.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 2, "command": "false"}},
        {"name": "wait", "type": "waitforall", "inputs": ["gen"]},
        {"name": "after", "type": "genericgenerator", "inputs": ["wait"],
         "parms": {"command": "echo after"}}]}))
    win = windows(path)
    result = cook(qtbot, win, timeout=60_000)
    assert result.counts == {"CookedFail": 2, "Uncooked": 2}
    assert win.statusBar().currentMessage().startswith("Cook over")
    assert win.cook_action.isEnabled() and not win.cancel_action.isEnabled()

    # a second cook of it into the same working dir, from elsewhere, is refused with who runs
    other = Engine(win.document.network)
    shown = []
    monkeypatch.setattr("schedstudio.window.QMessageBox.warning",
                        lambda parent, title, text: shown.append(text))
    try:
        assert not win.cook()
    finally:
        other.run()  # releases the lock
    assert "another cook of hang.top.json is running in this working dir" in shown[0]


def test_text_a_job_reported_shows_after_its_log(qtbot, windows, tmp_path):
    from ..test_job_log import JOB
    (tmp_path / "job.py").write_text(JOB)
    path = tmp_path / "reports.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {}}],
        "nodes": [{"name": "render", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 1,
                             "command": f"{sys.executable} {tmp_path / 'job.py'}"}}]}))
    win = windows(path)
    assert not cook(qtbot, win).ok
    assert win.viewer.select_item(win.viewer.model.rows[0].id)
    text = win.viewer.log.toPlainText()
    assert text.index("printed by the job") < text.index("reported to the cook") < \
        text.index("rendered 3 tiles of 4") < text.index("warning: disk nearly full")


def test_view_panes_brings_back_a_closed_pane_in_front(qtbot, windows, tmp_path):
    win = windows(failing_network(tmp_path))
    win.problems_dock.close()
    assert not win.problems_dock.isVisible()
    # the action kept while its menu is used (PySide6 6.9 drops the menu with it)
    view_action = next(a for a in win.menuBar().actions() if a.text() == "&View")
    panes = win.panes_menu
    assert panes.menuAction() in view_action.menu().actions()
    labels = [a.text() for a in panes.actions()]
    assert labels == ["Cook &Viewer", "&Problems", "Python &Shell", "Submitted &Jobs",
                      "Scheduler &Check"]
    next(a for a in panes.actions() if a.text() == "&Problems").trigger()
    qtbot.waitUntil(lambda: win.problems_dock.isVisible()
                    and win.problems.viewport().width() > 200)


def test_a_dot_clicked_brings_back_a_closed_cook_viewer(qtbot, windows, tmp_path):
    win = windows(failing_network(tmp_path))
    result = cook(qtbot, win)
    win.viewer_dock.close()
    assert not win.viewer_dock.isVisible()
    item = result.items[0]
    win.panel.itemClicked.emit(item.id)  # what a click on the node's dot sends
    assert win.viewer_dock.isVisible()
    assert [i.name for i in win.viewer.selected_items()] == [item.name]


def test_an_untitled_network_cooks_in_a_folder_of_its_own(qtbot, tmp_path, monkeypatch):
    """Never in the folder the studio was started from (it wrote pdgtemp/ into a checkout)."""
    monkeypatch.chdir(tmp_path)
    win = MainWindow(Document(network_file.from_json({
        "format": "schedcore-network", "version": 1,
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"command": "true"}}]})))
    win.show()
    try:
        assert cook(qtbot, win).ok
        hip = Path(win.document.network.hip)
        assert hip != tmp_path and hip.name.startswith("schedstudio-untitled-")
        assert (hip / "pdgtemp").is_dir() and not (tmp_path / "pdgtemp").exists()
        said = [win.problems.item(i).text() for i in range(win.problems.count())]
        assert any(f"it cooks in {hip}" in text for text in said)
        win._save_to(str(tmp_path / "kept.top.json"))
        assert win.document.network.hip == str(tmp_path)  # beside its file from now on
    finally:
        win.document.dirty = False
        win.close()
        shutil.rmtree(hip, ignore_errors=True)


def test_long_names_are_not_cut_in_the_items_table_unless_the_user_sized_the_column(
        qtbot, windows, tmp_path):
    long_node = "render_the_whole_sequence_for_review"
    path = tmp_path / "long.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [{"name": long_node, "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 12, "command": "true"}}]}))
    win = windows(path)
    table = win.viewer.table
    assert cook(qtbot, win).ok
    metrics, header = table.fontMetrics(), table.horizontalHeader()
    for column, text in ((1, f"{long_node}_11"), (2, long_node), (3, "CookedSuccess")):
        assert header.sectionSize(column) >= metrics.horizontalAdvance(text), text
    header.resizeSection(2, 60)  # the user wants it narrow: the next cook leaves it so
    assert cook(qtbot, win).ok
    assert header.sectionSize(2) == 60


def _resume(qtbot, win):
    with qtbot.waitSignal(win.bridge.cookFinished, timeout=90_000) as finished:
        win.resume_action.trigger()
    return {(i.node, i.state.name) for i in finished.args[0].items}


def test_dirty_and_delete_results_make_resume_cook_run_those_nodes_again(
        qtbot, windows, tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    assert cook(qtbot, win).ok
    panel = win.panel
    assert "Dirty This Node" in [a.text() for a in panel.context_menu(
        panel.items["collect1"].pos() + QPointF(30, 20)).actions()]

    assert win.dirty_node("collect1")  # it and summary1 below it
    assert panel.work.of("collect1") == panel.work.of("summary1") == []
    assert {i.node for i in win.viewer.model.rows} == {"wedge1", "render1"}
    assert "Dirtied collect1, summary1: 2 items forgotten" in win.statusBar().currentMessage()
    assert _resume(qtbot, win) >= {("render1", "CookedCache"), ("collect1", "CookedSuccess"),
                                   ("summary1", "CookedSuccess")}

    outputs = sorted(o.path for i in win.bridge.items if i.node == "render1"
                     for o in i.outputFiles)
    assert len(outputs) == 6 and all(Path(p).is_file() for p in outputs)
    shown = []

    def answer(box):  # the user reads the list, then says Yes
        shown.append((box.text(), box.detailedText()))
        return QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "exec", answer)
    assert win.dirty_node("render1", delete_results=True)
    assert shown[0][0] == "Delete the 6 output files of render1?"
    assert shown[0][1].splitlines() == outputs
    assert not any(Path(p).exists() for p in outputs)
    states = _resume(qtbot, win)
    assert ("render1", "CookedSuccess") in states and ("render1", "CookedCache") not in states
    assert all(Path(p).is_file() for p in outputs)  # made again


def test_delete_results_canceled_deletes_and_dirties_nothing(qtbot, windows, tmp_path,
                                                              monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = windows(tmp_path / "ex" / "wedge_summary.top.json")
    assert not win.dirty_node("render1")  # not cooked yet: said, nothing done
    assert "has not been cooked" in win.statusBar().currentMessage()
    assert cook(qtbot, win).ok
    monkeypatch.setattr(QMessageBox, "exec", lambda box: QMessageBox.StandardButton.Cancel)
    outputs = [o.path for i in win.bridge.items if i.node == "render1" for o in i.outputFiles]
    assert not win.dirty_node("render1", delete_results=True)
    assert all(Path(p).is_file() for p in outputs) and len(win.panel.work.of("render1")) == 6


def test_file_export_cook_report_writes_the_last_cook_as_one_page(qtbot, windows, tmp_path,
                                                                  monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    net = make_failing_and_fine(tmp_path)
    win = windows(net)
    assert not win.report_action.isEnabled()  # nothing cooked yet
    assert not cook(qtbot, win).ok
    assert win.report_action.isEnabled()
    chosen = tmp_path / "out" / "mine"
    chosen.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args: (str(chosen), "")))
    win.report_action.trigger()
    page = (tmp_path / "out" / "mine.html").read_text()
    assert "fails.top.json: cook report" in page and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # self-contained: nothing fetched
    for text in ("gen", "after", "boom 1", "exit code 1"):
        assert text in page, text
    assert "written to" in win.statusBar().currentMessage()


def make_failing_and_fine(tmp_path):
    path = tmp_path / "fails.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [
            {"name": "gen", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": 3, "command": "sh -c 'echo boom @pdg_index; "
                                                  "exit @pdg_index'"}},
            {"name": "after", "type": "genericgenerator", "inputs": [],
             "parms": {"command": "echo after"}}]}))
    return path


def test_the_nodes_tab_gives_each_nodes_figures_and_its_earlier_cooks(qtbot, windows,
                                                                       tmp_path):
    net = make_failing_and_fine(tmp_path)
    win = windows(net)
    for _ in range(2):
        assert not cook(qtbot, win).ok
    viewer = win.viewer
    viewer.tabs.setCurrentWidget(viewer._nodes_tab)
    table = viewer.nodes
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())}
    assert set(rows) == {"gen", "after"}
    assert rows["gen"][1:3] == ["3", "2"]  # three items, two failed (exit 1 and 2)
    assert rows["after"][1:3] == ["1", "0"]
    assert rows["gen"][5] != "-" and rows["gen"][7] != "-"  # median, longest
    assert rows["gen"][-1].split()[0][:2] in {c + d for c in BLOCKS for d in BLOCKS}  # 2 cooks
    # and the details of an item say what its job used and where it ran
    viewer.tabs.setCurrentIndex(0)
    item = next(i for i in viewer.model.rows if i.node == "gen")
    viewer.select_item(item.id)
    details = viewer.details.toPlainText()
    assert "exit" in details and "job" in details and item.usage.native_id in details
