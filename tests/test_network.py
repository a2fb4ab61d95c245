import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.errors import KNOWN_LISTED, CookError, NetworkError
from schedcore.schedulers import Scheduler

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


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_file_nested_too_deep_is_a_problem_not_a_traceback(tmp_path, depth):
    path = tmp_path / "deep.top.json"
    path.write_text('{"format": "schedcore-network", "nodes": ' + "[" * depth + "]" * depth
                    + "}")
    with pytest.raises(NetworkError) as raised:
        network_file.load(path)
    assert len(raised.value.problems) == 1 and str(path) in str(raised.value)


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    path = tmp_path / "latin1.top.json"
    path.write_bytes(b'{"format": "schedcore-network",\n "nodes": [{"name": "caf\xe9"}]}')
    with pytest.raises(NetworkError) as raised:
        network_file.load(path)
    assert raised.value.problems == [
        "line 2: byte 0xe9 is not UTF-8 text: a network file is UTF-8; save it again as UTF-8"]


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


def chain_downstream_first(count: int) -> dict:
    """n0 <- n1 <- ... listed last node first: the deepest walk there is."""
    return base(nodes=[{"name": f"n{i}", "type": "genericgenerator",
                        "inputs": [f"n{i - 1}"] if i else []} for i in reversed(range(count))])


