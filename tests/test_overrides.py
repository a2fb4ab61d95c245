"""A scheduler file written for Houdini overrides callbacks and services with bodies that call
other services (Rush's ``applicationBin`` calls ``self._pythonBin()``). Houdini's services
are C++ and never call back into Python, so such files assume no service of ours calls a
method they may override: a service that did would recurse, or use the override where
Houdini uses its own."""

from __future__ import annotations

import inspect

from schedcore.engine import Engine
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler

from .conftest import make_network

# what a Houdini-written file may define on its scheduler (reference §1 and §2, and the
# services of compat/services.py)
CALLBACKS = ["onStart", "onStop", "onStartCook", "onStopCook", "onSchedule",
             "onScheduleStatic", "onTick", "submitAsJob", "endSharedServer",
             "workItemResultServerAddr", "transferFile", "getLogURI", "getStatusURI",
             "onCancelWorkItems", "applicationBin"]
SERVICES = ["setWorkingDir", "workingDir", "tempDir", "scriptDir", "logDir", "dataDir",
            "createJobDirsAndSerializeWorkItems", "serializeWorkItem", "expandCommandTokens",
            "localizePath", "delocalizePath", "startCallbackServer", "isCallbackServerRunning",
            "getSharedServers", "getSharedServerInfo", "setSharedServerInfo",
            "clearSharedServerInfo", "dependencyGraph", "cookWarning",
            "evaluateStringOverride", "evaluateIntOverride", "evaluateFloatOverride",
            "evaluateBoolOverride", "resolveBaseEnvironment", "resolveEnvParams",
            "addCommonJobEnvVars", "resolvePathMapping", "_pythonBin", "_hythonBin",
            "_copyJobSupportFiles", "topNode", "maxTasks"]
PROPERTIES = ["context", "isWaitForFailures", "_workItemResultServerAddr"]
# the callbacks a service uses on purpose, as Houdini's do: a command's tokens and a job's
# environment name the interpreter and the result server the scheduler chose
USES = {"expandCommandTokens": {"applicationBin", "workItemResultServerAddr"},
        "addCommonJobEnvVars": {"workItemResultServerAddr"}}


def arguments(name: str, item, workdir: str) -> tuple:
    """Arguments a scheduler file would pass to service ``name``."""
    if name.startswith("evaluate") and name.endswith("Override"):
        parm = {"String": "pdg_workingdir", "Float": "pdg_tickperiod"}.get(
            name[len("evaluate"):-len("Override")], "pdg_maxitems")
        return (None, "", parm, item, 0)
    return {"setWorkingDir": (workdir, workdir), "createJobDirsAndSerializeWorkItems": (item,),
            "serializeWorkItem": (item,), "expandCommandTokens": ("__PDG_PYTHON__", item),
            "localizePath": ("__PDG_DIR__/a",), "delocalizePath": ("/a",),
            "getSharedServerInfo": ("s",), "setSharedServerInfo": ("s", {}),
            "clearSharedServerInfo": ("s",), "cookWarning": ("w",),
            "resolveBaseEnvironment": ("pdg",), "resolveEnvParams": ("pdg",),
            "addCommonJobEnvVars": ({}, item), "resolvePathMapping": ({},),
            }.get(name, ())


def network(tmp_path, count):
    return make_network(tmp_path, [
        {"name": "a", "type": "wedge", "parms": {"wedgecount": count}},
        {"name": "b", "type": "genericgenerator", "inputs": ["a"], "parms": {"command": "true"}}])


class Tripwires(Scheduler):
    """While ``armed``, every overridable name except the one under test and what it may
    use is shadowed by a method that notes the call: what a subclass's override would see."""

    type_name = "tripwires"

    def __init__(self, hip):
        super().__init__("tripwires", {"pdg_tickperiod": 0.01}, hip)
        self.calls: dict[str, set[str]] = {}

    def onSchedule(self, work_item):
        if self.calls:
            return ScheduleResult.CookSucceeded
        self.startCallbackServer()
        for name in SERVICES + PROPERTIES:
            seen = self.calls.setdefault(name, set())
            args = arguments(name, work_item, self.workingDir(True))
            shadowed = set(CALLBACKS + SERVICES) - {name, "onSchedule"} - USES.get(name, set())
            for other in shadowed:
                setattr(self, other, self._tripwire(other, seen))
            try:
                member = inspect.getattr_static(Scheduler, name)
                if hasattr(member, "__get__") and not callable(member):
                    member.__get__(self, type(self))
                else:
                    getattr(Scheduler, name)(self, *args)
            finally:
                for other in shadowed:
                    delattr(self, other)
        return ScheduleResult.CookSucceeded

    def _tripwire(self, name, seen):
        def called(*args, **kwargs):
            seen.add(name)  # noted; the base answers, so the service under test goes on
            return getattr(Scheduler, name)(self, *args, **kwargs)
        return called


def test_no_service_calls_back_into_what_a_subclass_may_override(tmp_path):
    scheduler = Tripwires(str(tmp_path))
    result = Engine(network(tmp_path, 1), scheduler=scheduler).run()
    assert result.ok, (result.errors, result.counts, [i.log for i in result.items])
    assert set(scheduler.calls) == set(SERVICES + PROPERTIES)
    assert {name: sorted(seen) for name, seen in scheduler.calls.items() if seen} == {}


class RushStyle(Scheduler):
    """Rush's shape: ``applicationBin`` built on ``_pythonBin``, directories on
    ``workingDir``; every job runs ``__PDG_PYTHON__``."""

    type_name = "rushstyle"

    def __init__(self, hip):
        super().__init__("rushstyle", {"pdg_tickperiod": 0.01}, hip)

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def applicationBin(self, name, work_item):
        return self._pythonBin() if name == "python" else self._hythonBin()

    def tempDir(self, local=True):
        return super().tempDir(local)

    def workingDir(self, local=True):
        return super().workingDir(local)

    def onSchedule(self, work_item):
        self.createJobDirsAndSerializeWorkItems(work_item)
        env = self.addCommonJobEnvVars({}, work_item)
        command = self.expandCommandTokens("__PDG_PYTHON__ -c pass", work_item)
        self.startJob(work_item, command)
        assert env["PDG_TEMP"] == self.tempDir(False)
        return ScheduleResult.Succeeded

    def onTick(self):
        self.pollJobs()
        return super().onTick()

    def onStopCook(self, cancel):
        self.waitJobs()
        return True


def test_a_rush_style_scheduler_cooks(tmp_path):
    result = Engine(network(tmp_path, 2), scheduler=RushStyle(str(tmp_path))).run()
    assert result.ok, result.errors
