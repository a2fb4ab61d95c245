"""The Slurm scheduler against a real Slurm on this machine (the ``slurm_cluster`` fixture
starts one for the run; these tests skip, saying why, where it cannot run)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from schedcore import check
from schedcore.engine import Engine
from schedcore.events import CookMessage
from schedcore.schedulers import SlurmScheduler
from schedcore.workitem import WorkItemState as S

from . import slurmlocal
from .conftest import EXAMPLES, make_network

# the cluster is shared by the run's workers: each test names its cook's jobs, and looks
# only at those
FAST = {"pdg_tickperiod": 0.1, "slurm_pollperiod": 0.2}
CLI = [sys.executable, "-m", "schedcore.cli"]


def slurm_net(tmp_path: Path, nodes: list[dict], **parms):
    tmp_path.mkdir(parents=True, exist_ok=True)
    parms = {**FAST, "slurm_jobname": job_name(tmp_path), **parms}
    return make_network(tmp_path, nodes, [{"name": "slurm", "type": "slurmscheduler",
                                           "parms": parms}])


def job_name(tmp_path: Path) -> str:
    """The start of the names of the test's Slurm jobs."""
    return f"t{abs(hash(str(tmp_path))) % 10**8}"


def cook(net, timeout: float = 90):
    engine = Engine(net)
    engine.start()
    result = engine.wait(timeout)
    if result is None:
        engine.cancel()
        engine.wait(60)
        pytest.fail(f"the cook did not end within {timeout:g} s")
    return result


def messages(engine: Engine) -> list[str]:
    """The cook's messages (warnings, errors) as they come."""
    said: list[str] = []
    engine.events.subscribe(lambda e: said.append(e.text) if isinstance(e, CookMessage)
                            else None)
    return said


def squeue(tmp_path: Path) -> list[tuple[str, str]]:
    """(job id, state) of the test's Slurm jobs that are pending or running."""
    out = subprocess.run(["squeue", "--noheader", "--array", "--format=%i|%T|%j"],
                         capture_output=True, text=True, check=True).stdout
    prefix = job_name(tmp_path) + "-"
    return [(i, state) for i, state, name in (line.split("|") for line in out.split())
            if name.startswith(prefix)]


