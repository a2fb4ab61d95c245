"""The services a scheduler calls on itself (reference §2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from schedcore.engine import Engine
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler

from .conftest import make_network


class Probe(Scheduler):
    """Calls services from inside a cook and keeps what they returned."""

    type_name = "probe"

    def __init__(self, hip):
        super().__init__("probe", {"pdg_workingdir": "$HIP/work", "pdg_tickperiod": 0.01},
                         hip)
        self.seen = {}

    def onSchedule(self, work_item):
        if work_item.node == "b" and "graph" not in self.seen:
            self.seen["graph"] = self.dependencyGraph()
            self.seen["json"] = self.createJobDirsAndSerializeWorkItems(work_item)
            self.seen["tokens"] = self.expandCommandTokens(
                "__PDG_ITEM_NAME__ __PDG_ITEM_ID__ __PDG_INDEX__ __PDG_DIR__ __PDG_TEMP__ "
                "__PDG_SCRIPTDIR__ __PDG_PYTHON__", work_item)
            self.seen["no item"] = self.expandCommandTokens("__PDG_DIR__/x", None)
            self.cookWarning("just so you know")
        return ScheduleResult.CookSucceeded


def test_services_inside_a_cook(tmp_path):
    net = make_network(tmp_path, [
        {"name": "a", "type": "wedge", "parms": {"wedgecount": 2}},
        {"name": "b", "type": "genericgenerator", "inputs": ["a"],
         "parms": {"command": "echo @wedgeindex"}}])
    probe = Probe(str(tmp_path))
    engine = Engine(net, scheduler=probe)
    result = engine.run()
    assert result.ok and result.warnings == ["just so you know"]
    work = str(tmp_path / "work")
    assert probe.workingDir(True) == work
    # the process's first cook has pdgtemp/<pid>-<random>, its later ones
    # <pid>-<number>-<random>: made fresh and private, under a name nobody can guess
    prefix = f"{os.getpid()}-" if engine.number == 1 else f"{os.getpid()}-{engine.number}-"
    temp = Path(probe.tempDir(True))
    assert temp.parent == Path(work, "pdgtemp") and temp.name.startswith(prefix)
    assert len(temp.name) > len(prefix) and (temp.stat().st_mode & 0o777) == 0o700
    assert probe.scriptDir(False) == f"{temp}/scripts"
    dependencies, dependents, ready = probe.seen["graph"]
    assert {i.name: [d.name for d in deps] for i, deps in dependencies.items()} == {
        "a_1": [], "a_2": [], "b_3": ["a_1"], "b_4": ["a_2"]}
    assert {i.name: [d.name for d in deps] for i, deps in dependents.items()} == {
        "a_1": ["b_3"], "a_2": ["b_4"], "b_3": [], "b_4": []}
    assert [i.name for i in ready] == ["b_4"]  # b_3 is the one being scheduled
    data = json.loads(Path(probe.seen["json"]).read_text())
    assert data["name"] == "b_3" and data["attributes"]["wedgeindex"]["values"] == [0]
    assert data["command"] == "echo 0"
    temp = probe.tempDir(False)
    assert probe.seen["tokens"].split() == [
        "b_3", "3", "0", work, temp, f"{temp}/scripts", probe.applicationBin("python", None)]
    assert probe.seen["no item"] == f"{work}/x"
    assert probe.localizePath("__PDG_DIR__/out.txt") == f"{work}/out.txt"
    assert probe.delocalizePath(f"{work}/out.txt") == "__PDG_DIR__/out.txt"


def test_parameters_evaluate_hip_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOW", "bigshow")
    sched = Scheduler("s", {"pdg_workingdir": "$HIP/${SHOW}/$UNSET_VAR", "pdg_maxitems": "12",
                            "pdg_tickperiod": 2}, str(tmp_path))
    assert sched["pdg_workingdir"].evaluateString() == f"{tmp_path}/bigshow/$UNSET_VAR"
    assert sched["pdg_maxitems"].evaluateInt() == 12
    assert sched["pdg_tickperiod"].evaluateFloat() == 2.0


def test_shared_server_info_and_transfer(tmp_path):
    sched = Scheduler("s", {"pdg_workingdir": str(tmp_path / "work")}, str(tmp_path))
    sched.setSharedServerInfo("houdini1", {"host": "farm7", "port": 5000})
    assert sched.getSharedServerInfo("houdini1") == {"host": "farm7", "port": 5000}
    assert list(sched.getSharedServers()) == ["houdini1"]
    # a server on another machine that does not answer: it could not be ended, and is
    # forgotten all the same (the real ones are in test_sharedserver.py)
    assert sched.endSharedServer("houdini1") is False
    assert sched.getSharedServerInfo("houdini1") is None
    assert sched.endSharedServer("houdini1") is False  # no such server
    source = tmp_path / "scene.top.json"
    source.write_text("{}")
    assert sched.transferFile(str(source)) is True
    copy = tmp_path / "work" / "scene.top.json"
    assert copy.read_text() == "{}"
    stamp = copy.stat().st_mtime_ns
    assert sched.transferFile(str(source)) is True
    assert copy.stat().st_mtime_ns == stamp  # unchanged: not copied again


def test_cook_error_stops_the_cook(tmp_path):
    class Complains(Scheduler):
        def onSchedule(self, work_item):
            self.cookError("the farm is full")
            return ScheduleResult.Succeeded

    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator",
                                   "parms": {"itemcount": 3, "command": "x"}}])
    result = Engine(net, scheduler=Complains("c", {"pdg_maxitems": 1})).run()
    assert not result.ok
    assert "the farm is full" in result.errors
    assert all(i.state.name == "CookedCancel" for i in result.items)


def test_python_for_jobs_can_be_chosen(monkeypatch):
    import sys

    sched = Scheduler("s")
    assert sched.applicationBin("python", None) == sys.executable
    monkeypatch.setenv("SCHEDCORE_PYTHON", "/opt/python3.12/bin/python3")
    assert sched.expandCommandTokens("__PDG_PYTHON__ job.py", None) == \
        "/opt/python3.12/bin/python3 job.py"
