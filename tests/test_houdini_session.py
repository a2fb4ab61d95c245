"""What scheduler files written for Houdini find in the process around a cook: ``$HIP``,
``$HIPNAME`` and ``$HIPFILE`` in the environment and in parameters, the temp dir and the job
helpers before the first ``onSchedule``, Houdini's standard scheduler parameters."""

from __future__ import annotations

import json
import os

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedcore.submit import submit

from .conftest import make_network


class Looks(Scheduler):
    """Notes what a Houdini-written file would read, the way such files read it."""

    type_name = "looks"

    def __init__(self, name="looks", parms=None, hip=""):
        super().__init__(name, {"pdg_tickperiod": 0.01, **(parms or {})}, hip)
        self.seen: dict = {}

    def onSchedule(self, work_item):
        if not self.seen:
            self.seen = {
                "env": {n: os.environ.get(n) for n in ("HIP", "HIPNAME", "HIPFILE")},
                "workdir": self.workingDir(True),
                "temp": os.path.isdir(self.tempDir(True)),
                "helpers": sorted(os.listdir(self.scriptDir(True))),
                "logs": os.path.isdir(self.logDir(True)),
                "waitforfailures": (self["pdg_waitforfailures"].evaluateBool(),
                                    self.isWaitForFailures)}
            # what Rush does with rush_verbose on: write into the temp dir at once
            with open(os.path.join(self.tempDir(True), "data", "first.json"), "w") as data:
                data.write("{}")
        return ScheduleResult.CookSucceeded

    def submitAsJob(self, graph_file, node_path):
        self.seen["submit"] = {n: os.environ.get(n) for n in ("HIP", "HIPNAME", "HIPFILE")}
        return "file:///nowhere"


def test_a_cook_runs_in_houdinis_session(tmp_path):
    net = make_network(tmp_path, [{"name": "a", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "true"}}],
                       name="shot010.top.json")
    looks = Looks(parms={"pdg_workingdir": "$HIP/$HIPNAME-work"})
    assert Engine(net, scheduler=looks).run().ok
    assert looks.seen["env"] == {"HIP": str(tmp_path), "HIPNAME": "shot010",
                                 "HIPFILE": str(tmp_path / "shot010.top.json")}
    assert looks.seen["workdir"] == str(tmp_path / "shot010-work")
    assert looks.seen["temp"] and looks.seen["logs"]
    assert {"pdgjob.py", "pdgcmd.py"} <= set(looks.seen["helpers"])
    assert looks.seen["waitforfailures"] == (False, False)
    # the next cook's are its network's; an unsaved network has no file
    untitled = network_file.Network()
    Engine(untitled, scheduler=Looks(), journal=False)
    assert os.environ["HIP"] == untitled.hip and "HIPFILE" not in os.environ


def test_jobs_inherit_the_session(tmp_path):
    net = make_network(tmp_path, [{"name": "a", "type": "genericgenerator", "parms": {
        "itemcount": 1, "command": "sh -c 'echo \"$HIPNAME|$HIP|$HIPFILE\" > $PDG_DIR/seen'"}}],
        name="shot020.top.json")
    assert Engine(net).run().ok
    assert (tmp_path / "seen").read_text() == \
        f"shot020|{tmp_path}|{tmp_path / 'shot020.top.json'}\n"


def test_submit_as_job_runs_in_the_session(tmp_path):
    """Rush's submitAsJob reads ``os.environ["HIP"]``."""
    code = ("import json, os\n"
            "seen = {n: os.environ[n] for n in ('HIP', 'HIPNAME', 'HIPFILE')}\n"
            "with open(os.path.join(os.environ['HIP'], 'seen.json'), 'w') as out:\n"
            "    json.dump(seen, out)\n"
            "return 'file:///nowhere'\n")
    net = make_network(tmp_path, [{"name": "a", "type": "genericgenerator",
                                   "parms": {"command": "true"}}],
                       schedulers=[{"name": "farm", "type": "pythonscheduler",
                                    "parms": {"submitAsJob": code}}],
                       name="shot030.top.json")
    assert submit(net, "farm") == "file:///nowhere"
    assert json.loads((tmp_path / "seen.json").read_text()) == {
        "HIP": str(tmp_path), "HIPNAME": "shot030",
        "HIPFILE": str(tmp_path / "shot030.top.json")}


def test_os_in_a_parameter_is_the_nodes_name(tmp_path):
    """Rush's default job title is ``PDG-$HIPNAME:$OS``."""
    net = make_network(tmp_path, [{"name": "a", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "true"}}],
                       name="shot040.top.json")
    looks = Looks("rush1", parms={"pdg_workingdir": "$HIP/$HIPNAME-$OS"})
    assert Engine(net, scheduler=looks).run().ok
    assert looks.seen["workdir"] == str(tmp_path / "shot040-rush1")
