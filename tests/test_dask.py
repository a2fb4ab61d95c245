"""The Dask scheduler on a real Dask cluster of worker processes on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
from distributed import Client

from schedcore.engine import Engine
from schedcore.events import CookMessage, ItemStateChanged
from schedcore.submit import submit
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
                              "__PDG_DIR__/out_@wedgeindex.txt; echo logged $SHOT'",
                   "outputfile": "__PDG_DIR__/out_@wedgeindex.txt"}},
        {"name": "py", "type": "pythonscript", "inputs": ["w"], "parms": {"script": script}},
        {"name": "bad", "type": "genericgenerator",
         "parms": {"command": "sh -c 'sleep 0.3; exit 4'"}},
        {"name": "missing", "type": "genericgenerator",
         "parms": {"command": "no-such-command --flag"}},
    ])
    engine = Engine(net)
    (scheduler,) = engine.schedulers
    plain = scheduler.onSchedule

    def on_schedule(work_item):  # scheduler code giving an item variables of its own
        work_item.environment["SHOT"] = f"sh{work_item.index}"
        return plain(work_item)

    scheduler.onSchedule = on_schedule
    result = engine.run()
    by_node: dict[str, list] = {}
    for item in result.items:
        by_node.setdefault(item.node, []).append(item)
    assert {i.state for i in by_node["cmd"]} == {S.CookedSuccess}
    for item in by_node["cmd"]:
        assert Path(item.outputFiles[0].path).read_text() == \
            f"on a dask worker {item.attribValue('wedgeindex')}\n"
        assert Path(urlparse(item.log_uri).path).read_text() == f"logged sh{item.index}\n"
    assert sorted(i.attribValue("double") for i in by_node["py"]) == [0, 2, 4]
    (bad,) = by_node["bad"]
    assert bad.state == S.CookedFail and bad.reason == "the command ended with exit code 4"
    assert bad.cook_duration >= 0.3  # how long it ran before it failed
    (missing,) = by_node["missing"]
    assert missing.state == S.CookedFail
    assert missing.reason == ("could not run the command on its Dask worker: [Errno 2] No such "
                              "file or directory: 'no-such-command'")


def test_resources_on_the_local_cluster_fail_the_cook_saying_what_to_do(tmp_path):
    net = dask_net(tmp_path, [{"name": "render", "type": "genericgenerator",
                               "parms": {"command": "true"}}], dask_resources={"GPU": 1})
    result = Engine(net).run()
    assert not result.ok
    assert result.errors == [
        "dask: onStartCook: dask_resources asks for GPU=1, but the local cluster made for the "
        "cook declares no resources: set dask_address to a Dask cluster whose workers declare "
        "them (dask worker ADDRESS --resources GPU=1), or clear dask_resources"]


def test_an_address_where_nothing_listens_is_explained(tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    net = dask_net(tmp_path, [{"name": "render", "type": "genericgenerator",
                               "parms": {"command": "true"}}],
                   dask_address=f"tcp://127.0.0.1:{port}")
    result = Engine(net).run()
    assert result.errors == [
        f"dask: onStartCook: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} "
        f"(Connection refused): is `dask scheduler` running there, and is dask_address right "
        f"(tcp://host:8786)?"]


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


# == on a cluster of separate processes, as on a farm ====================================

class DaskCluster:
    """A `dask scheduler` and `dask worker` processes (each a nanny with its worker process)
    on 127.0.0.1, started from the venv's `dask` command; ``stop`` ends them all."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def start_scheduler(self) -> None:
        # one death of its worker is forgiven, the second gives the task up (default: 3)
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        scheduler_file = self.folder / "sched.json"
        scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                              "--scheduler-file", str(scheduler_file),
                                              "--no-dashboard"], env)
        for _ in range(600):  # the scheduler writes its address into the file once it listens
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):
                if scheduler.poll() is not None:
                    break
                time.sleep(0.05)
        assert self.address, "the Dask scheduler did not start:\n" + \
            (self.folder / "scheduler.log").read_text()

    def _start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "ab") as log:
            proc = subprocess.Popen([DASK, *args], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=self.folder,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_worker(self, name: str, *args: str) -> None:
        """A worker (``--name name``) of one thread, with more ``dask worker`` arguments."""
        self._start(name, ["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                           "--name", name, "--no-dashboard", "--death-timeout", "60",
                           "--local-directory", str(self.folder / name), *args])

    def wait_for_workers(self, *names: str) -> None:
        with Client(self.address, timeout="30s") as client:
            for _ in range(1200):
                info = client.scheduler_info(n_workers=-1)["workers"].values()
                if set(names) <= {w["name"] for w in info}:
                    return
                time.sleep(0.05)
        raise AssertionError(f"Dask workers {names} did not join; logs in {self.folder}")

    def stop(self) -> None:
        """End every process of the cluster: the nannies, their workers (also those the
        nannies restarted), the workers' watchdogs, the scheduler."""
        tree = []
        for proc in self.procs:
            try:
                tree += psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in self.procs:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                for proc in self.procs:
                    proc.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue
        for proc in self.procs:
            proc.wait()
        _gone, alive = psutil.wait_procs(tree, timeout=10)
        for proc in alive:
            proc.kill()
        psutil.wait_procs(alive, timeout=10)


DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture
def cluster(tmp_path_factory):
    """A separate Dask cluster: worker "plain", and worker "gpu" declaring GPU=1. One per
    test: every test must leave no process behind (conftest), and the tests that kill
    workers leave the others an intact cluster."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("plain")
        cluster.start_worker("gpu", "--resources", "GPU=1")
        cluster.wait_for_workers("plain", "gpu")
        yield cluster
    finally:
        cluster.stop()


def farm_net(tmp_path, cluster, nodes, **parms):
    """A network whose default scheduler node "dask" uses ``cluster``; "gpu" does too, for
    items that need a GPU."""
    return make_network(tmp_path, nodes, [
        {"name": "dask", "type": "daskscheduler",
         "parms": {"dask_address": cluster.address, **parms}},
        {"name": "gpu", "type": "daskscheduler",
         "parms": {"dask_address": cluster.address, "dask_resources": {"GPU": 1}}}])


def by_node(result) -> dict[str, list]:
    nodes: dict[str, list] = {}
    for item in result.items:
        nodes.setdefault(item.node, []).append(item)
    return nodes


def test_a_cook_on_a_separate_cluster_puts_gpu_items_on_the_gpu_worker(tmp_path, cluster):
    write = "sh -c 'echo @pdg_index > __PDG_DIR__/{0}_@pdg_index.txt'"
    net = farm_net(tmp_path, cluster, [
        {"name": "cpu", "type": "genericgenerator",
         "parms": {"itemcount": 4, "command": write.format("cpu")}},
        {"name": "render", "type": "genericgenerator", "scheduler": "gpu",
         "parms": {"itemcount": 4, "command": write.format("render")}},
    ])
    result = Engine(net).run()
    assert result.ok, result.errors
    assert not result.warnings
    nodes = by_node(result)
    assert {i.attribValue("dask_worker") for i in nodes["render"]} == {"gpu"}
    assert {i.attribValue("dask_worker") for i in nodes["cpu"]} <= {"plain", "gpu"}
    for node in ("cpu", "render"):
        assert sorted((tmp_path / f"{node}_{n}.txt").read_text() for n in range(4)) == \
            [f"{n}\n" for n in range(4)]


def test_items_needing_a_resource_no_worker_has_wait_for_one_with_a_warning(tmp_path,
                                                                             cluster):
    net = farm_net(tmp_path, cluster, [
        {"name": "sim", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "sh -c 'echo simulated'"}}],
        dask_resources={"GPU": 1, "TPU": 1, "FPGA": 2})
    engine = Engine(net)
    warned = threading.Event()
    engine.events.subscribe(lambda e: warned.set() if isinstance(e, CookMessage) else None)
    engine.start()
    try:
        assert warned.wait(60)
        # the items wait, neither failed nor run, until a worker that has them joins
        cluster.start_worker("accelerated", "--resources", "GPU=1 TPU=1 FPGA=2")
        result = engine.wait(120)
    finally:
        engine.cancel()
        engine.wait(60)
    assert result is not None and result.ok, result and result.errors
    assert {i.attribValue("dask_worker") for i in result.items} == {"accelerated"}
    # one warning per resource no worker had: the "gpu" worker has GPU
    tpu, fpga = sorted(result.warnings, key=lambda text: "FPGA" in text)
    for warning, wanted in ((tpu, "TPU=1"), (fpga, "FPGA=2")):
        assert warning.startswith(f"no worker of the Dask cluster at {cluster.address} "
                                  f"declares the resource {wanted} that the items need")
        assert "they wait until such a worker joins" in warning
        assert "The workers declare: GPU=1 (1 worker), none (1 worker)." in warning
        assert warning.endswith(f"dask worker {cluster.address} --resources {wanted}")


def gone(pids_file: Path) -> bool:
    """Whether every process whose pid is in ``pids_file`` has ended (10 s of grace)."""
    procs = []
    for pid in map(int, pids_file.read_text().split()):
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(procs, timeout=10)
    return not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


KILL_WORKER = """\
import os, signal, psutil
worker = psutil.Process().parent()  # the first Python process up the tree: the Dask worker
while "python" not in worker.name():
    worker = worker.parent()
os.kill(worker.pid, signal.SIGKILL)
"""


def test_an_item_whose_worker_dies_runs_again_and_its_orphans_are_killed(tmp_path, cluster):
    # the first run leaves a sleeper behind and kills its worker
    (tmp_path / "kill_worker.py").write_text(KILL_WORKER)
    net = farm_net(tmp_path, cluster, [{"name": "once", "type": "genericgenerator", "parms": {
        "command": "sh -c 'if [ -e first_run ]; then echo second run; else touch first_run; "
                   "sleep 120 & echo $$ $! > orphans; __PDG_PYTHON__ kill_worker.py; wait; "
                   "fi'"}}])
    result = Engine(net).run()
    (item,) = result.items
    assert item.state == S.CookedSuccess, item.reason
    assert Path(urlparse(item.log_uri).path).read_text().endswith("second run\n")
    assert item.attribValue("dask_worker") in {"plain", "gpu"}
    assert gone(tmp_path / "orphans")


def test_an_item_that_kills_its_worker_every_time_fails_saying_why(tmp_path, cluster):
    (tmp_path / "kill_worker.py").write_text(KILL_WORKER)
    net = farm_net(tmp_path, cluster, [{"name": "crash", "type": "genericgenerator", "parms": {
        "command": "sh -c 'sleep 120 & echo $$ $! >> orphans; __PDG_PYTHON__ kill_worker.py; "
                   "wait'"}}])
    result = Engine(net).run()
    (item,) = result.items
    assert item.state == S.CookedFail
    assert item.reason.startswith("its Dask worker died 2 times while running it (last on ")
    assert "so Dask gave it up. Check the workers' memory limit" in item.reason
    assert "whether the command crashes or kills its worker" in item.reason
    assert item.attribValue("dask_worker") in {"plain", "gpu"}
    assert len((tmp_path / "orphans").read_text().split()) == 4
    assert gone(tmp_path / "orphans")


def test_submit_as_job_cooks_on_the_cluster_after_the_submitter_exits(tmp_path, cluster):
    # the submitted network's own items run on the same cluster
    net = farm_net(tmp_path, cluster, [{"name": "make", "type": "genericgenerator", "parms": {
        "itemcount": 3, "command": "sh -c 'echo made @pdg_index > __PDG_DIR__/made_@pdg_index'"}}])
    submitter = subprocess.run(
        [sys.executable, "-m", "schedcore.cli", "submit", str(net.path), "--scheduler", "dask"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert submitter.returncode == 0, submitter.stderr
    uri = submitter.stdout.strip().rsplit(" ", 1)[1]
    status_file = Path(urlparse(uri).path)
    assert status_file.parent == tmp_path / "pdgtemp" / "submitted"
    for _ in range(2400):  # the cook goes on without the submitter
        status = json.loads(status_file.read_text())
        if status["state"] not in ("queued", "cooking"):
            break
        time.sleep(0.05)
    assert status["state"] == "finished" and status["ok"] is True, status
    assert status["counts"] == {"CookedSuccess": 3}
    for n in range(3):
        assert (tmp_path / f"made_{n}").read_text() == f"made {n}\n"
    log = status_file.with_suffix(".log").read_text()
    assert re.match(r"schedcore: cooking on the Dask worker (plain|gpu) ", log), log


def test_a_submitted_cook_that_cannot_start_says_so_in_its_status(tmp_path, cluster):
    net = farm_net(tmp_path, cluster, [{"name": "make", "type": "genericgenerator",
                                        "parms": {"command": "true"}}])
    uri = submit(net, "dask", node="nosuch")  # the cook finds no node to cook up to
    status_file = Path(urlparse(uri).path)
    for _ in range(2400):
        status = json.loads(status_file.read_text())
        if status["state"] not in ("queued", "cooking"):
            break
        time.sleep(0.05)
    assert status["state"] == "finished" and status["ok"] is False
    (error,) = status["errors"]
    assert error.startswith("cannot cook up to 'nosuch'"), error
    assert "cannot cook up to 'nosuch'" in Path(status["log"]).read_text()


def test_the_items_of_an_engine_pass_go_to_the_cluster_in_one_submission(tmp_path,
                                                                         monkeypatch):
    """One ``client.map`` per priority per pass of the engine, not a submit per item; each
    item still gets its own task, log, outcome and priority."""
    import distributed

    maps: list[tuple[int, int]] = []  # (tasks, priority) of each submission
    real_map = distributed.Client.map

    def counting_map(self, func, *iterables, **kwargs):
        maps.append((len(iterables[0]), kwargs["priority"]))
        return real_map(self, func, *iterables, **kwargs)

    monkeypatch.setattr(distributed.Client, "map", counting_map)
    net = dask_net(tmp_path, [
        {"name": "low", "type": "genericgenerator",
         "parms": {"itemcount": 5, "command": "sh -c 'echo @pdg_index'"}},
        {"name": "bad", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "sh -c 'exit 3'"}}], pdg_maxitems=-1)
    result = Engine(net).run()
    by_node: dict[str, list] = {}
    for item in result.items:
        by_node.setdefault(item.node, []).append(item)
    assert {i.state for i in by_node["low"]} == {S.CookedSuccess}
    for item in by_node["low"]:
        assert Path(urlparse(item.log_uri).path).read_text() == f"{item.index}\n"
        assert item.attribValue("dask_worker")
    assert {i.reason for i in by_node["bad"]} == {"the command ended with exit code 3"}
    assert sum(tasks for tasks, _ in maps) == 7
    assert len(maps) == len({priority for _, priority in maps})  # one per priority
