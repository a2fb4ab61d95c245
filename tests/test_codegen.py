"""Save To Python and Load From Python."""

from __future__ import annotations

import json
import keyword
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schedcore import codegen
from schedcore import network as network_file
from schedcore.errors import SchedcoreError
from schedcore.network import Network, SchedulerSpec
from schedcore.parms import spare_json, spare_template, templates_of
from schedcore.registry import Registry
from schedcore.schedulers.python import (
    DEFAULT_CODE,
    FIELDS,
    SETTINGS,
    CallbackSyntaxError,
    field_problems,
)

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


# -- both forms, spare parameters, any name and value ------------------------------------------
SPARE = [{"name": "rush_title", "type": "string", "label": "Rush Title", "value": "$HIP/shot"},
         {"name": "rush_cpus", "type": "int", "label": "CPUs", "value": 4},
         {"name": "rush_pick", "type": "menu", "label": "Pick", "value": "b",
          "menu": ["a", "b"], "help": "one of two"}]
HOUDINI_SCHEDULE = ('import pathlib\n'
                    'pathlib.Path(self["rush_title"].evaluateString()).write_text(\n'
                    '    work_item.node.name if hasattr(work_item.node, "name") else "x")\n'
                    'return pdg.scheduleResult.CookSucceeded\n')


def spare_node(tmp_path, name="rush_farm", parms=None):
    return make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                    "parms": {"itemcount": 2, "command": "true"}}],
                        [{"name": name, "type": "pythonscheduler", "parms": parms or {},
                          "spare_parms": SPARE}])


def test_the_houdini_form_registers_lists_and_cooks(tmp_path):
    net = spare_node(tmp_path, parms={"onSchedule": HOUDINI_SCHEDULE, "pdg_maxtasks": 2})
    types = tmp_path / "studio" / "pdg" / "types"
    types.mkdir(parents=True)
    module = types / "rush_farm.py"
    done = subprocess.run([*SCHEDCORE, "save-python", net.path, "--scheduler", "rush_farm",
                           "--form", "houdini", "-o", module],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = module.read_text()
    for line in ("import pdg", "from pdg.scheduler import PyScheduler",
                 "from pdg.job.callbackserver import CallbackServerMixin",
                 "class RushFarm(CallbackServerMixin, PyScheduler):",
                 "    def __init__(self, scheduler, name):",
                 "        PyScheduler.__init__(self, scheduler, name)",
                 "    def templateName(cls):", "    def onSchedule(self, work_item):",
                 "def registerTypes(type_registry):",
                 '    type_registry.registerScheduler(RushFarm, label="RushFarm")'):
        assert line + "\n" in text, line
    assert not [line for line in text.splitlines() if "import schedcore" in line
                or "from schedcore" in line]
    env = {**os.environ, "SCHEDCORE_PATH": str(tmp_path / "studio")}
    listed = subprocess.run([*SCHEDCORE, "types", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stdout
    assert {"name": "rush_farm", "kind": "scheduler", "label": "RushFarm",
            "from": str(module)} in json.loads(listed.stdout)["types"]
    user = tmp_path / "user.top.json"  # a network of the new type, as a user writes it
    user.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "farm1", "type": "rush_farm",
                        "parms": {"rush_title": "$HIP/out.txt", "pdg_maxtasks": 1}}],
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 2, "command": "true"}}]}))
    cooked = subprocess.run([*SCHEDCORE, "cook", user, "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert cooked.returncode == 0, cooked.stderr
    assert json.loads(cooked.stdout)["counts"] == {"CookedSuccess": 2}
    assert (tmp_path / "out.txt").read_text() == "gen"
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--config",
                           str(ROOT / "pyproject.toml"), str(module)],
                          capture_output=True, text=True, timeout=60)
    assert ruff.returncode == 0, ruff.stdout


