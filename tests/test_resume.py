"""One cook owns its working dir, and a journal belongs to exactly one network: a second
cook is refused, names collide no more, a changed network says what changed on resume, any
folder name works, and a runaway generator is stopped."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from schedcore import cooklock
from schedcore import network as network_file
from schedcore.cooklock import CookBusy
from schedcore.engine import Engine
from schedcore.errors import CookError
from schedcore.events import CookMessage
from schedcore.limits import ItemLimits
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedcore.submit import submit
from schedcore.workitem import WorkItemState as S

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]


def write(path: Path, command: str = "sh -c 'echo run >> runs_@pdg_index.txt'",
          count: int = 3, extra: list | None = None) -> network_file.Network:
    """A network of ``count`` items whose command counts its runs in the working dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}], "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": count, "command": command}}, *(extra or [])]}))
    return network_file.load(path)


def states(result) -> dict[str, str]:
    return {item.name: item.state.name for item in result.items}


def test_a_second_cook_of_the_network_into_its_working_dir_is_refused(tmp_path):
    net = write(tmp_path / "shot.top.json", "sleep 30")
    first = Engine(net)
    first.start()
    try:
        with pytest.raises(CookBusy) as refused:
            Engine(write(tmp_path / "shot.top.json"))
        message = str(refused.value)
        assert "another cook of shot.top.json is running in this working dir" in message
        assert f"process {os.getpid()} on " in message
        with pytest.raises(CookBusy):  # Submit As Job is refused at once too
            submit(net)
        # another network in the same working dir is not held up
        other = Engine(write(tmp_path / "other.top.json", "true")).run()
        assert other.ok
    finally:
        first.cancel()
        first.wait()
    journal = tmp_path / "pdgtemp" / "journal" / "shot.top.json.sqlite"
    assert cooklock.holder(journal) is None  # released when the cook ended


def test_the_cli_refuses_a_second_cook_and_says_who_runs(tmp_path):
    net = write(tmp_path / "shot.top.json", "sleep 30")
    first = Engine(net)
    first.start()
    try:
        done = subprocess.run([*SCHEDCORE, "cook", str(net.path)], capture_output=True,
                              text=True, timeout=60)
    finally:
        first.cancel()
        first.wait()
    assert done.returncode == 75, done.stderr
    assert "another cook of shot.top.json is running" in done.stderr
    assert "wait for it to end, cancel it, or cook into another working dir" in done.stderr
    assert not list(tmp_path.glob("runs_*"))


def test_networks_whose_names_share_a_stem_keep_their_own_journals(tmp_path):
    shot = write(tmp_path / "shot.top.json", "sh -c 'echo shot > out_@pdg_index.txt'")
    assert Engine(shot).run().ok
    v2 = write(tmp_path / "shot.v2.top.json", "sh -c 'echo v2 >> runs_@pdg_index.txt'")
    result = Engine(v2, resume=True).run()
    assert set(states(result).values()) == {"CookedSuccess"}  # ran: nothing of shot's taken
    assert (tmp_path / "runs_0.txt").read_text() == "v2\n"
    journals = sorted(p.name for p in (tmp_path / "pdgtemp" / "journal").glob("*.sqlite"))
    assert journals == ["shot.top.json.sqlite", "shot.v2.top.json.sqlite"]


@pytest.mark.parametrize("folder", ["proj#1", "what?", "50%25off", "a b", "x$(id)y"])
def test_resume_works_in_any_folder(tmp_path, folder):
    net = write(tmp_path / folder / "net.top.json")
    assert Engine(net).run().ok
    result = Engine(net, resume=True).run()
    assert set(states(result).values()) == {"CookedCache"}
    assert (tmp_path / folder / "runs_0.txt").read_text() == "run\n"  # ran once
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]  # no stray file beside it


def test_resume_with_a_changed_node_says_what_changed_and_runs_it_again(tmp_path):
    path = tmp_path / "net.top.json"
    below = [{"name": "after", "type": "genericgenerator", "inputs": ["gen"],
              "parms": {"command": "sh -c 'echo run >> after_@pdg_index.txt'"}}]
    assert Engine(write(path, extra=below)).run().ok
    changed = write(path, "sh -c 'echo run2 >> runs_@pdg_index.txt'", extra=below)
    engine = Engine(changed, resume=True)
    said = []  # what the CLI prints and the studio lists: it was found before the cook began
    engine.events.subscribe(lambda e: said.append(e.text) if isinstance(e, CookMessage) else 0)
    result = engine.run()
    assert any("gen changed (parameter command)" in text for text in said)
    assert result.ok
    assert {i.state for i in result.items} == {S.CookedSuccess}  # gen changed: after too
    assert (tmp_path / "runs_0.txt").read_text() == "run\nrun2\n"
    warning = " ".join(result.warnings)
    assert "gen changed (parameter command)" in warning
    assert "and those of the nodes below them, run again" in warning
    # resumed once more, nothing changed: all cached
    again = Engine(write(path, "sh -c 'echo run2 >> runs_@pdg_index.txt'", extra=below),
                   resume=True).run()
    assert {i.state for i in again.items} == {S.CookedCache}
    assert not again.warnings


