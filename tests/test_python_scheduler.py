"""The Python Scheduler: callbacks as code fields, their defaults, errors in user code, and
Houdini-written scheduler modules."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from schedcore.engine import Engine
from schedcore.registry import register_file, scheduler_types
from schedcore.schedulers import PythonScheduler
from schedcore.schedulers.python import CallbackSyntaxError
from schedcore.workitem import WorkItemState as S

from .conftest import make_network, watch_peak_cooking
from .test_process import ended, killing_leftovers, leaving_the_tree, wait_for_pids, write_daemon


def python_net(tmp_path, fields=None, count=2, command="true", extra_nodes=(), **parms):
    return make_network(
        tmp_path,
        [{"name": "gen", "type": "genericgenerator",
          "parms": {"itemcount": count, "command": command}}, *extra_nodes],
        [{"name": "pythonscheduler1", "type": "pythonscheduler",
          "parms": {**(fields or {}), **parms}}])


def test_default_fields_cook_in_parallel(tmp_path):
    net = python_net(tmp_path, count=6, command="sleep 0.5", pdg_maxtasks=3,
                     extra_nodes=[{"name": "py", "type": "pythonscript", "inputs": ["gen"],
                                   "parms": {"script": "work_item.setIntAttrib('x', 7)"}}])
    engine = Engine(net)
    peak = watch_peak_cooking(engine)
    result = engine.run()
    assert result.ok, [(i.name, i.reason) for i in result.items if not i.state.is_success]
    assert peak[0] == 3  # jobs ran side by side, up to Limit Jobs
    gen = [i for i in result.items if i.node == "gen"]
    assert all(i.log_uri.startswith("file://") and i.status_uri.startswith("http://127.0.0.1:")
               for i in gen)
    assert all(i.attribValue("x") == 7 for i in result.items if i.node == "py")


RECORDING = {
    "onStart": "self.calls = [('onStart',)]\nreturn True",
    "onStartCook": ("self.calls.append(('onStartCook', static, list(cook_set)))\n"
                    "return pdg.scheduler.PyScheduler.onStartCook(self, static, cook_set)"),
    "onScheduleStatic": ("self.calls.append(('onScheduleStatic', len(dependencies), "
                         "len(dependents), [i.name for i in ready_items]))"),
    "onSchedule": ("self.calls.append(('onSchedule', work_item.name))\n"
                   "if work_item.name == self['failname'].evaluateString():\n"
                   "    return pdg.scheduleResult.CookFailed\n"
                   "if self['hold'].evaluateInt():\n"
                   "    return pdg.scheduleResult.Succeeded\n"
                   "return pdg.scheduleResult.CookSucceeded"),
    "onTick": "self.calls.append(('onTick',))\nreturn pdg.tickResult.SchedulerReady",
    "onStopCook": "self.calls.append(('onStopCook', cancel))\nreturn True",
    "onStop": "self.calls.append(('onStop',))\nreturn True",
}


class Recording(PythonScheduler):
    """The Python Scheduler with two test parameters the recording fields read."""

    type_name = "recording"
    parm_templates = PythonScheduler.parm_templates + [
        PythonScheduler.parm_templates[0].__class__("failname", "string", ""),
        PythonScheduler.parm_templates[0].__class__("hold", "int", 0)]


def recorded(tmp_path, static=False, cancel=False, failname=""):
    net = python_net(tmp_path)
    sched = Recording("pythonscheduler1", {**RECORDING, "failname": failname,
                                           "hold": int(cancel), "pdg_tickperiod": 0.05},
                      net.hip)
    engine = Engine(net, scheduler=sched, static=static)
    if cancel:
        threading.Timer(0.3, engine.cancel).start()
    result = engine.run()
    return result, [c for c in sched.calls if c != ("onTick",)], sched.calls


def test_callbacks_of_a_dynamic_cook(tmp_path):
    result, calls, everything = recorded(tmp_path)
    assert result.ok
    assert calls == [("onStart",), ("onStartCook", False, ["gen"]), ("onSchedule", "gen_1"),
                     ("onSchedule", "gen_2"), ("onStopCook", False), ("onStop",)]


def test_callbacks_of_a_static_cook(tmp_path):
    result, calls, _ = recorded(tmp_path, static=True)
    assert result.ok
    assert calls == [("onStart",), ("onStartCook", True, ["gen"]),
                     ("onScheduleStatic", 2, 2, ["gen_1", "gen_2"]), ("onSchedule", "gen_1"),
                     ("onSchedule", "gen_2"), ("onStopCook", False), ("onStop",)]


def test_callbacks_of_a_cancelled_cook(tmp_path):
    result, calls, everything = recorded(tmp_path, cancel=True)
    assert result.canceled
    assert calls == [("onStart",), ("onStartCook", False, ["gen"]), ("onSchedule", "gen_1"),
                     ("onSchedule", "gen_2"), ("onStopCook", True), ("onStop",)]
    assert ("onTick",) in everything  # ticks came while the jobs 'ran'
    assert {i.state for i in result.items} == {S.CookedCancel}


def test_callbacks_with_a_failed_item(tmp_path):
    result, calls, _ = recorded(tmp_path, failname="gen_1")
    assert [i.state for i in result.items] == [S.CookedFail, S.CookedSuccess]
    assert calls[-2:] == [("onStopCook", False), ("onStop",)]


def test_syntax_errors_are_reported_before_the_cook(tmp_path):
    net = python_net(tmp_path, {"onSchedule": "# mine\nx = 1\nif x\n    return True\n",
                                "onTick": "return (\n"})
    with pytest.raises(CallbackSyntaxError) as info:
        Engine(net)
    message = str(info.value)
    assert "pythonscheduler1: callback code that does not compile" in message
    assert "onSchedule, line 3: expected ':'" in message
    assert "onTick, line 1: '(' was never closed" in message


def test_exception_in_onschedule_shows_the_users_line(tmp_path):
    net = python_net(tmp_path, {"onSchedule": "# mine\nname = work_item.name\n"
                                              "raise ValueError('no slot for ' + name)\n"})
    result = Engine(net).run()
    reason = result.failed[0].reason
    assert 'File "<pythonscheduler1:onSchedule>", line 3, in onSchedule' in reason
    assert "raise ValueError('no slot for ' + name)" in reason
    assert "ValueError: no slot for gen_1" in reason
    assert "engine.py" not in reason


def test_exception_in_onstartcook_fails_the_cook_and_onstopcook_runs(tmp_path):
    net = python_net(tmp_path, {
        "onStartCook": "self.stopped = False\nraise RuntimeError('no license')",
        "onStopCook": "self.stopped = True\nreturn True"})
    engine = Engine(net)
    result = engine.run()
    assert not result.ok and not result.items
    assert "onStartCook raised" in result.errors[0] and "no license" in result.errors[0]
    assert '"<pythonscheduler1:onStartCook>", line 2' in result.errors[0]
    assert engine.schedulers[0].stopped is True


def test_return_values_outside_the_allowed_ones(tmp_path):
    result = Engine(python_net(tmp_path, {"onSchedule": "return 'ok'"})).run()
    assert result.failed[0].reason.startswith(
        "pythonscheduler1: onSchedule returned 'ok'; allowed: pdg.scheduleResult.CookCanceled")
    result = Engine(python_net(tmp_path, {"onTick": "return 7"}, command="sleep 1",
                               pdg_tickperiod=0.05)).run()
    assert any("onTick returned 7; allowed: pdg.tickResult.SchedulerReady" in e
               for e in result.errors)


def test_an_empty_field_means_the_default(tmp_path):
    sched = PythonScheduler("p", {"getStatusURI": "", "getLogURI": "# only a comment\n"})
    assert "getStatusURI" not in vars(sched) and "getLogURI" not in vars(sched)
    assert "onSchedule" in vars(sched)
    assert sched.getStatusURI.__func__ is PythonScheduler.getStatusURI


def test_fields_follow_the_seed():
    templates = {t.name: t for t in PythonScheduler.parm_templates}
    assert templates["pdg_workingdir"].default == "$HIP"
    assert templates["savetopython"].kind == "action"
    groups = {}
    for t in PythonScheduler.parm_templates:
        if t.kind == "code":
            groups.setdefault(t.group, []).append(t.name)
            assert t.default.startswith("# ") and "Available: self" in t.default
    assert groups == {
        "Scheduling": ["onSchedule", "onScheduleStatic", "submitAsJob"],
        "Initialization and Cleanup": ["onStart", "onStop", "onStartCook", "onStopCook"],
        "Shared Server": ["endSharedServer"], "Result Server Address":
            ["workItemResultServerAddr"], "Transfer File": ["transferFile"],
        "Logging": ["getLogURI", "getStatusURI"], "Tick and Cancel":
            ["onTick", "onCancelWorkItems"]}


HOUDINI_SHAPED = '''\
import os
import subprocess

import pdg
from pdg.job.callbackserver import CallbackServerMixin
from pdg.scheduler import PyScheduler


class HoudiniLocal(CallbackServerMixin, PyScheduler):
    """A scheduler written for Houdini: runs each item where it stands."""

    def __init__(self, scheduler, name):
        PyScheduler.__init__(self, scheduler, name)
        CallbackServerMixin.__init__(self, False)

    @classmethod
    def templateName(cls):
        return "houdinilocal"

    def onStartCook(self, static, cook_set):
        wd = self["pdg_workingdir"].evaluateString()
        self.setWorkingDir(wd, wd)
        if not self.isCallbackServerRunning():
            self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        item_command = self.expandCommandTokens(work_item.command, work_item)
        job_env = os.environ.copy()
        job_env["PDG_RESULT_SERVER"] = str(self.workItemResultServerAddr())
        job_env["PDG_ITEM_NAME"] = str(work_item.name)
        job_env["PDG_DIR"] = str(self.workingDir(False))
        returncode = subprocess.call(item_command, shell=True, env=job_env,
                                     cwd=self.workingDir(True))
        if returncode == 0:
            self.onWorkItemSucceeded(work_item.name, work_item.index, 0)
        else:
            self.workItemFailed(work_item.name, work_item.index)
        return pdg.scheduleResult.Succeeded

    def onTick(self):
        return pdg.tickResult.SchedulerReady


def registerTypes(type_registry):
    type_registry.registerScheduler(HoudiniLocal, label="Houdini Local")
'''


def test_a_houdini_shaped_module_registers_and_cooks(tmp_path):
    module = tmp_path / "houdinilocal.py"
    module.write_text(HOUDINI_SHAPED)
    assert register_file(module) == ["houdinilocal"]
    assert "houdinilocal" in scheduler_types()
    net = python_net(tmp_path, command="sh -c 'echo $PDG_ITEM_NAME > out_@pdg_index.txt'")
    result = Engine(net, scheduler="houdinilocal").run()
    assert result.ok, [(i.name, i.reason) for i in result.items]
    assert Path(tmp_path, "out_1.txt").read_text() == "gen_2\n"


@pytest.mark.parametrize("stop", ["raise RuntimeError('no way')", "return False"],
                         ids=["raises", "returns False"])
def test_a_cancel_whose_onstopcook_fails_still_kills_every_job_process(tmp_path, stop):
    """The engine kills what its cook's jobs started (their marker) when ``onStopCook``
    could not: user code failing must not leave them running."""
    files = [tmp_path / f"pids.{index}" for index in range(2)]
    command = leaving_the_tree(f"{tmp_path}/pids.@pdg_index", write_daemon(tmp_path))
    net = python_net(tmp_path, {"onStopCook": stop}, command=command)
    engine = Engine(net)
    with killing_leftovers(*files):
        engine.start()
        try:
            pids = [pid for path in files for pid in wait_for_pids(path, 3)]
        finally:
            engine.cancel()
            result = engine.wait()
        assert [pid for pid in pids if not ended(pid)] == []  # at once: the cook waited
    assert {i.state for i in result.items} == {S.CookedCancel}
    if stop.startswith("raise"):
        assert any("onStopCook raised" in error for error in result.errors), result.errors
    # 3 of each job's command and its pdgjob wrapper
    assert any("killed the 8 processes" in warning for warning in result.warnings), \
        result.warnings