def test_spare_parameters_become_the_saved_types_own_and_load_back(tmp_path):
    net = spare_node(tmp_path)
    for form in codegen.FORMS:
        path = codegen.save_python(net, "rush_farm", tmp_path / f"{form}.py", form)
        other = make_network(tmp_path, [], [{"name": "blank", "type": "pythonscheduler"}],
                             name=f"{form}.top.json")
        codegen.load_into_node(other, "blank", path)
        blank = other.scheduler("blank")
        assert [spare_json(t, blank.parms[t.name]) for t in blank.spare_parms] == [
            spare_json(spare_template(e), e["value"]) for e in SPARE], form
        again, first = codegen.node_contents(other, "blank"), codegen.node_contents(
            net, "rush_farm")
        assert (again.bodies, again.settings) == (first.bodies, first.settings)


ODD_BODY = ('x = """tab\there\n    indented inside\n"quoted" \'\'\' end"""\n'
            '\n'
            'if x:\n'
            '\treturn x  # a tab indents this\n'
            'return "\\t\\n\\"\\"\\""\n')


@pytest.mark.parametrize("form", codegen.FORMS)
@pytest.mark.parametrize("name", ["class", "None", "_", "___", "_2", "pdg", "PyScheduler",
                                  "registerTypes", "json"])
def test_names_values_and_file_names_that_broke_the_module(tmp_path, form, name):
    net = Network(schedulers=[SchedulerSpec(name, "pythonscheduler", {
        "onSchedule": ODD_BODY, "pdg_tickperiod": math.nan, "pdg_workingdir": '"""\t\n\\',
        "pdg_maxitems": 10 ** 5000, "pdg_resultserverhost": "\x00\ud800\u2028"})],
        path=str(tmp_path / 'we"ird\\ \'"""name\n.top.json'))
    if form == "houdini":  # templateBody's JSON cannot carry it: refused, said why
        with pytest.raises(SchedcoreError, match="save the schedcore form instead"):
            codegen.save_python(net, name, tmp_path / "m.py", form)
        assert not (tmp_path / "m.py").exists()
        net.schedulers[0].parms["pdg_maxitems"] = -(10 ** 18)
    path = codegen.save_python(net, name, tmp_path / "m.py", form)
    compile(path.read_text(), str(path), "exec")
    values = codegen.load_python(path)
    assert values["onSchedule"] == ODD_BODY
    assert math.isnan(values["pdg_tickperiod"])
    assert values["pdg_maxitems"] == net.schedulers[0].parms["pdg_maxitems"]
    assert values["pdg_workingdir"] == '"""\t\n\\'
    assert values["pdg_resultserverhost"] == "\x00\ud800\u2028"


def test_a_value_that_cannot_be_written_is_refused_and_nothing_written(tmp_path):
    net = Network(schedulers=[SchedulerSpec("farm", "pythonscheduler",
                                            {"pdg_workingdir": {1, 2}})])
    with pytest.raises(SchedcoreError, match="Save To Python writes numbers"):
        codegen.save_python(net, "farm", tmp_path / "m.py")
    assert not (tmp_path / "m.py").exists()


