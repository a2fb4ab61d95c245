"""The Dask scheduler on a real Dask cluster of worker processes on loopback."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import psutil

from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.workitem import WorkItemState as S

from .conftest import make_network


def dask_net(tmp_path, nodes, **parms):
    return make_network(tmp_path, nodes, [{"name": "dask", "type": "daskscheduler",
                                           "parms": {"dask_workers": 2, **parms}}])


def test_items_run_as_dask_tasks_and_report_back(tmp_path):
    script = "work_item.setIntAttrib('double', work_item.attribValue('wedgeindex') * 2)"
    net = dask_net(tmp_path, [
        {"name": "w", "type": "wedge", "parms": {"wedgecount": 3}},
        {"name": "cmd", "type": "genericgenerator", "inputs": ["w"],
         "parms": {"command": "sh -c 'echo on a dask worker @wedgeindex > "
                              "__PDG_DIR__/out_@wedgeindex.txt; echo logged'",
                   "outputfile": "__PDG_DIR__/out_@wedgeindex.txt"}},
        {"name": "py", "type": "pythonscript", "inputs": ["w"], "parms": {"script": script}},
        {"name": "bad", "type": "genericgenerator", "parms": {"command": "sh -c 'exit 4'"}},
    ])
    result = Engine(net).run()
    by_node: dict[str, list] = {}
    for item in result.items:
        by_node.setdefault(item.node, []).append(item)
    assert {i.state for i in by_node["cmd"]} == {S.CookedSuccess}
    for item in by_node["cmd"]:
        assert Path(item.outputFiles[0].path).read_text() == \
            f"on a dask worker {item.attribValue('wedgeindex')}\n"
        assert Path(urlparse(item.log_uri).path).read_text() == "logged\n"
    assert sorted(i.attribValue("double") for i in by_node["py"]) == [0, 2, 4]
    (bad,) = by_node["bad"]
    assert bad.state == S.CookedFail and bad.reason == "the command ended with exit code 4"


def test_cancel_kills_the_commands_on_the_workers(tmp_path):
    pids = tmp_path / "pids"
    net = dask_net(tmp_path, [{"name": "long", "type": "genericgenerator", "parms": {
        "itemcount": 2, "command": f"sh -c 'echo $$ >> {pids}; sleep 120'"}}])
    engine = Engine(net)
    cooking = threading.Event()
    engine.events.subscribe(
        lambda e: cooking.set() if isinstance(e, ItemStateChanged) and sum(
            i.state == S.Cooking for i in engine.items.values()) == 2 else None)
    engine.start()
    assert cooking.wait(60)
    for _ in range(200):  # both commands have written their pid
        if pids.exists() and len(pids.read_text().split()) == 2:
            break
        threading.Event().wait(0.05)
    engine.cancel()
    result = engine.wait(60)
    assert result.canceled
    assert {i.state for i in result.items} == {S.CookedCancel}
    for pid in map(int, pids.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
