"""Every cook ends: failures above a wait-for-all, a Python Script, a dynamic node and a
Server End, cooked by the real command with real jobs, end promptly with exit status 1, the
items below Uncooked, each saying which upstream item stopped it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from schedcore import network as network_file
from schedcore.submit import submit

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]

FAILING = {"name": "gen", "type": "genericgenerator", "inputs": [],
           "parms": {"itemcount": 2, "command": "false"}}
WAIT = {"name": "wait", "type": "waitforall", "inputs": ["gen"]}
BELOW = {
    "generic": [{"name": "after", "type": "genericgenerator", "inputs": ["wait"],
                 "parms": {"command": "echo after"}}],
    "python script": [{"name": "after", "type": "pythonscript", "inputs": ["wait"],
                       "parms": {"script": "print('after')"}}],
    "dynamic": [{"name": "after", "type": "genericgenerator", "inputs": ["wait"],
                 "parms": {"command": "echo after", "generatewhen": "eachupstreamcooked"}}],
}


def write(path: Path, nodes: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": nodes}))
    return path


def cook(path: Path) -> tuple[int, dict]:
    done = subprocess.run([*SCHEDCORE, "cook", str(path), "--json"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("below", list(BELOW))
def test_two_failures_above_a_wait_for_all_end_the_cook(tmp_path, below):
    code, result = cook(write(tmp_path / "hang.top.json", [FAILING, WAIT, *BELOW[below]]))
    assert code == 1
    items = {i["name"]: i for i in result["items"]}
    assert [items[n]["state"] for n in ("gen_1", "gen_2")] == ["CookedFail"] * 2
    assert items["wait_3"]["state"] == "Uncooked"
    assert items["wait_3"]["reason"] in ("upstream item gen_1 failed",
                                         "upstream item gen_2 failed")  # the first to fail
    after = [i for i in result["items"] if i["node"] == "after"]
    assert len(after) == (0 if below == "dynamic" else 1)  # nothing cooked to make it from
    for item in after:
        assert (item["state"], item["reason"]) == ("Uncooked",
                                                     "upstream item wait_3 did not run")


def test_failures_above_a_server_end_end_the_cook_and_the_server(tmp_path):
    nodes = [{"name": "w", "type": "wedge", "inputs": [], "parms": {"wedgecount": 2}},
             {"name": "server", "type": "pythonserver", "inputs": ["w"]},
             {"name": "send", "type": "commandsend", "inputs": ["server"],
              "parms": {"script": "raise SystemExit(3)"}},
             {"name": "end", "type": "commandserverend", "inputs": ["send"]},
             {"name": "after", "type": "genericgenerator", "inputs": ["end"],
              "parms": {"command": "echo after"}}]
    code, result = cook(write(tmp_path / "server.top.json", nodes))
    assert code == 1
    by_node: dict[str, list] = {}
    for item in result["items"]:
        by_node.setdefault(item["node"], []).append(item)
    assert {i["state"] for i in by_node["send"]} == {"CookedFail"}
    for item in by_node["end"] + by_node["after"]:
        assert item["state"] == "Uncooked" and item["reason"].startswith("upstream item ")


def test_a_submitted_cook_of_the_hang_network_finishes(tmp_path):
    path = write(tmp_path / "hang.top.json", [FAILING, WAIT, *BELOW["generic"]])
    uri = submit(network_file.load(path))
    done = subprocess.run([*SCHEDCORE, "status", uri, "--wait", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout, done.stderr
    status = json.loads(done.stdout)
    assert status["state"] == "finished" and status["ok"] is False
    assert status["counts"] == {"CookedFail": 2, "Uncooked": 2}


# == signals in quick succession ========================================================
# A cook gets two or more of SIGTERM, SIGHUP and SIGINT in quick succession, from the moment
# its handlers are in (while it still starts up) to while its jobs run: `timeout` signals the
# child and then its group, a user presses Ctrl-C twice, a closed terminal sends SIGHUP to
# all. Each time the first signal's exit status, no traceback, and no job process left.

SIGNALED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
SLEEPERS = "sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait"  # 2 processes a job
TRIALS = 6
TRIAL_VAR = "SCHEDCORE_TEST_SIGNAL_TRIAL"  # in the cook's environment, so its jobs' too


def caught_signals(pid: int) -> set[int]:
    """The signals ``pid`` has a handler for (Linux: SigCgt of /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            mask = next(int(line.split()[1], 16) for line in status
                        if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return set()
    return {sig for sig in range(1, 65) if mask >> (sig - 1) & 1}


def processes_of_trial(token: str) -> list[psutil.Process]:
    """Every process (but this one) whose environment has the trial's token."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get(TRIAL_VAR) == token:
                found.append(proc)
        except psutil.Error:
            pass
    return [proc for proc in found if _running(proc)]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def signaled_cook(folder: Path, signals: list[int], delays: list[float]) -> dict:
    """Cook two jobs of ``SLEEPERS``; once the cook has its signal handlers in, send
    ``signals``, each after its delay; the cook's exit status, stderr, and the pids the jobs
    wrote that are still running once it exited, and any other process of its jobs."""
    folder.mkdir()
    pids = folder / "pids"
    path = write(folder / "sleepers.top.json", [{
        "name": "sleepers", "type": "genericgenerator",
        "parms": {"itemcount": 2, "command": SLEEPERS.format(pids=pids)}}])
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen([*SCHEDCORE, "cook", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, TRIAL_VAR: token})
    try:
        deadline = time.monotonic() + 30
        while signal.SIGTERM not in caught_signals(proc.pid):  # its handlers are in
            assert proc.poll() is None and time.monotonic() < deadline, "no handlers"
            time.sleep(0.005)
        for sig, delay in zip(signals, delays, strict=True):
            time.sleep(delay)  # a random pause between signals, not a wait for anything
            if proc.poll() is None:
                proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        written = [int(line) for line in pids.read_text().split()] if pids.exists() else []
        left = [pid for pid in written if psutil.pid_exists(pid)
                and _running(psutil.Process(pid))]
        others = processes_of_trial(token)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for leftover in processes_of_trial(token):  # leave nothing for the next trial
            with contextlib.suppress(psutil.Error):
                leftover.kill()
    canceling = re.findall(r"(SIG[A-Z]+): canceling the cook", out)
    return {"status": proc.returncode, "stderr": err, "left": left, "canceling": canceling,
            "others": [p.pid for p in others], "written": len(written)}


RUNS = {  # the signals of a run; the first one's exit status is the cook's
    "SIGTERM twice": [signal.SIGTERM] * 2,
    "SIGTERM burst": [signal.SIGTERM] * 5,
    "SIGHUP twice": [signal.SIGHUP] * 2,
    "SIGHUP burst": [signal.SIGHUP] * 5,
    "SIGINT twice": [signal.SIGINT] * 2,
    "SIGINT burst": [signal.SIGINT] * 5,
    "mixed burst": [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGTERM],
}


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
@pytest.mark.parametrize("run", list(RUNS))
def test_signals_in_quick_succession_cancel_once_and_leave_no_job(tmp_path, run):
    signals = RUNS[run]
    draw = random.Random(f"{run}-{os.environ.get('SCHEDCORE_SIGNAL_SEED', '')}")
    for trial in range(TRIALS):
        # the first signal from at once (the cook still starting) to once jobs run; then
        # the others from together to half a second apart
        delays = [draw.uniform(0, 0.8)] + [draw.choice([0, 0, draw.uniform(0, 0.5)])
                                           for _ in signals[1:]]
        seen = signaled_cook(tmp_path / f"trial{trial}", signals, delays)
        about = f"trial {trial}, delays {[round(d, 3) for d in delays]}: {seen}"
        # the first signal the cook took: signals sent together arrive in any order
        assert len(seen["canceling"]) == 1, about
        first = signal.Signals[seen["canceling"][0]]
        assert first == signals[0] or not any(delays[1:signals.index(first) + 1]), about
        assert seen["status"] == SIGNALED_EXIT[first], about
        assert "Traceback" not in seen["stderr"], about
        assert seen["left"] == [] and seen["others"] == [], about


SILENT_SERVERS = '''
import os

from schedcore.schedulers import LocalScheduler


class SilentServers(LocalScheduler):
    """Knows 12 shared servers that accept and never answer, as if a job reported them."""

    type_name = "silentservers"

    def onStartCook(self, static, cook_set):
        for n in range(12):
            self.setSharedServerInfo(f"silent{n}", {
                "name": f"silent{n}", "host": "127.0.0.1", "token": "t", "pid": 1,
                "port": int(os.environ["SILENT_PORT"])})
        return super().onStartCook(static, cook_set)


def registerTypes(type_registry):
    type_registry.registerScheduler(SilentServers, name="silentservers")
'''


def test_a_signal_while_the_cook_ends_its_servers_gives_the_signals_status(tmp_path):
    """Every item cooked, then the end of the cook waits for 12 shared servers that never
    answer; a SIGTERM then ends the wait, and the exit status is 143, not 0."""
    types = tmp_path / "types" / "pdg" / "types"
    types.mkdir(parents=True)
    (types / "silentservers.py").write_text(SILENT_SERVERS)
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "silent", "type": "silentservers", "parms": {}}], "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 2, "command": "true"}}]}))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        env = {**os.environ, "SCHEDCORE_PATH": str(tmp_path / "types"),
               "SILENT_PORT": str(listener.getsockname()[1])}
        proc = subprocess.Popen([*SCHEDCORE, "cook", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            listener.settimeout(30)
            conn, _ = listener.accept()  # the end of the cook asks the first server
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            conn.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in err
    assert "SIGTERM: canceling the cook" in out
    assert "12 of 12 shared servers were not ended: the cook was canceled meanwhile" in out
    assert "SIGTERM came as the cook ended: every item had cooked" in out
