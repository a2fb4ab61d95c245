"""Nothing lost: resume after a killed cook, faults of jobs and disks, a load of 100,000 items
reported by 64 processes, and random network files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.errors import NetworkError
from schedcore.events import ItemStateChanged
from schedcore.workitem import WorkItemState as S

from .conftest import ROOT, make_network
from .test_resultserver import Remote

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]
JOBS = ROOT / "schedcore" / "jobs"


def wait_for(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def journal_states(path: Path) -> Counter:
    if not path.exists():
        return Counter()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT data FROM events WHERE kind = 'state'").fetchall()
    except sqlite3.OperationalError:  # the cook is just making it
        rows = []
    finally:
        db.close()
    return Counter(json.loads(data)["state"] for (data,) in rows)


def test_a_killed_cook_resumes_without_running_cooked_items_again(tmp_path):
    # three quick items, three that hang until the resume; each counts its runs, writes its
    # output, and a Python Script item after each reports an attribute to the result server
    command = ("sh -c 'echo run >> __PDG_DIR__/runs_@pdg_index.txt; "
               "if [ @pdg_index -ge 3 ]; then while [ ! -e __PDG_DIR__/resume ]; do sleep 0.1;"
               " done; fi; touch __PDG_DIR__/out_@pdg_index.txt'")
    path = tmp_path / "resume.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "schedulers": [
        {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 4}}], "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 6, "command": command,
                   "outputfile": "__PDG_DIR__/out_@pdg_index.txt"}},
        {"name": "py", "type": "pythonscript", "inputs": ["gen"],
         "parms": {"script": "work_item.setIntAttrib('seen', work_item.index * 10)"}}]}))
    journal = tmp_path / "pdgtemp" / "journal" / "resume.top.json.sqlite"
    cook = subprocess.Popen([*SCHEDCORE, "cook", str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: journal_states(journal)["CookedSuccess"] >= 6, what="6 items cooked")
        jobs = psutil.Process(cook.pid).children(recursive=True)
        cook.send_signal(signal.SIGKILL)  # the cook dies at once, its jobs orphaned
        cook.wait(30)
    finally:
        if cook.poll() is None:
            cook.kill()
            cook.wait()
    for job in jobs:  # the orphans of the killed cook
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    psutil.wait_procs(jobs, timeout=10)

    (tmp_path / "resume").touch()
    done = subprocess.run([*SCHEDCORE, "cook", str(path), "--resume", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    states = {i["name"]: i["state"] for i in result["items"]}
    gen = {i["name"]: i for i in result["items"] if i["node"] == "gen"}
    cached = [name for name, item in gen.items() if item["state"] == "CookedCache"]
    assert len(cached) == 3 and result["counts"]["CookedCache"] == 6  # 3 gen + their 3 py
    for item in gen.values():
        runs = (tmp_path / f"runs_{item['id'] - 1}.txt").read_text().count("run")
        assert runs == (1 if item["state"] == "CookedCache" else 2), item
    seen = sorted(i["attributes"]["seen"]["values"][0] for i in result["items"]
                  if i["node"] == "py")
    assert seen == [0, 10, 20, 30, 40, 50]  # reported in the first cook or the second: kept
    assert set(states.values()) == {"CookedCache", "CookedSuccess"}


def test_a_job_killed_with_sigkill_fails_its_item(tmp_path):
    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator",
                                   "parms": {"itemcount": 2, "command": "sleep 30"}}])
    engine = Engine(net)
    engine.start()
    wait_for(lambda: len([p for p in psutil.Process().children(recursive=True)
                          if p.name() == "sleep"]) == 2, what="both jobs running")
    victim = next(p for p in psutil.Process().children(recursive=True) if p.name() == "sleep")
    victim.send_signal(signal.SIGKILL)  # as the out-of-memory killer would
    wait_for(lambda: any(i.state == S.CookedFail for i in engine.items.values()),
             what="the killed job's item to fail")
    engine.cancel()
    result = engine.wait(30)
    states = sorted(i.state.name for i in result.items)
    assert states == ["CookedCancel", "CookedFail"]
    assert result.failed[0].reason == "the command ended with signal 9"


def test_a_hanging_job_times_out_with_its_tree_killed(tmp_path):
    pids = tmp_path / "pids"
    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator", "parms": {
        "command": f"sh -c 'sleep 120 & echo $! > {pids}; wait'"}}],
        [{"name": "local", "type": "localscheduler", "parms": {"maxruntime": 1.0}}])
    (item,) = Engine(net).run().items
    assert item.state == S.CookedFail
    assert item.reason == "ran longer than 1 s (maxruntime): it was killed with its process tree"
    sleeper = int(pids.read_text())
    assert not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == "zombie"


def test_an_unreachable_result_server_fails_the_item_with_a_clear_log(tmp_path):
    script = ("import os, sys\nsys.path.insert(0, os.environ['PDG_SCRIPTDIR'])\n"
              "os.environ['PDG_RESULT_SERVER'] = '127.0.0.1:9'  # nothing listens there\n"
              "import pdgjob\npdgjob.setIntAttrib('x', 1)\npdgjob.flush()\n")
    (tmp_path / "report.py").write_text(script)
    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator", "parms": {
        "command": '"__PDG_PYTHON__" -c "import runpy; runpy.run_path(\'$HIP/report.py\')"'}}])
    os.environ["PDG_REPORT_TIMEOUT"] = "2"
    try:
        (item,) = Engine(net).run().items
    finally:
        del os.environ["PDG_REPORT_TIMEOUT"]
    assert item.state == S.CookedFail
    log = Path(item.log_uri[len("file://"):]).read_text()
    assert "the result server at 127.0.0.1:9 did not take the reports for 2 s (last: " \
           "connection refused)" in log


def test_a_full_disk_leaves_the_old_files_intact(tmp_path):
    """The disk refuses the write (a file size limit here): the old network file and the old
    scheduler module are kept whole, and no temporary file is left behind."""
    old_net, old_module = tmp_path / "net.top.json", tmp_path / "module.py"
    old_net.write_text("old network\n")
    old_module.write_text("# old module\n")
    code = f"""