def cook_json(network: Path, workdir: Path, timeout: float = 90) -> dict:
    done = subprocess.run([*CLI, "cook", str(network), "--scheduler", "slurmscheduler",
                           "--workdir", str(workdir), "--json"], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


def log_text(uri: str) -> str:
    return Path(url2pathname(urlparse(uri).path)).read_text()


def test_the_example_cooks_on_slurm_with_readable_logs(slurm_cluster, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "net")
    result = cook_json(tmp_path / "net" / "wedge_summary.top.json", tmp_path / "work")
    assert result["counts"] == {"CookedSuccess": 14}
    renders = [i for i in result["items"] if i["node"] == "render1"]
    assert len(renders) == 6
    for item in renders:
        assert "drew a" in log_text(item["log_uri"])  # Slurm's output file of its task
        job_id = item["attributes"]["slurm_jobid"]["values"][0]
        assert job_id.split("_")[0].isdigit() and job_id in item["log_uri"]
        assert item["usage"]["native_id"] == job_id  # the trace's and the viewer's job id
        # Slurm's word at the cook's end: the task reported its success before its process
        # ended, so Slurm may still see it running, or leaving the node
        assert item["attributes"]["slurm_state"]["values"][0] in (
            "RUNNING", "COMPLETING", "COMPLETED")
    assert (tmp_path / "work" / "output" / "index.html").exists()


def test_the_conformance_kit_passes_against_slurm(slurm_cluster):
    report = check.run(check.resolve("slurmscheduler", FAST))
    assert [r.name for r in report.results] == check.NAMES
    assert {r.status for r in report.results} == {check.PASSED}, \
        "\n".join(r.line() for r in report.results)


def test_cancel_leaves_no_slurm_job_within_5_seconds(slurm_cluster, tmp_path):
    net = slurm_net(tmp_path, [{"name": "long", "type": "genericgenerator",
                                "parms": {"itemcount": 3, "command": "sleep 600"}}])
    cook = subprocess.Popen([*CLI, "cook", str(net.path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not running(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running(tmp_path)
        cook.send_signal(signal.SIGINT)
        asked = time.monotonic()
        while squeue(tmp_path) and time.monotonic() - asked < 5:
            time.sleep(0.05)
        assert squeue(tmp_path) == [], "Slurm jobs left 5 s after the cancel"
    finally:
        if cook.poll() is None and not squeue(tmp_path) == []:
            cook.kill()
        output, _ = cook.communicate(timeout=60)
    assert cook.returncode != 0
    assert "canceled" in output


def running(tmp_path: Path) -> bool:
    return any(state == "RUNNING" for _, state in squeue(tmp_path))


def test_an_item_over_its_time_limit_fails_with_slurms_reason(slurm_cluster, tmp_path):
    # Slurm's time limits are whole minutes, looked at every 30 s or so: this takes ~90 s
    net = slurm_net(tmp_path, [{"name": "slow", "type": "genericgenerator",
                                "parms": {"command": "sleep 600"}}], slurm_maxruntime=1)
    result = cook(net, 200)
    (item,) = result.items
    assert item.state == S.CookedFail
    assert "TIMEOUT" in item.reason and "time limit" in item.reason
    assert item.attribValue("slurm_state") == "TIMEOUT"


test_an_item_over_its_time_limit_fails_with_slurms_reason = pytest.mark.timeout(300)(
    test_an_item_over_its_time_limit_fails_with_slurms_reason)


def test_a_failed_job_runs_again_as_its_retries_allow(slurm_cluster, tmp_path):
    marker = tmp_path / "tried"
    command = f"test -e {marker} || {{ touch {marker}; exit 3; }}"
    net = slurm_net(tmp_path, [{"name": "flaky", "type": "genericgenerator",
                                "parms": {"command": command}}], maxretries=1)
    result = cook(net)
    (item,) = result.items
    assert item.state == S.CookedSuccess, item.reason
    assert "attempt 2 follows" in item.log


def test_without_retries_a_failing_command_fails_its_item_with_its_exit_code(
        slurm_cluster, tmp_path):
    net = slurm_net(tmp_path, [{"name": "bad", "type": "genericgenerator",
                                "parms": {"command": "exit 3"}}])
    (item,) = cook(net).items
    assert item.state == S.CookedFail
    assert "exit code 3" in item.reason


def test_a_submit_slurm_refuses_fails_the_items_with_slurms_words(slurm_cluster, tmp_path):
    net = slurm_net(tmp_path, [{"name": "a", "type": "genericgenerator",
                                "parms": {"itemcount": 2, "command": "true"}}],
                    slurm_extraargs="--constraint=no_such_feature")
    result = cook(net, 60)
    assert {i.state for i in result.items} == {S.CookedFail}
    for item in result.items:
        assert "Slurm refused the job" in item.reason
        assert "feature" in item.reason.lower()  # sbatch's own words


def test_an_unknown_partition_fails_the_cook_naming_the_known_ones(slurm_cluster, tmp_path):
    net = slurm_net(tmp_path, [{"name": "a", "type": "genericgenerator",
                                "parms": {"command": "true"}}], slurm_partition="nope")
    result = cook(net, 60)
    text = " ".join(result.errors)
    assert "no partition 'nope'" in text and "debug" in text and "other" in text


def test_the_partitions_are_listed_with_the_default_one(slurm_cluster):
    found = {p.name: p for p in SlurmScheduler().partitions()}
    assert set(found) == {"debug", "other"}
    assert found["debug"].default and not found["other"].default
    assert found["debug"].available and found["debug"].nodes == 1


def test_a_job_held_in_the_queue_says_why_it_waits(slurm_cluster, tmp_path):
    net = slurm_net(tmp_path, [{"name": "held", "type": "genericgenerator",
                                "parms": {"command": "true"}}],
                    slurm_extraargs="--hold", slurm_pendingwarn=0)
    engine = Engine(net)
    said = messages(engine)
    engine.start()
    try:
        deadline = time.monotonic() + 30
        warned: list[str] = []
        while time.monotonic() < deadline and not warned:
            warned = [w for w in said if "pending" in w]
            time.sleep(0.1)
        assert warned and "JobHeldUser" in warned[0]
        (item,) = engine.items.values()
        job = engine.schedulers[0].job_of(item)
        assert job.state == "PENDING" and job.reason == "JobHeldUser"
    finally:
        engine.cancel()
        result = engine.wait(60)
    assert [i.state for i in result.items] == [S.CookedCancel]
    assert squeue(tmp_path) == []


def test_no_sbatch_on_the_path_fails_the_cook_saying_what_to_install(tmp_path):
    net = slurm_net(tmp_path, [{"name": "a", "type": "genericgenerator",
                                "parms": {"command": "true"}}],
                    slurm_bindir=str(tmp_path / "no-slurm-here"))
    result = cook(net, 60)
    text = " ".join(result.errors)
    assert "not on the PATH" in text or "could not run" in text
    assert "slurm_bindir" in text


@pytest.fixture
def private_slurm(monkeypatch):
    """A cluster of the test's own, for tests that stop its daemons (the shared one's would
    disturb the other tests): its folder, with SLURM_CONF naming it."""
    folder = Path(tempfile.mkdtemp(prefix="sl-", dir="/tmp"))  # short: munge's socket path
    try:
        cluster = slurmlocal.up(folder)
    except slurmlocal.SlurmUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"no local Slurm: {exc}")
    monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
    yield folder
    slurmlocal.down(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_controller_down_for_20_seconds_loses_nothing(private_slurm, tmp_path):
    net = slurm_net(tmp_path, [{"name": "w", "type": "genericgenerator",
                                "parms": {"itemcount": 6, "command": "sleep 4"}}])
    engine = Engine(net)
    engine.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                i.state == S.Cooking for i in engine.items.values()):
            time.sleep(0.1)
        slurmlocal.stop_daemon(private_slurm, "slurmctld")
        threading.Event().wait(20)
        slurmlocal.start_controller(private_slurm)
        result = engine.wait(120)
    finally:
        if engine.result is None:
            engine.cancel()
            engine.wait(60)
    assert {i.state for i in result.items} == {S.CookedSuccess}
    assert len(result.items) == 6
    said = " ".join(result.warnings)
    assert "does not answer" in said and "answers again" in said


def test_without_munge_the_cook_fails_at_its_start_saying_so(private_slurm, tmp_path):
    slurmlocal.stop_daemon(private_slurm, "munged")
    net = slurm_net(tmp_path, [{"name": "a", "type": "genericgenerator",
                                "parms": {"command": "true"}}])
    result = cook(net, 60)
    text = " ".join(result.errors)
    assert "is munged running" in text
    assert [i.state for i in result.items] != [S.CookedSuccess]


test_a_controller_down_for_20_seconds_loses_nothing = pytest.mark.timeout(240)(
    test_a_controller_down_for_20_seconds_loses_nothing)


def test_a_result_server_on_loopback_is_refused_when_nodes_are_elsewhere(
        slurm_cluster, tmp_path, monkeypatch):
    from schedcore.schedulers import slurmcommands
    nodes = {"a": {"name": "a", "type": "genericgenerator", "parms": {"command": "true"}}}
    here = cook(slurm_net(tmp_path / "here", list(nodes.values()),
                          pdg_resultserverbind="127.0.0.1"), 60)
    assert here.ok  # this machine is Slurm's only node: loopback reaches it
    monkeypatch.setattr(slurmcommands, "node_addresses", lambda *args: ["render07"])
    elsewhere = cook(slurm_net(tmp_path / "elsewhere", list(nodes.values()),
                               pdg_resultserverbind="127.0.0.1"), 60)
    text = " ".join(elsewhere.errors)
    assert "render07" in text and "pdg_resultserverbind to 0.0.0.0" in text
