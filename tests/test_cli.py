"""The ``schedcore`` command, run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from schedcore.cli import main

from .conftest import EXAMPLES
from .test_process import (
    assert_all_gone,
    killing_leftovers,
    leaving_the_tree,
    wait_for_pids,
    write_daemon,
)

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]


def run(*args, cwd=None, timeout=60):
    return subprocess.run([*SCHEDCORE, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def write_network(path: Path, nodes: list[dict]) -> Path:
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [{"inputs": [], **n} for n in nodes]}))
    return path


def test_cook_the_example_with_json_output(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    done = run("cook", tmp_path / "ex" / "wedge_summary.top.json", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["counts"] == {"CookedSuccess": 14}
    assert len(result["items"]) == 14
    item = next(i for i in result["items"] if i["node"] == "summary1")
    assert set(item) >= {"id", "name", "node", "state", "attributes", "outputs", "log_uri",
                         "status_uri"}
    assert item["attributes"]["shapecount"] == {"type": "Int", "values": [6]}
    assert Path(item["outputs"][0]["path"]).is_file()
    assert "every item cooked" in done.stderr  # the summary goes to stderr with --json


def test_failures_exit_non_zero_with_their_log_paths(tmp_path):
    net = write_network(tmp_path / "fail.top.json", [
        {"name": "gen", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "sh -c 'echo oops; exit @pdg_index'"}},
        {"name": "after", "type": "genericgenerator", "inputs": ["gen"],
         "parms": {"command": "echo downstream"}},
    ])
    done = run("cook", net)
    assert done.returncode == 1
    out = done.stdout
    assert "failed gen_2: the command ended with exit code 1" in out
    log = next(line.split("log: ")[1] for line in out.splitlines() if "log: " in line)
    assert Path(log).read_text().strip() == "oops"
    assert "not run after_4: upstream item gen_2 failed" in out
    assert "the cook failed" in out


@pytest.mark.parametrize("json_output", [False, True])
def test_a_reader_that_goes_away_ends_the_output_not_the_cook(tmp_path, json_output):
    """`schedcore cook net | head -1`: the cook runs to its end and exits with its status,
    saying nothing more (it used to hang for ever: the engine's thread was gone)."""
    net = write_network(tmp_path / "fail.top.json", [
        {"name": "bad", "type": "genericgenerator",
         "parms": {"itemcount": 60, "command": "sh -c 'exit 2'"}}])
    proc = subprocess.Popen([*SCHEDCORE, "cook", *(["--json"] if json_output else []), net],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        if not json_output:
            assert proc.stdout.readline().startswith(b"FAILED bad_")
        proc.stdout.close()  # the reader goes
        err = proc.stderr.read().decode()
        assert proc.wait(60) == 1  # the cook's own status: its items failed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert "Traceback" not in err and "Broken pipe" not in err
    assert "the cook failed: 60 items" in run("cook", net).stdout  # no cook left holding its lock


def test_malformed_network_names_the_json_path_without_a_traceback(tmp_path):
    net = write_network(tmp_path / "bad.top.json", [
        {"name": "generic1", "type": "genericgenerator", "inputs": ["wedge2"]}])
    done = run("cook", net)
    assert done.returncode == 2
    assert ("nodes[0].inputs[0]: no node named 'wedge2' (known: generic1)") in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_unknown_scheduler_and_node_get_did_you_mean(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    net = tmp_path / "ex" / "wedge_summary.top.json"
    done = run("cook", net, "--scheduler", "localschedulr")
    assert done.returncode == 2
    assert "did you mean 'localscheduler'?" in done.stderr
    done = run("cook", net, "--node", "rendr1")
    assert done.returncode == 2 and "did you mean 'render1'?" in done.stderr


def test_cook_up_to_a_node_with_a_scheduler_type_and_workdir(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    work = tmp_path / "work"
    done = run("cook", tmp_path / "ex" / "wedge_summary.top.json", "--node", "render1",
               "--scheduler", "localscheduler", "--workdir", work, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {i["node"] for i in result["items"]} == {"wedge1", "render1"}
    assert len(list((work / "output").glob("*.svg"))) == 6


def test_help_documents_every_command_and_option():
    assert run("--help").returncode == 0
    text = run("cook", "--help").stdout
    for option in ("--node", "--scheduler", "--workdir", "--json", "--static"):
        assert option in text
    assert "types" in run("--help").stdout


def test_types_lists_the_built_ins():
    done = run("types", "--json")
    assert done.returncode == 0
    names = {t["name"] for t in json.loads(done.stdout)["types"]}
    assert {"localscheduler", "genericgenerator", "wedge", "filepattern", "pythonscript",
            "waitforall"} <= names


def test_ctrl_c_cancels_and_kills_the_jobs(tmp_path):
    net = write_network(tmp_path / "long.top.json", [
        {"name": "long", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "sleep 60"}}])
    proc = subprocess.Popen([*SCHEDCORE, "cook", str(net)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        sleepers = []
        while len(sleepers) < 2:
            assert time.monotonic() < deadline, "the jobs did not start"
            sleepers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                        if p.name() == "sleep"]
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "canceled" in out
    assert "SIGINT: canceling the cook" in out
    psutil.wait_procs(sleepers, timeout=5)
    assert not any(p.is_running() and p.status() != "zombie" for p in sleepers)
    assert os.path.isdir(tmp_path / "pdgtemp")


def test_submit_as_job_goes_on_after_the_submitter_exits(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    started = time.monotonic()
    done = run("submit", tmp_path / "ex" / "wedge_summary.top.json")
    assert done.returncode == 0, done.stderr
    uri = done.stdout.split("follow the cook at ")[1].strip()
    assert uri.startswith("file://") and uri.endswith(".json")
    status_path = Path(uri[len("file://"):])
    deadline = started + 120
    status: dict = {}
    while status.get("state") != "finished":  # the detached cook writes its progress there
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
        if status_path.exists():
            status = json.loads(status_path.read_text())
    assert status["ok"] is True and status["counts"] == {"CookedSuccess": 14}
    psutil.wait_procs([psutil.Process(status["pid"])] if psutil.pid_exists(status["pid"])
                      else [], timeout=30)
    assert len(list((tmp_path / "ex" / "output").glob("*.svg"))) == 6
    shown = run("status", uri)
    assert shown.returncode == 0
    assert shown.stdout.startswith("finished: every item cooked (14 CookedSuccess)")


def wait_for_status(uri: str, timeout: float = 120) -> dict:
    status_path, status = Path(uri[len("file://"):]), {}
    deadline = time.monotonic() + timeout
    while status.get("state") not in ("finished", "canceled"):
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
        if status_path.exists():
            status = json.loads(status_path.read_text())
    psutil.wait_procs([psutil.Process(status["pid"])] if psutil.pid_exists(status["pid"])
                      else [], timeout=30)
    return status


def test_a_submitted_cook_keeps_the_networks_own_hip(tmp_path):
    """The copy in the working dir cooks with $HIP the original's folder: its scripts are
    found, its outputs land in the working dir once (not work/work)."""
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    path = tmp_path / "ex" / "wedge_summary.top.json"
    data = json.loads(path.read_text())
    for scheduler in data["schedulers"]:
        scheduler["parms"]["pdg_workingdir"] = "$HIP/work"
    path.write_text(json.dumps(data))
    done = run("submit", path)
    assert done.returncode == 0, done.stderr
    status = wait_for_status(done.stdout.split("follow the cook at ")[1].strip())
    assert status["ok"] is True, status
    assert (tmp_path / "ex" / "work" / "wedge_summary.top.json").is_file()  # the copy
    assert len(list((tmp_path / "ex" / "work" / "output").glob("*.svg"))) == 6
    assert not (tmp_path / "ex" / "work" / "work").exists()


def test_cook_hip_option(tmp_path):
    net = write_network(tmp_path / "net.top.json", [
        {"name": "g", "type": "genericgenerator", "parms": {"command": "echo $HIP"}}])
    other = tmp_path / "elsewhere"
    other.mkdir()
    def echoed(done) -> str:
        assert done.returncode == 0, done.stderr
        log = json.loads(done.stdout)["items"][0]["log_uri"][len("file://"):]
        return Path(log).read_text().strip()

    assert echoed(run("cook", net, "--hip", other, "--json")) == str(other)
    # a farm machine that does not see the folder: the network file's own, with a warning
    done = run("cook", net, "--hip", tmp_path / "missing", "--json")
    assert echoed(done) == str(tmp_path)
    assert "no such folder on this machine" in done.stderr


def test_status_waits_for_a_submitted_cook_and_tells_a_dead_one(tmp_path):
    net = write_network(tmp_path / "net.top.json", [
        {"name": "slow", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "sleep 0.5"}}])
    uri = run("submit", net).stdout.split("follow the cook at ")[1].strip()
    waited = run("status", uri, "--wait", "--interval", "0.2")
    assert waited.returncode == 0, waited.stdout
    assert waited.stdout.splitlines()[-1] == "finished: every item cooked (2 CookedSuccess)"

    write_network(net, [{"name": "hang", "type": "genericgenerator",
                         "parms": {"command": "sleep 60"}}])
    uri = run("submit", net).stdout.split("follow the cook at ")[1].strip()
    status_path = Path(uri[len("file://"):])
    deadline = time.monotonic() + 60
    while "Cooking" not in (json.loads(status_path.read_text()).get("counts", {})
                            if status_path.exists() else {}):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cook = psutil.Process(json.loads(status_path.read_text())["pid"])
    jobs = cook.children(recursive=True)
    cook.kill()  # as a machine going down would
    for job in jobs:
        job.kill()
    psutil.wait_procs([cook, *jobs], timeout=10)
    dead = run("status", uri)
    assert dead.returncode == 1
    assert dead.stdout.startswith("died (1 Cooking)")
    assert "`schedcore cook --resume` goes on from its journal" in dead.stdout


def test_a_submitted_cook_that_cannot_start_says_why_in_its_status(tmp_path):
    net = write_network(tmp_path / "net.top.json", [
        {"name": "g", "type": "genericgenerator", "parms": {"command": "true"}}])
    env = {**os.environ, "SCHEDCORE_PYTHON": str(tmp_path / "no-such-python")}
    done = subprocess.run([*SCHEDCORE, "submit", str(net)], capture_output=True, text=True,
                          env=env, timeout=60)
    uri = done.stdout.split("follow the cook at ")[1].strip()
    deadline = time.monotonic() + 30
    while (shown := run("status", uri)).stdout.startswith("queued"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert shown.returncode == 1
    assert shown.stdout.startswith("died (no items yet)")
    log = shown.stdout.split("its log ")[1].split(" says why")[0]
    assert "no-such-python" in Path(log).read_text()


def test_a_cook_that_cannot_start_writes_why_in_its_status_file(tmp_path):
    bad = tmp_path / "bad.top.json"
    bad.write_text('{"format": "schedcore-network", "nodes": [{"name": "x", "type": "nope"}]}')
    status = tmp_path / "status.json"
    done = run("cook", bad, "--status-file", status)
    assert done.returncode == 2
    shown = json.loads(status.read_text())
    assert shown["state"] == "finished" and shown["ok"] is False
    assert "unknown node type 'nope'" in shown["errors"][0]


def cook_leaving_the_tree(tmp_path: Path, command: str) -> tuple[subprocess.Popen, list[Path]]:
    """``schedcore cook --json`` of two items running ``command`` (with ``PIDS``: a file of
    its own for each)."""
    net = write_network(tmp_path / "long.top.json", [
        {"name": "long", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": command.replace("PIDS", f"{tmp_path}/pids."
                                                                     f"@pdg_index")}}])
    proc = subprocess.Popen([*SCHEDCORE, "cook", str(net), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, [tmp_path / f"pids.{index}" for index in range(2)]


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_cancel_and_kill_every_process_of_the_jobs(tmp_path, sig, status):
    # each job starts a setsid'ed sleep and a double-forked Python daemon, then sleeps
    proc, files = cook_leaving_the_tree(tmp_path, leaving_the_tree("PIDS",
                                                                   write_daemon(tmp_path)))
    with killing_leftovers(*files):
        try:
            pids = [pid for path in files for pid in wait_for_pids(path, 3)]
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert_all_gone(pids)
    assert proc.returncode == status
    assert f"{sig.name}: canceling the cook, stopping running jobs" in err
    assert {item["state"] for item in json.loads(out)["items"]} == {"CookedCancel"}


STUBBORN = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{os.getpid()}\\n")
    time.sleep(150)
    os._exit(0)
os.wait()
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
time.sleep(150)
"""


def test_a_second_signal_while_canceling_leaves_no_job_behind(tmp_path):
    """Jobs (and their daemons) that ignore SIGTERM keep the cancel busy for the grace
    period before SIGKILL: more signals then only say so."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    proc, files = cook_leaving_the_tree(tmp_path, f"{sys.executable} {tmp_path}/stubborn.py "
                                                  f"PIDS")
    with killing_leftovers(*files):
        try:
            pids = [pid for path in files for pid in wait_for_pids(path, 2)]
            proc.send_signal(signal.SIGTERM)
            first = proc.stderr.readline()
            assert "SIGTERM: canceling the cook" in first
            assert all(psutil.pid_exists(pid) for pid in pids)  # so it is still canceling
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert_all_gone(pids)
    assert proc.returncode == 143  # the first signal's
    assert "SIGTERM: still canceling" in err and "SIGINT: still canceling" in err
    assert {item["state"] for item in json.loads(out)["items"]} == {"CookedCancel"}


def test_a_status_naming_no_live_process_is_died(tmp_path):
    """A pid that is gone, is a zombie, is -1 or too large to be one: the cook is dead, never
    'cooking' for ever (status --wait returns)."""
    zombie = subprocess.Popen(["true"])  # not waited for until the end: a zombie meanwhile
    deadline = time.monotonic() + 30
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        for pid in (zombie.pid, -1, 10**30, 0):
            path = tmp_path / "status.json"
            path.write_text(json.dumps({"state": "cooking", "pid": pid, "counts": {},
                                        "host": socket.gethostname()}))
            shown = run("status", path.as_uri(), "--wait", timeout=30)
            assert shown.returncode == 1, (pid, shown.stdout, shown.stderr)
            assert shown.stdout.startswith("died"), (pid, shown.stdout)
    finally:
        zombie.wait()


BAD_STATUSES = [
    ({"state": 3}, "'state' is 3"),
    ({"state": "finished", "counts": []}, "'counts' is []"),
    ({"state": "finished", "counts": {"CookedSuccess": "2"}}, "'counts' is {'CookedSuccess': '2'}"),
    ({"state": "finished", "counts": {"CookedSuccess": 1, "7": True}}, "'counts'"),
    ({"state": "finished", "errors": 5}, "'errors' is 5"),
    ({"state": "finished", "errors": "boom"}, "'errors' is 'boom'"),
    ({"state": "finished", "ok": "yes"}, "'ok' is 'yes'"),
    ({"state": "cooking", "pid": "12", "host": socket.gethostname()}, "'pid' is '12'"),
    ({"state": "cooking", "pid": 1, "host": ["x"]}, "'host' is ['x']"),
    ({"state": "queued", "log": 7}, "'log' is 7"),
    ({"state": "cooking", "pid": 1, "host": socket.gethostname(), "started": "now"},
     "'started' is 'now'"),
]


@pytest.mark.parametrize("status, why", BAD_STATUSES)
def test_a_status_file_with_fields_of_the_wrong_type_is_explained(tmp_path, capsys, status,
                                                                    why):
    """Each was a traceback (AttributeError, TypeError) or nonsense printed as the status."""
    path = tmp_path / "status.json"
    path.write_text(json.dumps(status))
    assert main(["status", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and f"{path}: not a status file: {why}" in err, (out, err)


def test_a_status_file_nested_too_deep_is_explained(tmp_path, capsys):
    path = tmp_path / "status.json"
    path.write_text('{"state": "finished", "counts": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["status", str(path)]) == 2
    assert f"{path}: not a status file (not JSON" in capsys.readouterr().err


def types_folder(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    """A SCHEDCORE_PATH folder holding ``files`` under pdg/types; the environment to use it."""
    folder = tmp_path / "types" / "pdg" / "types"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return {**os.environ, "SCHEDCORE_PATH": str(tmp_path / "types")}


SCHEDULER = '''
import pdg
from pdg.scheduler import PyScheduler

print("loading the farm scheduler")  # a module that talks on stdout


class Farm(PyScheduler):
    def __init__(self, scheduler, name):
        PyScheduler.__init__(self, scheduler, name)
        {init}

    def onSchedule(self, work_item):
        print("scheduling", work_item.name)
        return pdg.scheduleResult.CookSucceeded


def registerTypes(type_registry):
    type_registry.registerScheduler(Farm, label="Farm")
'''


def farm_network(tmp_path: Path) -> Path:
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1, "default_scheduler": "farm1",
        "schedulers": [{"name": "farm1", "type": "farm", "parms": {}}],
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 2, "command": "true"}}]}))
    return path


def test_print_in_scheduler_code_keeps_json_output_whole(tmp_path):
    env = types_folder(tmp_path, {"farm.py": SCHEDULER.format(init="pass")})
    types = subprocess.run([*SCHEDCORE, "types", "--json"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert "farm" in [t["name"] for t in json.loads(types.stdout)["types"]]
    assert "loading the farm scheduler" in types.stderr
    cooked = subprocess.run([*SCHEDCORE, "cook", str(farm_network(tmp_path)), "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert cooked.returncode == 0, cooked.stderr
    assert json.loads(cooked.stdout)["counts"] == {"CookedSuccess": 2}
    assert "scheduling gen_1" in cooked.stderr


def test_a_scheduler_raising_in_init_is_an_error_with_its_line(tmp_path):
    env = types_folder(tmp_path, {"farm.py": SCHEDULER.format(
        init="raise RuntimeError('no farm licence')")})
    cooked = subprocess.run([*SCHEDCORE, "cook", str(farm_network(tmp_path)), "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert cooked.returncode == 2
    assert "Traceback" not in cooked.stderr
    result = json.loads(cooked.stdout)
    assert result["ok"] is False and result["items"] == []
    farm = tmp_path / "types" / "pdg" / "types" / "farm.py"
    assert result["errors"] == [
        f"scheduler 'farm1' (Farm) could not be created: RuntimeError: no farm licence "
        f"({farm}:11)"]


def test_cooking_a_type_whose_file_failed_says_which_file_and_why(tmp_path):
    env = types_folder(tmp_path, {
        "farm.py": "import os\n\nimport rush_api  # not installed here\n",
        "pkg/__init__.py": "from . import inner\n",
        "pkg/inner.py": "X = 1\nraise ValueError('bad queue')\n"})
    cooked = subprocess.run([*SCHEDCORE, "cook", str(farm_network(tmp_path))],
                            capture_output=True, text=True, env=env, timeout=60)
    assert cooked.returncode == 2
    folder = tmp_path / "types" / "pdg" / "types"
    assert "schedulers[0].type: unknown scheduler type 'farm' (known: " in cooked.stderr
    assert "2 scheduler files failed to load, which may be the one that makes it" \
        in cooked.stderr
    assert f"{folder / 'farm.py'}:3: import error: ModuleNotFoundError: No module named " \
           f"'rush_api'" in cooked.stderr
    types = subprocess.run([*SCHEDCORE, "types", "--json"], capture_output=True, text=True,
                           env=env, timeout=60)
    failures = {(f["file"], f["line"]) for f in json.loads(types.stdout)["failures"]}
    assert (str(folder / "pkg" / "inner.py"), 2) in failures  # not pkg/__init__.py


def test_json_stays_json_when_scheduler_code_starts_processes_that_print(tmp_path):
    """Rush's onTick runs ``os.system("rush -af")``: its children write to the process's
    stdout, not to Python's ``sys.stdout``."""
    code = ("import os, subprocess, sys\n"
            "os.system('echo from os.system')\n"
            "subprocess.run(['echo', 'from subprocess'])\n"
            "os.write(1, b'straight to fd 1\\n')\n"
            "print('from print')\n"
            "return pdg.scheduleResult.CookSucceeded\n")
    net = tmp_path / "noisy.top.json"
    net.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "noisy", "type": "pythonscheduler",
                        "parms": {"onSchedule": code}}],
        "nodes": [{"name": "a", "type": "genericgenerator", "inputs": [], "scheduler": "noisy",
                   "parms": {"itemcount": 2, "command": "true"}}]}))
    done = run("cook", net, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"CookedSuccess": 2}
    for said in ("from os.system", "from subprocess", "straight to fd 1", "from print"):
        assert done.stderr.count(said) == 2, done.stderr  # kept, on stderr


SUBMITTER = '''
import os
from pdg.scheduler import PyScheduler


class Farm(PyScheduler):
    def onSchedule(self, work_item):
        return True

    def submitAsJob(self, graph_file, node_path):
        {body}


def registerTypes(type_registry):
    type_registry.registerScheduler(Farm, label="Farm")
'''


@pytest.mark.parametrize("body, code, says", [
    # Rush's: a Houdini file it copies to the farm is not here
    ("self.transferFile(os.path.expandvars('$HHP/pdgjob/topcook.py'))", 1,
     "farm1 (farm): submitAsJob raised FileNotFoundError: [Errno 2] No such file or "
     "directory: '$HHP/pdgjob/topcook.py' (at {file}:11)"),
    ("return ('file:///farm/status/7', 'job7')", 0,
     "submitted: follow the cook at file:///farm/status/7"),  # Houdini 18+: (URI, job id)
    ("return 7", 1, "farm1 (farm): submitAsJob returned 7; it returns the status URI"),
])
def test_submit_says_what_the_schedulers_submit_did(tmp_path, body, code, says):
    env = types_folder(tmp_path, {"farm.py": SUBMITTER.format(body=body)})
    done = subprocess.run([*SCHEDCORE, "submit", str(farm_network(tmp_path))],
                          capture_output=True, text=True, env=env, timeout=60)
    farm = tmp_path / "types" / "pdg" / "types" / "farm.py"
    assert done.returncode == code, done.stderr
    assert says.format(file=farm) in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