def test_a_journal_of_another_network_of_the_same_name_is_not_used(tmp_path):
    work = tmp_path / "work"
    a = write(tmp_path / "a" / "shot.top.json", "sh -c 'echo a >> runs_@pdg_index.txt'")
    assert Engine(a, workdir=str(work)).run().ok
    b = write(tmp_path / "b" / "shot.top.json", "sh -c 'echo a >> runs_@pdg_index.txt'")
    result = Engine(b, workdir=str(work), resume=True).run()
    assert {i.state for i in result.items} == {S.CookedSuccess}
    assert (work / "runs_0.txt").read_text() == "a\na\n"
    assert any(f"written by a cook of {a.path}" in w and "every item runs again" in w
               for w in result.warnings)


def test_unreadable_journal_rows_run_their_items_again(tmp_path):
    net = write(tmp_path / "net.top.json")
    assert Engine(net).run().ok
    db = sqlite3.connect(tmp_path / "pdgtemp" / "journal" / "net.top.json.sqlite")
    with db:
        rows = db.execute("SELECT seq, item FROM events WHERE data LIKE '%CookedSuccess%' "
                          "ORDER BY seq").fetchall()
        db.execute("UPDATE events SET data = '{not json' WHERE seq = ?", (rows[0][0],))
        db.execute("UPDATE events SET data = '{\"state\": \"Bogus\"}' WHERE seq = ?",
                   (rows[1][0],))
        db.execute("UPDATE events SET data = '{\"path\": 3}', kind = 'output' WHERE seq = ?",
                   (rows[2][0],))
    db.close()
    result = Engine(net, resume=True).run()
    assert result.ok and {i.state for i in result.items} == {S.CookedSuccess}
    assert any("3 rows of the journal" in w for w in result.warnings)


def test_journal_rows_nested_too_deep_to_read_run_their_items_again(tmp_path):
    """A row of JSON nested 100,000 deep (json.loads: RecursionError) stopped every resume
    with a traceback until the journal was deleted; it is a row that cannot be read."""
    net = write(tmp_path / "net.top.json")
    assert Engine(net).run().ok
    deep = "[" * 100_000 + "]" * 100_000
    db = sqlite3.connect(tmp_path / "pdgtemp" / "journal" / "net.top.json.sqlite")
    with db:
        rows = db.execute("SELECT seq FROM events WHERE data LIKE '%CookedSuccess%' "
                          "ORDER BY seq").fetchall()
        db.execute("UPDATE events SET data = ? WHERE seq = ?", ('{"state": ' + deep + "}",
                                                                 rows[0][0]))
        db.execute("UPDATE events SET data = ? WHERE seq = ?", (deep, rows[1][0]))
    db.close()
    result = Engine(net, resume=True).run()
    assert result.ok and {i.state for i in result.items} == {S.CookedSuccess, S.CookedCache}
    assert any("2 rows of the journal" in w for w in result.warnings), result.warnings

    def runs():
        return sorted(p.read_text().count("run") for p in tmp_path.glob("runs_*.txt"))

    assert runs() == [1, 2, 2]  # the items of the two rows ran again
    db = sqlite3.connect(tmp_path / "pdgtemp" / "journal" / "net.top.json.sqlite")
    with db:  # what the journal says it was made from, unreadable: nothing is taken from it
        db.execute("UPDATE about SET value = ? WHERE key = 'network'", (deep,))
    db.close()
    result = Engine(net, resume=True).run()
    assert result.ok and {i.state for i in result.items} == {S.CookedSuccess}
    assert any("does not say which network wrote it" in w for w in result.warnings)
    assert runs() == [2, 3, 3]


def test_a_runaway_item_count_is_refused_naming_node_and_parameter(tmp_path):
    net = write(tmp_path / "net.top.json", count=10**7)
    result = Engine(net).run()
    assert not result.ok and not result.items
    assert result.errors == [
        "node gen would make more than 250,000 work items (itemcount is 10000000), the most "
        "a node may make; lower it, or raise the limit with --max-node-items or "
        "SCHEDCORE_MAX_NODE_ITEMS"]


def test_the_cook_limit_stops_dynamic_generation(tmp_path):
    net = write(tmp_path / "net.top.json", "true", count=4, extra=[
        {"name": "fan", "type": "genericgenerator", "inputs": ["gen"],
         "parms": {"itemcount": 5, "command": "true", "generatewhen": "eachupstreamcooked"}}])
    result = Engine(net, limits=ItemLimits(node=100, cook=12)).run()
    assert not result.ok
    assert len(result.items) <= 12
    assert "the most a cook may make" in result.errors[0]
    assert "--max-items or SCHEDCORE_MAX_ITEMS" in result.errors[0]
    assert all(i.state.is_final or i.reason for i in result.items)


