"""Save To Python and Load From Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from schedcore import codegen
from schedcore import network as network_file
from schedcore.errors import SchedcoreError
from schedcore.schedulers.python import DEFAULT_CODE, CallbackSyntaxError

from .conftest import EXAMPLES, ROOT, make_network

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]


def test_round_trip_through_the_types_path(tmp_path):
    """Save from an example, find it on SCHEDCORE_PATH in a new process, cook with it, and
    load it back."""
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    types = tmp_path / "studio" / "pdg" / "types"
    types.mkdir(parents=True)
    module = types / "parallelpy.py"
    done = subprocess.run([*SCHEDCORE, "save-python", tmp_path / "ex/python_scheduler.top.json",
                           "--scheduler", "parallelpy", "-o", module],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "SCHEDCORE_PATH": str(tmp_path / "studio")}
    listed = subprocess.run([*SCHEDCORE, "types", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stdout
    entry = next(t for t in json.loads(listed.stdout)["types"] if t["name"] == "parallelpy")
    assert entry == {"name": "parallelpy", "kind": "scheduler", "label": "Parallelpy",
                     "from": str(module)}
    cooked = subprocess.run([*SCHEDCORE, "cook", tmp_path / "ex/wedge_summary.top.json",
                             "--scheduler", "parallelpy", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert cooked.returncode == 0, cooked.stderr
    result = json.loads(cooked.stdout)
    assert result["counts"] == {"CookedSuccess": 14}
    assert all(i["status_uri"].startswith("http://") for i in result["items"]
               if i["node"] == "render1")  # the saved scheduler's own getStatusURI
    values = codegen.load_python(module)
    assert {name: values[name] for name in DEFAULT_CODE} == DEFAULT_CODE
    assert values["pdg_maxtasks"] == 3 and values["pdg_workingdir"] == "$HIP"


def test_the_module_compiles_passes_ruff_and_reads_well(tmp_path):
    net = network_file.load(EXAMPLES / "python_scheduler.top.json")
    path = codegen.save_python(net, "parallelpy", tmp_path / "parallelpy.py")
    text = path.read_text()
    compile(text, str(path), "exec")
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--config",
                           str(ROOT / "pyproject.toml"), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout
    assert "class Parallelpy(Scheduler):" in text
    assert "    def onSchedule(self, work_item):\n        # Called when" in text
    assert "def registerTypes(type_registry):" in text
    assert '"pdg_maxtasks": 3,' in text
    imports = [line for line in text.splitlines() if line.startswith(("import", "from"))]
    assert all(line.startswith("from schedcore") for line in imports)


def test_custom_fields_round_trip(tmp_path):
    fields = {
        "onSchedule": ("# mine: every other item waits\n"
                       "if work_item.index % 2:\n"
                       "    return pdg.scheduleResult.Deferred\n\n"
                       "    # a comment at the end of a block\n"
                       "return pdg.scheduleResult.CookSucceeded\n"),
        "onTick": "",  # empty: the base default, no method
        "getLogURI": "return ''\n",
    }
    net = make_network(tmp_path, [], [{"name": "my_farm", "type": "pythonscheduler",
                                       "parms": {**fields, "pdg_tickperiod": 0.25}}])
    path = codegen.save_python(net, "my_farm", tmp_path / "my_farm.py")
    assert "class MyFarm(Scheduler):" in path.read_text()
    assert "def onTick" not in path.read_text()
    other = make_network(tmp_path, [], [{"name": "blank", "type": "pythonscheduler",
                                         "parms": {}}], name="other.top.json")
    codegen.load_into_node(other, "blank", path)
    parms = other.scheduler("blank").parms
    assert parms["onSchedule"] == fields["onSchedule"]
    assert parms["onTick"] == "" and parms["getLogURI"] == "return ''\n"
    assert parms["pdg_tickperiod"] == 0.25


def test_a_field_that_does_not_compile_refuses_the_save(tmp_path):
    net = make_network(tmp_path, [], [{"name": "broken", "type": "pythonscheduler",
                                       "parms": {"onTick": "# fine\nreturn (\n"}}])
    target = tmp_path / "broken.py"
    target.write_text("# the old module\n")
    with pytest.raises(CallbackSyntaxError, match=r"onTick, line 2: '\(' was never closed"):
        codegen.save_python(net, "broken", target)
    assert target.read_text() == "# the old module\n"


def test_only_python_scheduler_nodes_are_saved(tmp_path):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    with pytest.raises(SchedcoreError, match="localscheduler1 is a localscheduler node"):
        codegen.save_python(net, "localscheduler1", tmp_path / "x.py")
