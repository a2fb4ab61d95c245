import json
import os

import pytest

from schedcore import network as network_file
from schedcore.errors import NetworkError

from .conftest import EXAMPLES


def write(tmp_path, data, name="n.top.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def problems_of(tmp_path, data) -> list[str]:
    with pytest.raises(NetworkError) as info:
        network_file.load(write(tmp_path, data))
    return info.value.problems


def base(**extra):
    return {"format": "schedcore-network", "version": 1,
            "schedulers": [{"name": "local", "type": "localscheduler", "parms": {}}],
            "nodes": [], **extra}


def test_example_loads_and_round_trips(tmp_path):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    assert net.node_names() == ["wedge1", "render1", "collect1", "summary1"]
    assert net.hip == str(EXAMPLES)
    copy = tmp_path / "copy.top.json"
    net.save(copy)
    again = network_file.load(copy)
    assert again.to_json() == net.to_json()
    assert again.hip == str(tmp_path)


def test_every_problem_is_reported_with_its_json_path(tmp_path):
    data = base(nodes=[
        {"name": "wedge1", "type": "wedge", "parms": {"wedgecount": "four"}, "inputs": []},
        {"name": "generic1", "type": "genericgenerator", "inputs": ["wedge1"],
         "parms": {"comand": "echo"}},
        {"name": "generic2", "type": "genericgenertor", "inputs": []},
        {"name": "generic3", "type": "genericgenerator", "inputs": ["wedge2"],
         "scheduler": "farm", "position": [10, "down"]},
    ])
    problems = problems_of(tmp_path, data)
    assert "nodes[0].parms.wedgecount: expected an integer, got 'four'" in problems
    assert any(p.startswith("nodes[1].parms.comand: genericgenerator has no parameter "
                            "'comand' (did you mean 'command'?") for p in problems)
    assert any(p.startswith("nodes[2].type: unknown node type 'genericgenertor' "
                            "(did you mean 'genericgenerator'?") for p in problems)
    assert ("nodes[3].inputs[0]: no node named 'wedge2' (did you mean 'wedge1'? "
            "known: generic1, generic2, generic3, wedge1)") in problems
    assert any(p.startswith("nodes[3].scheduler: no scheduler node named 'farm'")
               for p in problems)
    assert "nodes[3].position: expected [x, y], got [10, 'down']" in problems
    assert len(problems) == 6


def test_json_syntax_error_names_line_and_column(tmp_path):
    problems = problems_of(tmp_path, '{"format": "schedcore-network",\n  "nodes": [}\n')
    assert problems[0].startswith("line 2, column 13: not valid JSON")


def test_structure_problems(tmp_path):
    assert problems_of(tmp_path, [1, 2]) == [
        "(top): expected a JSON object with 'format', 'nodes' and 'schedulers'"]
    problems = problems_of(tmp_path, {"format": "other", "version": 9, "nodes": {},
                                      "schedulers": [{"name": "1bad", "type": "x"}]})
    assert "format: expected 'schedcore-network', got 'other'" in problems
    assert "version: this program reads version 1, got 9" in problems
    assert "nodes: expected a list" in problems
    assert any(p.startswith("schedulers[0].name: expected a name") for p in problems)


def test_duplicate_names_loops_and_wedge_attributes(tmp_path):
    problems = problems_of(tmp_path, base(nodes=[
        {"name": "a", "type": "genericgenerator", "inputs": ["b"]},
        {"name": "b", "type": "genericgenerator", "inputs": ["a"]},
        {"name": "b", "type": "wedge", "parms": {
            "wedgeattributes": [{"name": "x", "type": "vector"}]}},
    ]))
    assert "nodes[2].name: a second node named 'b'" in problems
    assert ("nodes[2].parms.wedgeattributes: [0].type: expected 'int', 'float' or "
            "'string', got 'vector'") in problems
    loops = problems_of(tmp_path, base(nodes=[
        {"name": "a", "type": "genericgenerator", "inputs": ["b"]},
        {"name": "b", "type": "genericgenerator", "inputs": ["a"]},
    ]))
    assert loops == ["nodes: connections form a loop: a -> b -> a"]


def test_missing_file_is_a_problem_not_a_traceback(tmp_path):
    with pytest.raises(NetworkError) as info:
        network_file.load(tmp_path / "missing.top.json")
    assert "cannot read the file" in str(info.value)


def test_hip_expands_in_parameters(tmp_path):
    path = write(tmp_path, base(nodes=[{"name": "g", "type": "genericgenerator",
                                        "parms": {"command": "ls $HIP/x"}}]))
    net = network_file.load(path)
    assert net.node_parms(net.node("g"))["command"].evaluateString() == f"ls {tmp_path}/x"


def test_network_without_schedulers_uses_a_local_scheduler(tmp_path):
    path = write(tmp_path, {"format": "schedcore-network", "nodes": []})
    net = network_file.load(path)
    assert [(s.name, s.type) for s in net.schedulers] == [("localscheduler1", "localscheduler")]
    assert net.default_scheduler == "localscheduler1"


def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    target = tmp_path / "keep.top.json"
    target.write_text("old contents")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        net.save(target)
    assert target.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.top.json"]


def test_topological_order_up_to_a_node(tmp_path):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    assert [n.name for n in net.topological("render1")] == ["wedge1", "render1"]
    with pytest.raises(KeyError, match="did you mean 'render1'"):
        net.topological("rendr1")