def test_item_limits_from_the_environment_are_checked(monkeypatch):
    monkeypatch.setenv("SCHEDCORE_MAX_ITEMS", "lots")
    with pytest.raises(CookError, match="SCHEDCORE_MAX_ITEMS='lots' is not a whole number"):
        ItemLimits.configured()
    monkeypatch.setenv("SCHEDCORE_MAX_ITEMS", "10")
    monkeypatch.setenv("SCHEDCORE_MAX_NODE_ITEMS", "0")
    with pytest.raises(CookError, match="at least 1, not 0"):
        ItemLimits.configured()
    assert ItemLimits.configured(node=5) == ItemLimits(node=5, cook=10)


def test_a_cook_after_a_killed_one_stops_the_jobs_it_left_running(tmp_path):
    """The cook is SIGKILLed while two jobs run (each with a child of its own session); the
    next cook stops them before it runs anything, so no item runs twice at once."""
    command = ("sh -c 'echo run >> runs_@pdg_index.txt; [ -e go ] && exit 0; "
               "setsid sleep 300 & echo $! > child_@pdg_index.txt; exec sleep 300'")
    net = write(tmp_path / "net.top.json", command, count=2)
    first = subprocess.Popen([*SCHEDCORE, "cook", str(net.path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    children = [tmp_path / f"child_{i}.txt" for i in range(2)]
    deadline = time.monotonic() + 60
    while not all(p.exists() and p.read_text().strip() for p in children):
        assert time.monotonic() < deadline, "the jobs did not start"
        time.sleep(0.05)
    jobs = psutil.Process(first.pid).children(recursive=True)
    left = jobs + [psutil.Process(int(p.read_text())) for p in children]
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert all(p.is_running() for p in left)  # orphaned, still running

    (tmp_path / "go").touch()
    done = subprocess.run([*SCHEDCORE, "cook", str(net.path), "--resume", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    gone, alive = psutil.wait_procs(left, timeout=10)
    assert not alive, f"still running: {alive}"
    warning = next(w for w in result["warnings"] if "ended without finishing" in w)
    assert f"the earlier cook (process {first.pid} on " in warning
    assert "were still running and were stopped" in warning
    for i in range(2):
        assert (tmp_path / f"runs_{i}.txt").read_text() == "run\nrun\n"


def test_two_submits_of_one_network_at_once_cook_it_once(tmp_path):
    """Submitted twice at once: the second submit is refused, or (when its check came before
    the first cook started) its cook finds the lock taken and its status says why; every item
    runs once."""
    # long enough that the first cook still runs when the second starts
    net = write(tmp_path / "net.top.json", "sh -c 'echo run >> runs_@pdg_index.txt; sleep 1'",
                count=4)
    uris = [submit(net)]
    try:
        uris.append(submit(net))
    except CookBusy as exc:
        refusals = [str(exc)]
    statuses = []
    for uri in uris:
        done = subprocess.run([*SCHEDCORE, "status", uri, "--wait", "--json", "--interval",
                               "0.1"], capture_output=True, text=True, timeout=120)
        statuses.append(json.loads(done.stdout))
    if len(uris) == 2:
        refusals = [s["errors"][0] for s in statuses if not s["ok"]]
    assert [s["ok"] for s in statuses].count(True) == 1
    assert len(refusals) == 1
    assert "another cook of net.top.json is running in this working dir" in refusals[0]
    runs = [(tmp_path / f"runs_{i}.txt").read_text() for i in range(4)]
    assert runs == ["run\n"] * 4



class InPlace(Scheduler):
    """Cooks every item in onSchedule: a long chain without a process per item."""

    type_name = "inplace"

    def __init__(self):
        super().__init__("inplace", {"pdg_tickperiod": 0.005})
        self.scheduled: list[str] = []

    def onSchedule(self, work_item):
        self.scheduled.append(work_item.name)
        return ScheduleResult.CookSucceeded


@pytest.mark.parametrize("generatewhen", ["automatic", "eachupstreamcooked"])
def test_a_resume_of_a_long_chain_takes_every_item_from_the_journal(tmp_path, generatewhen):
    """1,100 nodes: on resume each item becomes CookedCache as the one above it does, a loop
    through the chain, not a recursion (before: "internal error of the engine")."""
    chain = [{"name": f"n{n}", "type": "genericgenerator", "inputs": ["gen" if n == 1
              else f"n{n - 1}"], "parms": {"generatewhen": generatewhen}}
             for n in range(1, 1101)]
    path = tmp_path / "long.top.json"
    assert Engine(write(path, "true", count=1, extra=chain), scheduler=InPlace()).run().ok
    again = InPlace()
    result = Engine(write(path, "true", count=1, extra=chain), scheduler=again,
                    resume=True).run()
    assert not result.errors
    assert result.ok and result.counts == {"CookedCache": 1101}
    assert again.scheduled == []
