"""The Local Scheduler with real processes."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from schedcore import network as network_file
from schedcore import process
from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.schedulers.local import LocalScheduler
from schedcore.workitem import WorkItemState as S

from .conftest import EXAMPLES, make_network, watch_peak_cooking
from .test_process import (
    killing_leftovers,
    leaving_the_tree,
    wait_for_pids,
    wait_until,
    write_daemon,
)


def generic(name, command, count=1, inputs=(), **parms):
    return {"name": name, "type": "genericgenerator", "inputs": list(inputs),
            "parms": {"itemcount": count, "command": command, **parms}}


def local(**parms):
    return [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2, **parms}}]


def log_of(item) -> str:
    return Path(urlparse(item.log_uri).path).read_text()


def test_the_example_cooks_with_real_outputs(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    net = network_file.load(tmp_path / "examples" / "wedge_summary.top.json")
    result = Engine(net).run()
    assert result.ok, [(i.name, i.reason) for i in result.items if not i.state.is_success]
    assert result.counts == {"CookedSuccess": 14}
    renders = [i for i in result.items if i.node == "render1"]
    for item in renders:
        (svg,) = item.outputFiles
        assert Path(svg.path).read_text().startswith("<svg")
        assert f"drew a {item.attribValue('shape')}" in log_of(item)
    summary = [i for i in result.items if i.node == "summary1"][0]
    assert summary.attribValue("shapecount") == 6
    (html,) = summary.outputFiles
    assert html.tag == "file/html"
    assert Path(html.path).read_text().count("<img") == 6


def test_jobs_run_in_parallel_up_to_the_slots(tmp_path):
    net = make_network(tmp_path, [generic("sleepy", "sleep 0.4", count=6)], local())
    engine = Engine(net)
    peak = watch_peak_cooking(engine)
    assert engine.run().ok
    assert peak[0] == 2


def test_job_environment_tokens_and_logs(tmp_path):
    command = ("sh -c 'echo name=$PDG_ITEM_NAME id=$PDG_ITEM_ID index=$PDG_INDEX "
               "dir=$PDG_DIR jobid=$PDG_JOBID var=$PDG_JOBID_VAR "
               "tok=__PDG_ITEM_NAME__ at=@pdg_index'")
    net = make_network(tmp_path, [generic("env", command, count=2)], local())
    engine = Engine(net)
    result = engine.run()
    assert result.ok
    for item in result.items:
        assert item.log_uri.startswith("file://")
        text = log_of(item)
        assert (f"name={item.name} id={item.id} index={item.index} dir={tmp_path} "
                f"jobid={engine.job_id} var=PDG_JOBID tok={item.name} at={item.index}") in text
        assert "/pdgtemp/" in item.log_uri and item.log_uri.endswith(f"/logs/{item.name}.log")


def test_exit_code_decides_and_downstream_does_not_run(tmp_path):
    net = make_network(tmp_path, [
        generic("gen", "sh -c 'echo about to fail; sleep 0.3; exit 3'"),
        generic("after", "echo never", inputs=["gen"]),
    ], local())
    result = Engine(net).run()
    failed, after = result.items
    assert failed.state == S.CookedFail
    assert failed.reason == "the command ended with exit code 3"
    assert "about to fail" in log_of(failed)
    assert failed.cook_duration >= 0.3  # how long it ran before it failed
    assert after.state == S.Uncooked and after.reason == "upstream item gen_1 failed"


def test_retries_run_a_failed_job_again(tmp_path):
    marker = tmp_path / "first-try-done"
    command = f"sh -c 'if [ -e {marker} ]; then echo second; else touch {marker}; exit 1; fi'"
    net = make_network(tmp_path, [generic("flaky", command)], local(maxretries=1))
    (item,) = Engine(net).run().items
    assert item.state == S.CookedSuccess
    assert "--- retry 1 of 1 ---" in log_of(item) and "second" in log_of(item)


@pytest.mark.parametrize("value", [10 ** 9, -1, 1e9, "1e9", 2.5, "x"])
def test_an_absurd_retry_count_is_refused_naming_the_parameter(tmp_path, value):
    """maxretries is a count from 0 to LocalScheduler.MAX_RETRIES: 10^9 ran a failing job a
    billion times and -1 never ran it at all (its item failed with a made-up "signal 1")."""
    net = make_network(tmp_path, [generic("g", "true")], local())
    sched = LocalScheduler("local", {"maxprocs": 2, "maxretries": value}, str(tmp_path))
    result = Engine(net, scheduler=sched).run()
    assert not result.ok and [i.state for i in result.items] in ([], [S.Uncooked])
    assert result.errors == [
        f"local: onStartCook: scheduler 'local': parameter maxretries is {value!r}; it must "
        f"be a whole number of retries from 0 to {LocalScheduler.MAX_RETRIES}"]


def test_an_absurd_retry_count_in_the_file_is_a_problem_of_the_file(tmp_path):
    with pytest.raises(network_file.NetworkError,
                       match=r"parms.maxretries: expected a whole number of retries from 0 "):
        make_network(tmp_path, [generic("g", "true")], local(maxretries=10 ** 9))


def test_a_million_slots_start_threads_only_for_the_jobs_that_run(tmp_path):
    """maxprocs 1,000,000 started a million worker threads at onStartCook (42 s, 2.6 GB,
    then "can't start new thread"); threads now start as jobs are accepted, never more
    than jobs run at once."""
    net = make_network(tmp_path, [generic("g", "sleep 0.2", count=6)], local(maxprocs=10 ** 6))
    engine = Engine(net)
    peak = [0]

    def watch(event):
        if isinstance(event, ItemStateChanged):
            peak[0] = max(peak[0], sum(t.name.startswith("local-job")
                                       for t in threading.enumerate()))

    engine.events.subscribe(watch)
    started = time.monotonic()
    result = engine.run()
    assert result.ok and len(result.items) == 6
    assert time.monotonic() - started < 10
    assert 1 <= peak[0] <= 6
    assert not [t for t in threading.enumerate() if t.name.startswith("local-job")]


def test_missing_program_fails_the_item_with_the_reason(tmp_path):
    net = make_network(tmp_path, [generic("bad", "no-such-program-here --flag")], local())
    (item,) = Engine(net).run().items
    assert item.state == S.CookedFail
    assert "could not run the job" in item.reason and "no-such-program-here" in item.reason


def test_cancel_kills_the_whole_process_tree(tmp_path):
    pids = tmp_path / "pids"
    # a job with a child in its group and a grandchild that left for a session of its own
    command = (f"sh -c 'sleep 60 & echo $! >> {pids}; "
               f"{sys.executable} -c \"import os,time; os.setsid(); "
               f"open(\\\"{pids}\\\", \\\"a\\\").write(str(os.getpid())+chr(10)); "
               f"time.sleep(60)\" & wait'")
    net = make_network(tmp_path, [generic("long", command, count=2)], local())
    engine = Engine(net)
    both_cooking = threading.Event()
    engine.events.subscribe(lambda e: both_cooking.set() if isinstance(e, ItemStateChanged)
                            and sum(i.state == S.Cooking for i in engine.items.values()) == 2
                            else None)
    engine.start()
    assert both_cooking.wait(20)
    deadline = time.monotonic() + 20
    while (len(pids.read_text().split()) if pids.exists() else 0) < 4:
        assert time.monotonic() < deadline, "the jobs did not start their children"
        time.sleep(0.05)
    started = time.monotonic()
    engine.cancel()
    result = engine.wait(30)
    assert time.monotonic() - started < 10
    assert result.canceled
    assert {i.state for i in result.items} == {S.CookedCancel}
    for pid in map(int, pids.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_python_script_sets_attributes_and_outputs(tmp_path):
    script = ("import os\n"
              "value = work_item.attribValue('wedgeindex') * 10\n"
              "work_item.setIntAttrib('tenfold', value)\n"
              "work_item.setStringAttribArray('tags', ['a', 'b'])\n"
              "path = os.path.join(os.environ['PDG_DIR'], 'out%d.txt' % value)\n"
              "open(path, 'w').write('x')\n"
              "work_item.addOutputFile(path, 'file/text')\n")
    net = make_network(tmp_path, [
        {"name": "w", "type": "wedge", "parms": {"wedgecount": 3}},
        {"name": "py", "type": "pythonscript", "inputs": ["w"], "parms": {"script": script}},
        generic("use", "echo got @tenfold from @pdg_input", inputs=["py"]),
    ], local())
    result = Engine(net).run()
    assert result.ok, [i.reason for i in result.items]
    py = sorted((i for i in result.items if i.node == "py"), key=lambda i: i.index)
    assert [i.attribValue("tenfold") for i in py] == [0, 10, 20]
    assert py[1].attribArray("tags") == ["a", "b"]
    assert py[2].outputFiles[0].path == str(tmp_path / "out20.txt")
    use = [i for i in result.items if i.node == "use" and i.index == 2][0]
    assert f"got 20 from {tmp_path / 'out20.txt'}" in log_of(use)


def test_python_script_error_shows_the_users_line(tmp_path):
    script = "x = 1\ny = work_item.attribValue('missing')\nprint(y + x)\n"
    net = make_network(tmp_path, [
        {"name": "py", "type": "pythonscript", "parms": {"script": script}}], local())
    (item,) = Engine(net).run().items
    assert item.state == S.CookedFail
    log = log_of(item)
    assert 'File "<py script>", line 3' in log and "print(y + x)" in log
    assert "TypeError" in log


def test_file_pattern_waits_for_the_files_upstream_writes(tmp_path):
    net = make_network(tmp_path, [
        generic("write", "touch __PDG_DIR__/made_@pdg_index.dat", count=3),
        {"name": "find", "type": "filepattern", "inputs": ["write"],
         "parms": {"pattern": "$HIP/made_@pdg_index.dat"}},
    ], local())
    result = Engine(net).run()
    assert result.ok
    found = sorted(i.outputFiles[0].path for i in result.items if i.node == "find")
    assert found == [str(tmp_path / f"made_{n}.dat") for n in range(3)]


def test_slots_per_item_above_the_total_is_explained(tmp_path):
    net = make_network(tmp_path, [generic("big", "true")], local(slotsperworkitem=4))
    (item,) = Engine(net).run().items
    assert item.state == S.CookedFail
    assert item.reason == ("needs 4 slots but local has 2 (raise maxprocs or lower "
                           "slotsperworkitem)")


def test_unwritable_working_dir_is_explained(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    net = make_network(tmp_path, [generic("g", "true")],
                       local(pdg_workingdir=str(blocker / "work")))
    result = Engine(net).run()
    assert not result.ok
    assert result.errors[0].startswith(f"local: onStartCook: the working directory "
                                       f"{blocker / 'work'} cannot be created")
    assert "Traceback" not in result.errors[0]


def test_the_first_final_report_counts_once(tmp_path):
    """A job that reports its outcome to the result server wins over its exit code."""
    report = ('"__PDG_PYTHON__" -c "import sys; sys.path.insert(0, \'__PDG_SCRIPTDIR__\'); '
              'import pdgjob; pdgjob.setIntAttrib(\'seen\', 1); pdgjob.{call}; '
              'sys.exit({code})"')
    net = make_network(tmp_path, [
        generic("fails", report.format(call="workItemFailed(reason=\'bad input\')", code=0)),
        generic("succeeds", report.format(call="workItemSuccess()", code=4)),
    ], local())
    fails, succeeds = Engine(net).run().items
    assert fails.state == S.CookedFail and fails.reason == "bad input"
    assert succeeds.state == S.CookedSuccess
    assert fails.attribValue("seen") == succeeds.attribValue("seen") == 1


def all_final(engine, node: str, count: int) -> bool:
    items = [i for i in engine.items.values() if i.node == node]
    return len(items) == count and all(i.state.is_final for i in items)


def test_cancel_kills_setsid_sleeps_and_python_daemons_wherever_they_went(tmp_path):
    daemon = write_daemon(tmp_path)
    files = [tmp_path / f"pids.{index}" for index in range(2)]
    net = make_network(tmp_path, [
        generic("long", leaving_the_tree(f"{tmp_path}/pids.@pdg_index", daemon), count=2)],
        local())
    engine = Engine(net)
    with killing_leftovers(*files):
        engine.start()
        pids = [pid for path in files for pid in wait_for_pids(path, 3)]
        engine.cancel()
        result = engine.wait(60)
    assert result.canceled
    assert {i.state for i in result.items} == {S.CookedCancel}
    # each was a child of this process (a job, or an orphan it adopted) and was reaped
    assert [pid for pid in pids if psutil.pid_exists(pid)] == []
    assert not process.is_subreaper()  # only while the cook ran


def test_maxruntime_kills_what_the_job_left_anywhere(tmp_path):
    daemon, pids = write_daemon(tmp_path), tmp_path / "pids"
    net = make_network(tmp_path, [generic("long", leaving_the_tree(str(pids), daemon))],
                       local(maxruntime=4))
    with killing_leftovers(pids):
        (item,) = Engine(net).run().items
    assert item.state == S.CookedFail and "maxruntime" in item.reason
    started = wait_for_pids(pids, 3, timeout=0)  # all had started before the limit
    assert [pid for pid in started if psutil.pid_exists(pid)] == []


def test_a_failing_job_whose_orphans_are_reaped_keeps_its_exit_code(tmp_path):
    """Orphans adopted by the cook are reaped by their pids while other jobs end: no exit
    status of a job is taken from the Popen waiting for it (which would then say 0)."""
    go, orphans = tmp_path / "go", tmp_path / "orphans"
    leave = (f"(setsid sh -c 'echo $$ >> {orphans}; while [ ! -e {go} ]; do sleep 0.02; "
             f"done' &); (true &); exit 3")
    wait = f"(true &); while [ ! -e {go} ]; do sleep 0.02; done; (true &); exit 4"
    net = make_network(tmp_path, [generic("leaves", leave, count=2),
                                  generic("waits", wait, count=12)], local(maxprocs=14))
    engine = Engine(net)
    engine.events.subscribe(lambda event: go.touch() if isinstance(event, ItemStateChanged)
                            and all_final(engine, "leaves", 2) else None)
    with killing_leftovers(orphans):
        result = engine.run()
        adopted = wait_for_pids(orphans, 2, timeout=0)
        wait_until(lambda: process.reap_orphans() is not None and
                   not any(psutil.pid_exists(pid) for pid in adopted),
                   what="the orphans reaped")
    reasons = {i.node: set() for i in result.items}
    for item in result.items:
        assert item.state == S.CookedFail
        reasons[item.node].add(item.reason)
    assert reasons == {"leaves": {"the command ended with exit code 3"},
                       "waits": {"the command ended with exit code 4"}}


def test_status_uris_made_once_per_server_are_the_base_classes(tmp_path):
    from schedcore.schedulers.base import Scheduler

    net = make_network(tmp_path, [generic("gen", "true", count=3)], local())
    engine = Engine(net)
    seen = []
    engine.events.subscribe(lambda event: seen.append(
        (event.item.status_uri, Scheduler.getStatusURI(engine.schedulers[0], event.item)))
        if isinstance(event, ItemStateChanged) and event.new == S.Scheduled else None)
    assert engine.run().ok
    assert len(seen) == 3 and all(mine == base and "/status/" in mine for mine, base in seen)


def test_an_items_own_environment_reaches_its_job_under_the_pdg_variables(tmp_path):
    """Scheduler code may give an item variables of its own (``work_item.environment``,
    as Houdini's schedulers read it); the job gets them, and the PDG_* ones win."""
    command = "sh -c 'echo shot=$SHOT name=$PDG_ITEM_NAME'"
    net = make_network(tmp_path, [generic("env", command, count=2)], local())
    engine = Engine(net)
    (scheduler,) = engine.schedulers
    plain = scheduler.onSchedule

    def on_schedule(work_item):
        work_item.environment.update(SHOT=f"sh{work_item.index}", PDG_ITEM_NAME="mine")
        return plain(work_item)

    scheduler.onSchedule = on_schedule
    result = engine.run()
    assert result.ok
    for item in result.items:
        assert f"shot=sh{item.index} name={item.name}" in log_of(item)
