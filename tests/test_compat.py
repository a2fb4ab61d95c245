"""The ``pdg`` compatibility layer: scheduler files written for Houdini load and cook unchanged.

The last test cooks ``tests/data/fakefarm``, a farm scheduler in the style of the public
third-party ones (Rush, Afanasy, OpenCue), through ``schedcore cook`` in a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from schedcore import compat
from schedcore.compat import hou
from schedcore.compat.pdg import scheduleResult
from schedcore.compat.pdg.job.callbackserver import CallbackServerMixin
from schedcore.compat.pdg.scheduler import PyScheduler, TypeRegistry, convertEnvMapToUTF8
from schedcore.registry import Registry
from schedcore.results import ScheduleResult, schedule_result
from schedcore.workitem import NodeRef, WorkItem, WorkItemState

from .conftest import ROOT

FAKEFARM = ROOT / "tests" / "data" / "fakefarm"


def load_types(tmp_path: Path, files: dict[str, str]) -> Registry:
    folder = tmp_path / "pdg" / "types"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return Registry([folder], use_entry_points=False)


# == work items ==========================================================================
def test_node_is_its_name_with_houdinis_node_names():
    item = WorkItem(7, "render1")
    assert isinstance(item.node, NodeRef) and item.node == "render1"
    assert item.node.name == "render1" and str(item.node) == "render1"
    assert {item.node: 1}["render1"] == 1 and f"{item.node}-x" == "render1-x"
    assert json.dumps({"node": item.node}) == '{"node": "render1"}'
    top = item.node.topNode()
    assert (top.name(), top.path()) == ("render1", "/tasks/topnet1/render1")
    assert top.parm("roppath") is None and top.parent().type().name() == "topnet"
    assert WorkItem(8, "render1").node is item.node  # one per node name


def test_environment_is_a_dict_and_commands_have_houdinis_names():
    item = WorkItem(1, "gen", command="echo hi")
    assert item.environment == {} and dict(item.environment) == {}
    item.environment["FOO"] = "1"
    assert item.environment == {"FOO": "1"}
    item.environment = None
    assert item.environment == {}
    assert item.platformCommand() == "echo hi" and item.shouldRunInShell is True
    item.setCommand("echo bye")
    assert item.command == "echo bye"


def test_onschedule_returning_none_is_succeeded():
    assert schedule_result(None) is ScheduleResult.Succeeded
    with pytest.raises(TypeError, match="True, False or None"):
        schedule_result("yes")


# == pdg and hou names ===================================================================
def test_pdg_names_import_as_houdini_spells_them():
    assert compat.install()
    import pdg
    from pdg.scheduler import convertEnvMapToUTF8 as convert
    from pdg.utils import expand_vars, print_headless

    assert convert is convertEnvMapToUTF8 and callable(print_headless)
    assert issubclass(pdg.CookError, Exception)
    assert convert({"A": 1, b"B": b"x"}) == {"A": "1", "B": "x"}
    os.environ["SCHEDCORE_COMPAT_TEST"] = "yes"
    assert expand_vars("$SCHEDCORE_COMPAT_TEST/$UNSET_VAR_HERE") == "yes/$UNSET_VAR_HERE"


def test_hou_stand_in_covers_what_scheduler_files_use_outside_a_scene(tmp_path):
    hou.set_hip(str(tmp_path))
    assert hou.isUIAvailable() is False
    assert hou.applicationVersion()[0] >= 17 and hou.applicationVersionString().count(".") == 2
    assert hou.hipFile.path() == str(tmp_path / "untitled.hip")
    assert hou.hipFile.basename() == "untitled.hip"
    assert hou.text.expandString("$HIP/$HIPNAME") == f"{tmp_path}/untitled"
    assert hou.expandString("$HIPFILE") == hou.hipFile.path()
    hou.putenv("SCHEDCORE_HOU_TEST", "1")
    assert hou.getenv("SCHEDCORE_HOU_TEST") == "1" and hou.getenv("NOPE_X", "d") == "d"
    assert issubclass(hou.OperationFailed, hou.Error)
    assert hou.severityType.Error > hou.severityType.Message


@pytest.mark.parametrize("use", [lambda: hou.node("/obj/geo1"), lambda: hou.ui,
                                 lambda: hou.pwd(), lambda: hou.hipFile.save()])
def test_hou_that_needs_houdini_says_so(use):
    with pytest.raises(hou.HoudiniRequired, match="needs Houdini itself"):
        use()
    assert not hasattr(hou, "ui")


# == loading files that need Houdini =====================================================
NEEDS_HOUDINI = {
    "uses_ui.py": ("import hou\nhou.ui.displayMessage('hi')\n", 2, "hou.ui"),
    "local_sub.py": ("import pdg\nfrom local import LocalScheduler\n", 2,
                     "Houdini's own Local Scheduler"),
    "staticcook.py": ("from pdg.staticcook import StaticCookMixin\n", 1, "'pdg.staticcook'"),
    "paramor.py": ("from pdg.scheduler import PyScheduler, evaluateParamOr\n", 1,
                   "'pdg.scheduler.evaluateParamOr'"),
}


def test_files_that_need_houdini_fail_with_a_message_naming_what_they_used(tmp_path):
    registry = load_types(tmp_path, {name: text for name, (text, _, _) in NEEDS_HOUDINI.items()})
    failures = {Path(f.file).name: f for f in registry.failures}
    for name, (_, line, used) in NEEDS_HOUDINI.items():
        failure = failures[name]
        assert failure.line == line and used in failure.message, failure
        assert "needs Houdini" in str(failure)


def test_explain_leaves_other_import_errors_alone():
    assert compat.load_error(ModuleNotFoundError("x", name="requests")) is None
    kind, why = compat.load_error(ModuleNotFoundError("x", name="hdefereval"))
    assert kind == "needs Houdini" and "UI event loop" in why


# == registration ========================================================================
def test_register_scheduler_takes_houdinis_arguments_and_labels_by_class():
    class FarmScheduler(PyScheduler):
        @classmethod
        def templateName(cls):
            return "farmscheduler"

    registry = TypeRegistry()
    registry.registerScheduler(FarmScheduler)
    registry.registerScheduler(FarmScheduler, name="farm2", label="Farm",
                               parm_category="Farm")
    assert registry.schedulers == [(FarmScheduler, "farmscheduler", "FarmScheduler"),
                                   (FarmScheduler, "farm2", "Farm")]


# == base class services =================================================================
class Farm(CallbackServerMixin, PyScheduler):
    def __init__(self, scheduler, name):
        PyScheduler.__init__(self, scheduler, name)
        CallbackServerMixin.__init__(self, False)
        self.jobs = {"farmjob1": 3}  # its own, as OpenCue's scheduler keeps them
        self.logs = {}

    def onSchedule(self, work_item):
        return scheduleResult.CookSucceeded


def test_a_subclass_owns_self_jobs_and_the_base_keeps_its_own(tmp_path):
    farm = Farm.create("farm1", {}, str(tmp_path))
    assert farm.jobs == {"farmjob1": 3} and farm._processes.running == {}
    farm.setWorkingDir(str(tmp_path), str(tmp_path))
    item = WorkItem(1, "gen", command="true")
    job = farm.startJob(item, "true")
    job.wait(30)
    assert farm._processes.running == {1: job} and farm.jobs == {"farmjob1": 3}
    farm.waitJobs()


def test_python_scheduler_keeps_self_jobs_as_the_started_jobs():
    from schedcore.schedulers.python import PythonScheduler
    sched = PythonScheduler("p")
    assert sched.jobs is sched._processes.running


def test_parameters_set_override_and_environment(tmp_path):
    farm = Farm.create("farm1", {}, str(tmp_path))
    farm["pdg_tickperiod"] = 2.0
    assert farm["pdg_tickperiod"].evaluateFloat() == 2.0
    farm["farm_envmulti"] = 2
    farm["farm_envname1"], farm["farm_envvalue1"] = "A", "1"
    farm["farm_envname2"], farm["farm_envvalue2"] = "B", "$HIP"
    farm["farm_envunset"] = "C D"
    assert farm.resolveEnvParams("farm", None, True) == ({"A": "1", "B": str(tmp_path)},
                                                          ["C", "D"])
    assert farm.resolveEnvParams("other", None, False) == ({}, [])
    assert farm.resolveBaseEnvironment("farm", None, None) == {}
    farm["farm_inheritlocalenv"] = True
    assert farm.resolveBaseEnvironment("farm", None, None)["PATH"] == os.environ["PATH"]
    farm["farm_capacity"] = 7
    assert farm.evaluateIntOverride("gen", "farm", "capacity", None, -1) == 7
    assert farm.evaluateStringOverride("gen", "farm", "service", None, "hbatch") == "hbatch"
    assert farm.evaluateFloatOverride(None, "farm", "capacity", None, 0.0) == 7.0
    assert farm.isWaitForFailures is False
    env = {"MINE": "1"}
    assert farm.resolvePathMapping(env) is env
    assert farm.topNode().name() == "farm1" and farm._workItemResultServerAddr == ""
    assert farm._pythonBin() == sys.executable and farm._hythonBin()
    farm.context = "mine"  # a subclass may take the name over
    assert farm.context == "mine"


def test_common_job_variables_and_support_files(tmp_path):
    farm = Farm.create("farm1", {}, str(tmp_path))
    farm.setWorkingDir(str(tmp_path), str(tmp_path))
    item = WorkItem(4, "gen")
    env = farm.addCommonJobEnvVars({"KEEP": "1"}, item)
    assert env["KEEP"] == "1" and env["PDG_ITEM_NAME"] == "gen_4" and env["PDG_DIR"]
    farm._copyJobSupportFiles()
    assert (Path(farm.scriptDir(True)) / "pdgjob.py").is_file()
    item.environment["ITEM_VAR"] = "x"
    assert farm.jobEnvironment(item)["ITEM_VAR"] == "x"


def test_context_graph_finds_the_cooks_items(tmp_path):
    farm = Farm.create("farm1", {}, str(tmp_path))
    items = {5: WorkItem(5, "gen")}
    farm._cook = SimpleNamespace(find=lambda ref: items.get(ref),
                                 items=lambda: list(items.values()))
    graph = farm.context.graph
    assert graph.workItemById(5) is items[5] and graph.workItemById("5") is items[5]
    assert graph.workItemById(6) is None and graph.workItems == [items[5]]


# == a third-party style farm scheduler, cooked in a real process ========================
def test_fake_farm_module_registers_and_cooks_a_partition(tmp_path):
    net = {"format": "schedcore-network", "version": 1, "default_scheduler": "farm1",
           "schedulers": [{"name": "farm1", "type": "fakefarmscheduler",
                           "parms": {"pdg_tickperiod": 0.1},
                           "spare_parms": [  # what the module reads without declaring
                               {"name": "farm_queue", "type": "string", "value": "fx"},
                               {"name": "farm_priority", "type": "int", "value": 80},
                               {"name": "farm_title", "type": "string",
                                "value": "PDG $HIPNAME"}]}],
           "nodes": [
               {"name": "gen1", "type": "genericgenerator", "inputs": [],
                "parms": {"itemcount": 4, "command":
                          "__PDG_PYTHON__ -c \"import os; open(os.environ['PDG_ITEM_NAME']"
                          " + '.txt', 'w').write(os.environ['FARM_NODE'])\""}},
               {"name": "wait1", "type": "waitforall", "inputs": ["gen1"]},
               {"name": "gen2", "type": "genericgenerator", "inputs": ["wait1"],
                "parms": {"itemcount": 1, "command": "echo after > after.txt"}}]}
    (tmp_path / "farm.top.json").write_text(json.dumps(net))
    env = {**os.environ, "SCHEDCORE_PATH": str(FAKEFARM)}
    types = subprocess.run([sys.executable, "-m", "schedcore.cli", "types", "--json"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert "fakefarmscheduler" in types.stdout and "FakeFarmScheduler" in types.stdout
    done = subprocess.run([sys.executable, "-m", "schedcore.cli", "cook", "farm.top.json",
                           "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {WorkItemState.CookedSuccess.name: 6}
    assert sorted(p.read_text() for p in tmp_path.glob("gen1_*.txt")) == ["gen1"] * 4
    assert (tmp_path / "after.txt").is_file()
    farm_jobs = [json.loads(p.read_text()) for p in tmp_path.glob("pdgtemp/*/fakefarm/*.json")]
    assert len(farm_jobs) == 5 and {j["queue"] for j in farm_jobs} == {"fx"}
    assert {j["priority"] for j in farm_jobs} == {80}
    assert "cooking on farm queue fx" in done.stderr
