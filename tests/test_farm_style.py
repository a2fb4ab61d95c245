"""A farm scheduler in the style of CGRU's Afanasy module: it rebuilds the result server's
address from this machine's IP address and hands each task an environment of its own (no
``PDG_ITEM_ID``, no ``PDG_JOBID``); its tasks report through ``import pdgcmd``. They land when
the server listens where they are sent; when it does not, the cook says so at its start, and
the tasks fail instead of passing with their reports lost."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from schedcore import process
from schedcore.engine import Engine
from schedcore.results import ScheduleResult, TickResult
from schedcore.schedulers import Scheduler
from schedcore.schedulers.base import local_ip
from schedcore.workitem import WorkItemState as S

from .conftest import make_network

JOB = '''
import os, sys
sys.path.insert(0, os.environ["PDG_SCRIPTDIR"])
import pdgcmd
pdgcmd.setIntAttrib("n", int(os.environ["PDG_INDEX"]) + 5, 0)
'''
needs_an_address = pytest.mark.skipif(
    local_ip() == "127.0.0.1", reason="this machine has no address but loopback")


class AfanasyStyle(Scheduler):
    type_name = "afanasystyle"

    def __init__(self, hip, **parms):
        super().__init__("farm1", {"pdg_tickperiod": 0.05, **parms}, hip)

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        if not self.isCallbackServerRunning():
            self.startCallbackServer()
        self.tasks = {}
        return True

    def workItemResultServerAddr(self):
        _addr, port = self._workItemResultServerAddr.split(":")  # a secret@ goes with it
        return f"{local_ip()}:{port}"

    def onSchedule(self, work_item):
        env = dict(os.environ)
        env.update(PDG_RESULT_SERVER=self.workItemResultServerAddr(),
                   PDG_ITEM_NAME=work_item.name, PDG_DIR=self.workingDir(False),
                   PDG_TEMP=self.tempDir(False), PDG_SCRIPTDIR=self.scriptDir(False),
                   PDG_INDEX=str(work_item.index), PDG_REPORT_TIMEOUT="3")
        command = self.expandCommandTokens(work_item.command, work_item)
        self.tasks[work_item.name] = subprocess.Popen(
            process.command_argv(command), env=env, cwd=self.workingDir(True),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return ScheduleResult.Succeeded

    def onTick(self):
        for name, task in list(self.tasks.items()):
            if task.poll() is not None:  # the farm's word on the task
                del self.tasks[name]
                if task.returncode == 0:
                    self.workItemSucceeded(name)
                else:
                    self.workItemFailed(name)
        return TickResult.SchedulerReady

    def onStopCook(self, cancel):
        for task in self.tasks.values():
            process.kill_tree(task)
        return True


def cook(tmp_path, **parms):
    (tmp_path / "job.py").write_text(JOB)
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator", "parms": {
        "itemcount": 2, "command": f"{sys.executable} {tmp_path / 'job.py'}"}}])
    return Engine(net, scheduler=AfanasyStyle(str(tmp_path), **parms)).run()


@needs_an_address
def test_tasks_land_when_the_server_listens_where_they_are_sent(tmp_path):
    result = cook(tmp_path, pdg_resultserverbind="0.0.0.0")
    assert result.ok and not result.warnings, (result.errors, result.warnings)
    assert sorted(i.attribValue("n") for i in result.items) == [5, 6]


@needs_an_address
def test_an_address_the_server_does_not_listen_on_is_said_and_its_tasks_fail(tmp_path):
    result = cook(tmp_path)
    assert result.warnings == [
        f"farm1 hands its jobs the result server's address {local_ip()}, but the server "
        f"listens on 127.0.0.1 only, so they cannot report: set pdg_resultserverbind to "
        f"0.0.0.0 (or to {local_ip()})"]
    assert [i.state for i in result.items] == [S.CookedFail, S.CookedFail]
    assert not any(i.hasAttrib("n") for i in result.items)


class BatchStyle(Scheduler):
    """OpenCue's shape: items wait in onSchedule, go out together from onTick, and each log's
    path is known only then; getLogURI answers "" until it is."""

    type_name = "batchstyle"

    def __init__(self, hip):
        super().__init__("farm1", {"pdg_tickperiod": 0.05}, hip)
        self.pending, self.tasks, self.logs = [], {}, {}

    def onSchedule(self, work_item):
        self.pending.append(work_item)
        return ScheduleResult.Succeeded

    def onTick(self):
        for item in self.pending:
            log = os.path.join(self.workingDir(True), f"farm-{item.name}.log")
            with open(log, "w") as out:
                self.tasks[item.id] = subprocess.Popen(["echo", item.name], stdout=out)
            self.logs[item.id] = log
            self.workItemStartCook(item.id)
        self.pending = []
        for item_id, task in list(self.tasks.items()):
            if task.poll() is not None:
                del self.tasks[item_id]
                self.workItemSucceeded(item_id)
        return TickResult.SchedulerReady

    def getLogURI(self, work_item):
        log = self.logs.get(work_item.id)
        return f"file://{log}" if log else ""


def test_a_log_uri_known_once_the_farm_took_the_job_is_asked_for_again(tmp_path):
    from schedcore.events import ItemStateChanged
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator", "parms": {
        "itemcount": 3, "command": "true"}}])
    engine = Engine(net, scheduler=BatchStyle(str(tmp_path)))
    seen = []
    engine.events.subscribe(lambda e: seen.append((e.item.name, e.new, e.item.log_uri))
                            if isinstance(e, ItemStateChanged) else None)
    result = engine.run()
    assert result.ok
    for item in result.items:
        log = tmp_path / f"farm-{item.name}.log"
        assert item.log_uri == f"file://{log}" and log.read_text() == f"{item.name}\n"
        # the Cook Viewer has it as the item starts
        assert (item.name, S.Cooking, item.log_uri) in seen