def test_save_python_refuses_with_a_non_zero_exit(tmp_path):
    net = make_network(tmp_path, [], [{"name": "broken", "type": "pythonscheduler",
                                       "parms": {"onTick": "return (\n"}}])
    done = subprocess.run([*SCHEDCORE, "save-python", net.path, "--scheduler", "broken",
                           "--form", "houdini", "-o", tmp_path / "m.py"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "onTick, line 1" in done.stderr
    assert not (tmp_path / "m.py").exists()


# -- the property test ---------------------------------------------------------------------------
NAMES = st.one_of(st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z"),
                  st.sampled_from([*keyword.kwlist, "_", "__", "___", "_1", "PyScheduler",
                                   "Scheduler", "pdg", "json", "SETTINGS", "registerTypes"]))
# "scheduler" is the base class's type name, which the registry replaces with the class's
TYPE_NAMES = NAMES.filter(lambda n: n != "scheduler")
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30) | st.text(max_size=8)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
JSONS = st.recursive(st.none() | st.booleans() | st.integers() | FLOATS | TEXT,
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
SETTING_VALUES = {"string": TEXT, "int": st.integers() | st.integers(10 ** 4400, 10 ** 4500),
                  "float": FLOATS, "bool": st.booleans()}
STRING_TEXT = st.text(st.characters(blacklist_characters='\\"\r\x00',
                                    blacklist_categories=("Cs",)), max_size=20)
STATEMENTS = st.one_of(
    TEXT.map(lambda v: f"return {codegen.literal(v)}"),
    STRING_TEXT.filter(lambda v: not v.endswith('"')).map(lambda v: f'x = """{v}"""'),
    st.just("if True:\n\treturn 1"),
    st.just("for i in range(2):\n        pass\n"),
    STRING_TEXT.filter(lambda v: "\n" not in v).map(lambda v: f"# {v}"),
    st.sampled_from(["", " ", "\t", "\n"]))


@st.composite
def spare_parms(draw):
    names = draw(st.lists(st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}\Z"), unique=True,
                          max_size=4).map(lambda ns: [n for n in ns if n not in
                                                       {t.name for t in SETTINGS}]))
    entries = []
    for name in names:
        kind = draw(st.sampled_from(["string", "int", "float", "bool", "menu", "code",
                                     "json"]))
        entry = {"name": name, "type": kind, "label": draw(TEXT), "help": draw(TEXT)}
        if kind == "menu":
            entry["menu"] = draw(st.lists(TEXT, min_size=1, max_size=3))
            entry["value"] = draw(st.sampled_from(entry["menu"]))
        else:
            entry["value"] = draw({"string": TEXT, "code": TEXT, "int": st.integers(),
                                   "float": FLOATS, "bool": st.booleans(),
                                   "json": JSONS}[kind])
        entries.append(entry)
    return entries


@st.composite
def python_nodes(draw):
    name = draw(TYPE_NAMES)
    parms = {t.name: draw(SETTING_VALUES[t.kind]) for t in SETTINGS
             if draw(st.booleans())}
    for f in FIELDS:
        if draw(st.booleans()):
            lines = draw(st.lists(STATEMENTS, max_size=4))
            parms[f.name] = "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n", "  "]))
    assume(not field_problems(name, {k: v for k, v in parms.items() if k in FIELD_NAMES}))
    spare = draw(spare_parms())
    for entry in spare:
        parms[entry["name"]] = entry["value"]
    path = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
    spec = SchedulerSpec(name, "pythonscheduler", parms,
                         spare_parms=[spare_template(e) for e in spare])
    return Network(schedulers=[spec], path=f"/tmp/{path}.top.json")


FIELD_NAMES = {f.name for f in FIELDS}
EXAMPLES_RUN = {"n": 0}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(net=python_nodes(), form=st.sampled_from(codegen.FORMS))
def test_property_save_to_python_compiles_imports_and_round_trips(net, form):
    spec = net.schedulers[0]
    if form == "houdini" and any(isinstance(v, int) and abs(v) > 10 ** 4000
                                 for v in spec.parms.values()):
        with pytest.raises(SchedcoreError, match="templateBody's JSON"):
            codegen.scheduler_module(net, spec.name, form)
        return
    with tempfile.TemporaryDirectory() as folder:
        types = Path(folder) / "pdg" / "types"
        types.mkdir(parents=True)
        path = codegen.save_python(net, spec.name, types / "saved.py", form)
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
        registry = Registry(folders=[types], use_entry_points=False)
        assert not registry.failures, [str(f) for f in registry.failures]
        cls = registry.get(spec.name)
        EXAMPLES_RUN["n"] += 1
    templates = {t.name: t for t in templates_of(cls)}
    values = {**{t.name: t.default for t in SETTINGS}, **spec.parms}
    for t in SETTINGS:  # the node's values are the saved type's defaults, exactly
        assert codegen.literal(templates[t.name].default) == codegen.literal(values[t.name])
    for t in spec.spare_parms:
        got = templates[t.name]
        assert (got.kind, got.label, got.help, got.menu) == (t.kind, t.label, t.help, t.menu)
        assert codegen.literal(got.default) == codegen.literal(values[t.name])
    text = codegen.scheduler_module(net, spec.name, form)
    found = codegen.read_module(text)
    for f in FIELDS:
        body = str(values.get(f.name, DEFAULT_CODE[f.name]))
        expected = "" if codegen.is_empty(body) else codegen.canonical(body)
        assert found.bodies[f.name] == expected
        assert (f.name in vars(cls)) == bool(expected)
