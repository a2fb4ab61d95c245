"""The Dask scheduler when the cook is canceled, and when the cluster loses its workers or its
scheduler: real `schedcore cook` processes and `dask` processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from schedcore.engine import Engine
from schedcore.workitem import WorkItemState as S

from .conftest import make_network
from .test_dask import DaskCluster

MARKER = "SCHEDCORE_COOK"


def marked(value: str | None = None, workdir: str | None = None) -> list[psutil.Process]:
    """Live processes carrying a cook's marker (``value``, or any cook's whose jobs run in
    ``workdir``), on this machine."""
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if MARKER not in env or proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.Error, OSError):
            continue
        if (value is None or env[MARKER] == value) and \
                (workdir is None or env.get("PDG_DIR") == workdir):
            found.append(proc)
    return found


def wait_for(condition, seconds: float, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@pytest.fixture
def cluster(tmp_path_factory):
    """A scheduler and two workers of one thread each: 2 slots."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.wait_for_workers("w1", "w2")
        yield cluster
    finally:
        cluster.stop()


def sleepers(tmp_path, address: str, count: int, seconds: int = 30, **parms):
    return make_network(tmp_path, [{"name": "sleep", "type": "genericgenerator", "parms": {
        "itemcount": count, "command": f"sleep {seconds}"}}], [
        {"name": "dask", "type": "daskscheduler",
         "parms": {"dask_address": address, **parms}}])


def test_sigterm_leaves_no_task_of_the_cook_running_or_to_start(tmp_path, cluster):
    """Six `sleep 30` items on two slots: two run, two wait on the workers, two on the
    scheduler. Five times: SIGTERM to the cook once two run; after it exits no process of
    its jobs is alive, and none starts in the next seconds."""
    for trial in range(5):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        net = sleepers(folder, cluster.address, 6)
        cook = subprocess.Popen([sys.executable, "-m", "schedcore.cli", "cook", str(net.path),
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=folder)
        try:
            running = wait_for(lambda f=str(folder): len(marked(workdir=f)) >= 2 and
                               marked(workdir=f), 60)
            assert running, f"trial {trial}: the jobs did not start"
            marker = running[0].environ()[MARKER]
            cook.send_signal(signal.SIGTERM)
            out, err = cook.communicate(timeout=60)
        finally:
            if cook.poll() is None:
                cook.kill()
                cook.wait()
        assert cook.returncode == 143, err
        assert {i["state"] for i in json.loads(out)["items"]} == {"CookedCancel"}
        left = marked(marker)
        assert not left, f"trial {trial}: {[p.pid for p in left]} still run"
        # absence: nothing of the cook starts later either (a queued task would within 0.1 s)
        late = wait_for(lambda m=marker: marked(m), 3, step=0.1)
        assert not late, f"trial {trial}: {[p.pid for p in late]} started after the cook"


def test_every_worker_lost_fails_the_waiting_items_naming_them(tmp_path, cluster):
    net = sleepers(tmp_path, cluster.address, 4, seconds=60, dask_workerwait=2)
    engine = Engine(net)
    engine.start()
    try:
        assert wait_for(lambda: len(marked(workdir=str(tmp_path))) >= 2, 60)
        # every worker and its nanny killed: the scheduler lives on with no worker
        for proc in cluster.procs[1:]:
            os.killpg(proc.pid, signal.SIGKILL)
        result = engine.wait(60)
    finally:
        engine.cancel()
        engine.wait(60)
    assert result is not None, "the cook waited on without workers"
    assert not result.ok
    assert {i.state for i in result.items} == {S.CookedFail}
    for item in result.items:
        assert item.reason.startswith(
            f"the Dask cluster at {cluster.address} has had no workers for 2 s (lost: w1, w2)"
        ), item.reason
        assert f"dask worker {cluster.address}" in item.reason
        assert "dask_workerwait" in item.reason


def test_a_lost_dask_scheduler_fails_the_items_naming_it(tmp_path, cluster):
    net = sleepers(tmp_path, cluster.address, 4, seconds=60)
    engine = Engine(net)
    engine.start()
    try:
        assert wait_for(lambda: len(marked(workdir=str(tmp_path))) >= 2, 60)
        os.killpg(cluster.procs[0].pid, signal.SIGKILL)  # the `dask scheduler`
        result = engine.wait(90)
    finally:
        engine.cancel()
        engine.wait(60)
    assert result is not None, "the cook waited on without its scheduler"
    assert not result.ok
    assert {i.state for i in result.items} == {S.CookedFail}
    for item in result.items:
        assert item.reason.startswith(
            f"the cook lost the Dask scheduler at {cluster.address}"), item.reason
        assert "the job was canceled" not in item.reason