@pytest.mark.parametrize("count", [1_200, 20_000])
def test_a_long_chain_listed_downstream_first_loads_and_orders(tmp_path, count):
    net = network_file.load(write(tmp_path, chain_downstream_first(count)))
    assert [n.name for n in net.topological()] == [f"n{i}" for i in range(count)]
    assert [n.name for n in net.topological(f"n{count // 2}")] == [
        f"n{i}" for i in range(count // 2 + 1)]
    assert net.node("n0").inputs == [] and net.node(f"n{count - 1}").inputs == [
        f"n{count - 2}"]


def test_a_loop_closing_a_long_chain_is_reported_with_its_path(tmp_path):
    data = chain_downstream_first(5_000)
    data["nodes"][-1]["inputs"] = ["n4999"]  # n0 now waits for the last node
    problems = problems_of(tmp_path, data)
    path = " -> ".join(f"n{i}" for i in reversed(range(5_000)))
    assert problems == [f"nodes: connections form a loop: {path} -> n4999"]


def test_node_lookup_follows_edits_of_the_node_list(tmp_path):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    render = net.node("render1")
    net.nodes.remove(net.node("wedge1"))  # positions shift, as the studio's delete does
    assert net.node("render1") is render
    render.name = "render2"  # a rename
    with pytest.raises(KeyError, match="did you mean 'render2'"):
        net.node("render1")
    assert net.node("render2") is render
    net.nodes = [network_file.NodeSpec("render1", "genericgenerator")]  # undo's new list
    assert net.node("render1") is net.nodes[0]


def test_many_unknown_inputs_in_a_large_network_name_a_bounded_list(tmp_path):
    count = 2_000  # every node waits for a node that was renamed away
    data = base(nodes=[{"name": f"n{i}", "type": "genericgenerator", "inputs": ["root"]}
                       for i in range(count)])
    problems = problems_of(tmp_path, data)
    assert len(problems) == count
    shown = ", ".join(sorted(f"n{i}" for i in range(count))[:KNOWN_LISTED])
    assert problems[7] == (f"nodes[7].inputs[0]: no node named 'root' (known: {shown}, ... "
                           f"(2,000 in all))")


@st.composite
def dags(draw, loop: bool = False):
    """Node i takes inputs among nodes 0..i-1 (a DAG), listed in a random order; with
    ``loop``, one more connection from a node to one of its descendants' inputs."""
    count = draw(st.integers(2 if loop else 1, 30))
    inputs = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else []
              for i in range(count)]
    if loop:
        low = draw(st.integers(0, count - 2))
        high = draw(st.integers(low + 1, count - 1))
        chain = [low + 1 + k for k in range(high - low)]
        for upstream, node in zip([low, *chain], chain, strict=False):
            if upstream not in inputs[node]:
                inputs[node].append(upstream)  # low -> ... -> high
        inputs[low].append(high)  # and back: a loop through low and high
    listing = draw(st.permutations(range(count)))
    return base(nodes=[{"name": f"n{i}", "type": "genericgenerator",
                        "inputs": [f"n{j}" for j in inputs[i]]} for i in listing])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags_in_any_listing_order_come_out_in_dependency_order(data):
    net = network_file.from_json(data, "random")
    order = [n.name for n in net.topological()]
    assert sorted(order) == sorted(n["name"] for n in data["nodes"])
    seen = set()
    for name in order:
        assert set(net.node(name).inputs) <= seen, f"{name} before one of its inputs"
        seen.add(name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(loop=True))
def test_random_graphs_with_a_loop_are_reported_with_a_real_loop(data):
    with pytest.raises(NetworkError) as info:
        network_file.from_json(data, "random")
    inputs = {n["name"]: n["inputs"] for n in data["nodes"]}
    assert info.value.problems
    for problem in info.value.problems:
        prefix = "nodes: connections form a loop: "
        assert problem.startswith(prefix)
        loop = problem[len(prefix):].split(" -> ")
        assert loop[0] == loop[-1] and len(loop) > 2
        for node, upstream in zip(loop, loop[1:], strict=False):
            assert upstream in inputs[node]


def scheduler_node(parms: dict) -> dict:
    return base(schedulers=[{"name": "local1", "type": "localscheduler", "parms": parms}],
                nodes=[{"name": "g", "type": "genericgenerator", "parms": {"itemcount": 1}}])


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN"])
def test_a_tick_period_that_is_no_finite_number_is_a_problem_of_the_file(tmp_path, text):
    document = json.dumps(scheduler_node({"pdg_tickperiod": 0.5})).replace("0.5", text)
    value = float(text.replace("Infinity", "inf"))
    assert problems_of(tmp_path, document) == [
        f"schedulers[0].parms.pdg_tickperiod: expected a finite number, got {value!r}"]


@pytest.mark.parametrize("period", [0, -1, -0.5, 1e300, 86_401, 10**400, float("inf"),
                                    float("nan"), "fast", "$NO_SUCH_TICK", "inf"])
def test_a_bad_tick_period_is_a_cook_error_naming_scheduler_and_parameter(tmp_path, period):
    net = network_file.load(write(tmp_path, scheduler_node({})))
    scheduler = Scheduler("sched1", {"pdg_tickperiod": period}, str(tmp_path))
    with pytest.raises(CookError) as info:
        Engine(net, scheduler=scheduler, journal=False)
    assert str(info.value) == (f"scheduler 'sched1': parameter pdg_tickperiod is {period!r}; "
                               f"it must be a number of seconds above 0 and at most 86,400 "
                               f"(a day)")


@pytest.mark.parametrize("period", [0, -2, 1e9])
def test_a_bad_tick_period_in_a_network_file_stops_the_cook_before_it_starts(tmp_path, period):
    net = network_file.load(write(tmp_path, scheduler_node({"pdg_tickperiod": period})))
    with pytest.raises(CookError, match=f"scheduler 'local1': parameter pdg_tickperiod is "
                                        f"{period!r}; it must be"):
        Engine(net, journal=False)


@pytest.mark.parametrize("count", [0, -2, "many", float("inf"), float("nan")])
def test_a_bad_max_items_per_tick_is_a_cook_error(tmp_path, count):
    net = network_file.load(write(tmp_path, scheduler_node({})))
    scheduler = Scheduler("sched1", {"pdg_maxitems": count}, str(tmp_path))
    with pytest.raises(CookError) as info:
        Engine(net, scheduler=scheduler, journal=False)
    assert str(info.value) == (f"scheduler 'sched1': parameter pdg_maxitems is {count!r}; "
                               f"it must be -1 for no limit, or a whole number of items from 1")


@pytest.mark.parametrize("period", [0.0001, 0.5, "0.25", 86_400])
def test_good_tick_periods_are_kept(tmp_path, period):
    net = network_file.load(write(tmp_path, scheduler_node({})))
    scheduler = Scheduler("sched1", {"pdg_tickperiod": period, "pdg_maxitems": -1},
                          str(tmp_path))
    engine = Engine(net, scheduler=scheduler, journal=False)
    assert engine.schedulers == [scheduler]


# -- spare parameters -------------------------------------------------------------------------
RUSH = [{"name": "rush_title", "type": "string", "label": "Rush Title", "value": "$HIP/shot"},
        {"name": "rush_cpus", "type": "int", "value": 4},
        {"name": "rush_queue", "type": "menu", "menu": ["low", "high"], "value": "high",
         "help": "Where the job waits."}]


def rush_network(**scheduler):
    return base(schedulers=[{"name": "rush", "type": "pythonscheduler", "parms": {},
                             "spare_parms": RUSH, **scheduler}])


def test_spare_parameters_load_save_and_reach_the_scheduler(tmp_path):
    net = network_file.load(write(tmp_path, rush_network()))
    spec = net.scheduler("rush")
    assert [t.name for t in spec.spare_parms] == ["rush_title", "rush_cpus", "rush_queue"]
    assert spec.parms == {"rush_title": "$HIP/shot", "rush_cpus": 4, "rush_queue": "high"}
    saved = spec.to_json()
    assert saved["parms"] == {} and saved["spare_parms"] == [
        {"name": "rush_title", "type": "string", "label": "Rush Title", "value": "$HIP/shot"},
        {"name": "rush_cpus", "type": "int", "label": "", "value": 4},
        {"name": "rush_queue", "type": "menu", "label": "", "value": "high",
         "help": "Where the job waits.", "menu": ["low", "high"]}]
    net.save(tmp_path / "again.top.json")
    assert network_file.load(tmp_path / "again.top.json").to_json() == net.to_json()
    from schedcore.registry import scheduler_types
    instance = scheduler_types()["pythonscheduler"].create("rush", spec.values(), net.hip)
    assert instance["rush_title"].evaluateString() == f"{tmp_path}/shot"
    assert instance["rush_cpus"].evaluateInt() == 4
    assert instance["pdg_workingdir"].evaluateString() == str(tmp_path)


def test_a_network_without_spare_parameters_is_written_as_before(tmp_path):
    net = network_file.load(EXAMPLES / "wedge_summary.top.json")
    assert all("spare_parms" not in s.to_json() for s in net.schedulers)


def test_a_cook_reads_spare_parameters_from_callbacks(tmp_path):
    code = ('import pathlib\n'
            'pathlib.Path(self["rush_title"].evaluateString()).write_text(\n'
            '    str(self["rush_cpus"].evaluateInt()))\n'
            'return pdg.scheduleResult.CookSucceeded\n')
    data = rush_network(parms={"onSchedule": code})
    data["nodes"] = [{"name": "gen", "type": "genericgenerator", "inputs": [],
                      "parms": {"itemcount": 1, "command": "true"}}]
    result = Engine(network_file.load(write(tmp_path, data))).run()
    assert result.ok, [i.reason for i in result.items]
    assert (tmp_path / "shot").read_text() == "4"


def test_spare_parameter_problems_have_json_paths(tmp_path):
    spare = [{"name": "pdg_workingdir", "type": "string"},
             {"name": "rush_title", "type": "strng", "lable": "x"},
             {"name": "rush_cpus", "type": "int", "value": "four"},
             {"name": "rush_cpus", "type": "int"},
             {"name": "2bad", "type": "float", "value": float("nan")},
             {"name": "pick", "type": "menu", "value": "a"},
             "rush"]
    problems = problems_of(tmp_path, base(schedulers=[
        {"name": "rush", "type": "pythonscheduler", "spare_parms": spare,
         "parms": {"rush_title": "typo", "rush_tilte": "x"}}]))
    expected = [
        "schedulers[0].spare_parms[0].name: pythonscheduler has a parameter 'pdg_workingdir' "
        "already: a spare parameter needs a name of its own",
        "schedulers[0].spare_parms[1].lable: unknown key (did you mean 'label'?",
        "schedulers[0].spare_parms[1].type: expected one of string, int, float, bool, menu, "
        "code, json, got 'strng'",
        "schedulers[0].spare_parms[2].value: expected an integer, got 'four'",
        "schedulers[0].spare_parms[4].name: expected a name of letters, digits and _, "
        "got '2bad'",
        "schedulers[0].spare_parms[5].menu: expected a list of the values to choose from",
        "schedulers[0].spare_parms[6]: expected an object",
        "schedulers[0].parms.rush_tilte: pythonscheduler has no parameter 'rush_tilte' "
        "(did you mean 'rush_title'?",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert "schedulers[0].spare_parms[3].name: a second spare parameter named 'rush_cpus'" \
        in problems
    assert not any(p.startswith("schedulers[0].parms.rush_title") for p in problems)


def test_a_typo_in_a_declared_parameter_is_still_an_error(tmp_path):
    problems = problems_of(tmp_path, rush_network(parms={"pdg_workingdr": "$HIP"}))
    assert len(problems) == 1 and problems[0].startswith(
        "schedulers[0].parms.pdg_workingdr: pythonscheduler has no parameter 'pdg_workingdr' "
        "(did you mean 'pdg_workingdir'?")
    assert problems[0].endswith("(a parameter of the node's own is declared in spare_parms)")


def test_a_spare_value_in_two_places_and_spares_on_a_top_node_are_refused(tmp_path):
    data = rush_network(parms={"rush_cpus": 8})
    data["nodes"] = [{"name": "gen", "type": "genericgenerator", "inputs": [],
                      "spare_parms": [{"name": "x", "type": "int"}]}]
    problems = problems_of(tmp_path, data)
    assert "schedulers[0].parms.rush_cpus: the spare parameter 'rush_cpus' has its value in " \
           "its spare_parms entry already: keep one of the two" in problems
    assert "nodes[0].spare_parms: only scheduler nodes have spare parameters" in problems


def test_a_spare_value_may_sit_in_parms_instead(tmp_path):
    data = base(schedulers=[{"name": "rush", "type": "localscheduler",
                             "parms": {"rush_cpus": 8},
                             "spare_parms": [{"name": "rush_cpus", "type": "int"},
                                             {"name": "rush_note", "type": "string"}]}])
    spec = network_file.load(write(tmp_path, data)).scheduler("rush")
    assert spec.parms == {"rush_cpus": 8, "rush_note": ""}
    assert spec.to_json()["spare_parms"][0]["value"] == 8
