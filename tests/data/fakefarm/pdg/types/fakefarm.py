"""A farm scheduler written the way third-party Houdini farm schedulers are (Rush, Afanasy,
OpenCue): it submits every work item to a farm's command line (``farmctl.py`` here) and
polls the farm in ``onTick``. Its farm settings are parameters of its node that the class
does not declare (Houdini keeps them on the scheduler's HDA): ``farm_queue``,
``farm_priority``, ``farm_title``.
"""

import json
import os
import re
import subprocess
import sys

import hou
import pdg
from pdg.job.callbackserver import CallbackServerMixin
from pdg.scheduler import PyScheduler, convertEnvMapToUTF8
from pdg.utils import expand_vars, print_headless

FARMCTL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "farmctl.py")


class FakeFarmScheduler(CallbackServerMixin, PyScheduler):
    def __init__(self, scheduler, name):
        PyScheduler.__init__(self, scheduler, name)
        CallbackServerMixin.__init__(self, False)
        self.sched_name = name
        self.jobs = {}        # farm job id -> work item id
        self.started = set()  # farm job ids seen running

    @classmethod
    def templateName(cls):
        return "fakefarmscheduler"

    def _farm(self, *args):
        env = dict(os.environ, FAKEFARM_DIR=os.path.join(self.tempDir(True), "fakefarm"))
        return subprocess.run([sys.executable, FARMCTL] + list(args), capture_output=True,
                              text=True, env=env)

    def onStartCook(self, static, cook_set):
        wd = self["pdg_workingdir"].evaluateString()
        self.setWorkingDir(wd, wd)
        if not self.isCallbackServerRunning():
            self.startCallbackServer()
        self.jobs = {}
        self.started = set()
        print_headless("{}: cooking on farm queue {} (hou {})".format(
            self.sched_name, self["farm_queue"].evaluateString(),
            hou.applicationVersionString()), file=sys.stderr)
        return True

    def onSchedule(self, work_item):
        if not work_item.command:
            return pdg.scheduleResult.CookSucceeded
        self.createJobDirsAndSerializeWorkItems(work_item)
        env = dict(work_item.environment)
        self.addCommonJobEnvVars(env, work_item)
        env["FARM_NODE"] = work_item.node.name
        spec = {"command": self.expandCommandTokens(work_item.command, work_item),
                "env": convertEnvMapToUTF8(env), "cwd": self.workingDir(False)}
        spec_file = os.path.join(self.tempDir(True), "farmspecs", work_item.name + ".json")
        os.makedirs(os.path.dirname(spec_file), exist_ok=True)
        with open(spec_file, "w") as handle:
            json.dump(spec, handle)
        out = self._farm("submit", "--queue", self["farm_queue"].evaluateString(),
                         "--priority", str(self["farm_priority"].evaluateInt()),
                         "--title", expand_vars(self["farm_title"].evaluateString()), spec_file)
        found = re.search(r"FARM_JOBID=(\S+)", out.stdout)
        if not found:
            self.cookWarning("farm submit failed: " + out.stderr.strip())
            return pdg.scheduleResult.Failed
        self.jobs[found.group(1)] = work_item.id
        # no return value: Houdini takes None as submitted (Succeeded)

    def onTick(self):
        for job_id, item_id in list(self.jobs.items()):
            state = self._farm("status", job_id).stdout.strip()
            if state == "running" and job_id not in self.started:
                self.started.add(job_id)
                self.workItemStartCook(item_id, -1)
            elif state == "done":
                self.workItemSucceeded(item_id, -1, 0.0)
                del self.jobs[job_id]
            elif state in ("failed", "unknown"):
                self.workItemFailed(item_id, -1)
                del self.jobs[job_id]
        return pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        if cancel:
            for job_id in list(self.jobs):
                self._farm("kill", job_id)
        self.jobs = {}
        return True

    def getLogURI(self, work_item):
        for job_id, item_id in self.jobs.items():
            if item_id == work_item.id:
                return "file://" + os.path.join(self.tempDir(True), "fakefarm", job_id + ".log")
        return ""


def registerTypes(type_registry):
    type_registry.registerScheduler(FakeFarmScheduler)