import resource, signal, sys
from schedcore import codegen, network
net = network.load({str(ROOT / 'schedcore/examples/python_scheduler.top.json')!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
failed = 0
for save in (lambda: net.save({str(old_net)!r}),
             lambda: codegen.save_python(net, "parallelpy", {str(old_module)!r})):
    try:
        save()
    except OSError as exc:
        print(exc)
        failed += 1
sys.exit(0 if failed == 2 else 1)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "File too large" in done.stdout
    assert old_net.read_text() == "old network\n"
    assert old_module.read_text() == "# old module\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module.py", "net.top.json"]


REPORTER = """
import sys, pdgjob
address, job, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reporter = pdgjob.Reporter(address, job, first)
for item in range(first, first + count):
    reporter.report("start_cook", item=item)
    reporter.report("attrib", item=item, name="n", type="Int", value=item, index=0)
    reporter.report("success", item=item, duration=0.0)
    reporter.report("success", item=item, duration=0.0)  # twice: counted once
reporter.flush()
"""


@pytest.mark.timeout(600)
def test_load_of_100000_items_from_64_reporting_processes(tmp_path):
    count, reporters = 100_000, 64
    net = make_network(tmp_path, [{"name": "load", "type": "genericgenerator",
                                   "parms": {"itemcount": count, "command": "x"}}])
    scheduler = Remote(pdg_maxitems=-1, pdg_workingdir=str(tmp_path))
    engine = Engine(net, scheduler=scheduler)
    finals: Counter = Counter()
    scheduled = []
    engine.events.subscribe(lambda e: finals.update([e.item.id])
                            if isinstance(e, ItemStateChanged) and e.new.is_final else None)
    engine.events.subscribe(lambda e: scheduled.append(1)
                            if isinstance(e, ItemStateChanged) and e.new == S.Scheduled else None)
    engine.start()
    wait_for(lambda: len(scheduled) == count, what="every item scheduled")
    address = scheduler.workItemResultServerAddr()
    share = -(-count // reporters)
    procs = [subprocess.Popen([sys.executable, "-c", REPORTER, address, engine.job_id,
                               str(1 + n * share), str(min(share, count - n * share))],
                              env={**os.environ, "PYTHONPATH": str(JOBS)})
             for n in range(reporters)]
    try:
        assert all(proc.wait(300) == 0 for proc in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result = engine.wait(120)
    assert result.ok and result.counts == {"CookedSuccess": count}
    assert len(finals) == count and set(finals.values()) == {1}  # one final state each
    assert all(item.attribValue("n") == item.id for item in result.items)


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=20)
node_types = st.sampled_from(["genericgenerator", "wedge", "filepattern", "pythonscript",
                              "waitforall", "nosuchtype"])
nodes = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a", "b", "c"]), values), "type": node_types},
    optional={"inputs": st.one_of(st.lists(st.sampled_from(["a", "b", "c", "z"]),
                                           max_size=3), values),
              "parms": st.one_of(st.dictionaries(
                  st.sampled_from(["itemcount", "command", "wedgecount", "wedgeattributes",
                                   "pattern", "generatewhen", "oops"]), values, max_size=3),
                  values),
              "scheduler": values})
documents = st.one_of(values, st.fixed_dictionaries(
    {"format": st.one_of(st.just("schedcore-network"), values),
     "nodes": st.one_of(st.lists(nodes, max_size=4), values)},
    optional={"version": values, "schedulers": values, "default_scheduler": values}))


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(documents)
def test_random_network_files_load_or_are_explained(document):
    try:
        net = network_file.from_json(document, "fuzz")
    except NetworkError as exc:
        assert exc.problems and all(": " in p for p in exc.problems)
        return
    assert isinstance(net, network_file.Network)
    net.topological()  # a network that loads can be ordered: no loops got through


# -- reports about items no scheduler was given ----------------------------------------
# a: waits until x reported, then fails (once) or succeeds; b below a, d below b; x reports
# for b with pdgjob.py (its own credentials, b's id), then lets a go on. Each command that
# runs leaves a file behind.
WAIT_FOR_X = "i=0; while [ ! -e reported ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"


def _stray_report_network(tmp_path, report: str, a_then: str):
    def node(name, command, inputs=()):
        return {"name": name, "type": "genericgenerator", "inputs": list(inputs),
                "parms": {"command": f"sh -c '{command}'"}}
    return make_network(tmp_path, [
        node("a", f"{WAIT_FOR_X}; {a_then}"),
        node("b", "touch b_ran", ["a"]),
        node("d", "touch d_ran", ["b"]),
        node("x", f'PDG_ITEM_ID=2 "__PDG_PYTHON__" "__PDG_SCRIPTDIR__/pdgjob.py" {report} '
                  f"&& touch reported"),
    ], schedulers=[{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}])


def _cook_to_its_end(net, **kwargs):
    engine = Engine(net, **kwargs)
    engine.start()
    result = engine.wait(60)
    if result is None:
        engine.cancel()
        engine.wait(30)
    assert result is not None, "the cook never ended"
    return result


def test_a_success_reported_for_an_item_below_a_failure_changes_nothing(tmp_path):
    """x's job says b succeeded while a, above b, still runs; a then fails. Before: b was
    CookedSuccess and d ran below the failure, and a resume took b from the journal as
    CookedCache although it never ran."""
    fail_once = "if [ -e failed_once ]; then exit 0; fi; touch failed_once; exit 1"
    net = _stray_report_network(tmp_path, "--success", fail_once)
    result = _cook_to_its_end(net)
    by_node = {i.node: i for i in result.items}
    assert by_node["b"].id == 2  # the id x's job reports for
    assert by_node["a"].state == S.CookedFail
    assert (by_node["b"].state, by_node["b"].reason) == (S.Uncooked, "upstream item a_1 failed")
    assert by_node["d"].state == S.Uncooked
    assert not (tmp_path / "d_ran").exists() and not (tmp_path / "b_ran").exists()
    assert any("success report for b_2 refused" in w and "local" in w
               for w in result.warnings), result.warnings
    # resumed: a succeeds this time; b never ran, so it runs now (it is no CookedCache)
    again = _cook_to_its_end(_stray_report_network(tmp_path, "--success", fail_once),
                             resume=True)
    states = {i.node: i.state for i in again.items}
    assert states == {"a": S.CookedSuccess, "b": S.CookedSuccess, "d": S.CookedSuccess,
                      "x": S.CookedCache}
    assert (tmp_path / "b_ran").exists() and (tmp_path / "d_ran").exists()


def test_a_start_reported_for_a_waiting_item_does_not_hang_the_cook(tmp_path):
    """x's job says b started while b waits for a. Before: b was Cooking for ever once a
    cooked (no scheduler had it, none would end it): the cook never ended."""
    net = _stray_report_network(tmp_path, "--start", "exit 0")
    result = _cook_to_its_end(net)
    assert result.ok, (result.counts, result.errors)
    assert (tmp_path / "b_ran").exists() and (tmp_path / "d_ran").exists()
    assert any("start report for b_2 refused" in w for w in result.warnings), result.warnings
