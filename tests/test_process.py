"""Killing a job's processes wherever they went, and the orphans a subreaper adopts: with
real processes (double forks, setsid), no mocks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from schedcore import process

# A daemon as Python writes one: fork, setsid, fork again; the grandchild writes its pid to
# argv[1] (one line in one write) and sleeps, its parent gone at once.
DAEMON = """\
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
time.sleep(150)
"""


def write_daemon(folder: Path) -> Path:
    path = folder / "daemon.py"
    path.write_text(DAEMON)
    return path


def wait_for_pids(path: Path, count: int, timeout: float = 30) -> list[int]:
    """The first ``count`` pids written to ``path``, once they are there."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().split("\n")[:-1] if path.exists() else []
        if len(lines) >= count:
            return [int(line) for line in lines[:count]]
        assert time.monotonic() < deadline, f"{count} pids not in {path}: {lines}"
        time.sleep(0.02)


def wait_until(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


def ended(pid: int) -> bool:
    """Whether ``pid`` has exited: gone, or a zombie its parent has not reaped yet (init
    reaps lazily on some machines)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def assert_all_gone(pids: list[int], timeout: float = 10) -> None:
    """Every one of ``pids`` has exited (a zombie has; the fixture nothing_left_running
    sees to those left as zombies of this process)."""
    deadline = time.monotonic() + timeout
    while running := [pid for pid in pids if not ended(pid)]:
        assert time.monotonic() < deadline, f"still running: {running}"
        time.sleep(0.02)


@contextlib.contextmanager
def killing_leftovers(*pid_files: Path):
    """Whatever the test's outcome, no process whose pid is in ``pid_files`` stays on."""
    try:
        yield
    finally:
        for path in pid_files:
            for line in path.read_text().split() if path.exists() else []:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(line), signal.SIGKILL)


def job_env(cook: str, item: int) -> dict[str, str]:
    return {**os.environ, process.MARKER: cook, process.ITEM_VAR: str(item)}


def start_job(tmp_path: Path, command: str, env: dict) -> subprocess.Popen:
    with open(tmp_path / "job.log", "ab") as log, open(os.devnull, "rb") as stdin:
        return process.start(command, stdin, log, env, str(tmp_path))


def leaving_the_tree(pids: Path | str, daemon: Path) -> str:
    """A shell command that starts a setsid'ed sleep and a Python daemon (both leave its
    tree at once), then writes its own pid and sleeps: three pids in the file ``pids``."""
    return (f"(setsid sh -c 'echo $$ >> {pids}; exec sleep 150' &); "
            f"{sys.executable} {daemon} {pids}; "
            f"while [ $(wc -l < {pids}) -lt 2 ]; do sleep 0.02; done; "
            f"echo $$ >> {pids}; exec sleep 150")


@pytest.mark.parametrize("env_given", [True, False], ids=["env given", "env of the process"])
def test_kill_tree_kills_what_left_the_tree_by_its_marker(tmp_path, env_given):
    pids, daemon = tmp_path / "pids", write_daemon(tmp_path)
    env = job_env("c0ffee", 7)
    with killing_leftovers(pids, tmp_path / "other"):
        job = start_job(tmp_path, leaving_the_tree(pids, daemon), env)
        other = start_job(tmp_path, f"sh -c 'echo $$ > {tmp_path / 'other'}; exec sleep 150'",
                          job_env("c0ffee", 8))  # the same cook's next item: not this job's
        *left, own = wait_for_pids(pids, 3)
        assert own == job.pid
        descendants = {p.pid for p in psutil.Process(job.pid).children(recursive=True)}
        assert not descendants & set(left), "the test's processes should have left the tree"
        process.kill_tree(job, env=env if env_given else None)
        assert job.returncode == -signal.SIGTERM
        assert_all_gone(left)
        assert other.poll() is None, "another item's job was killed"
        process.kill_tree(other)
        assert other.returncode == -signal.SIGTERM


def test_kill_tree_kills_a_process_of_the_session_that_cleared_its_environment(tmp_path):
    pids = tmp_path / "pids"
    # env -i: no marker; in its own process group and left the tree, but in the job's session
    command = (f"(env -i {sys.executable} -c 'import os, time; os.setpgid(0, 0); "
               f"open(\"{pids}\", \"a\").write(str(os.getpid()) + chr(10)); "
               f"time.sleep(150)' &); exec sleep 150")
    with killing_leftovers(pids):
        job = start_job(tmp_path, command, job_env("c0ffee", 9))
        (escaped,) = wait_for_pids(pids, 1)
        assert os.getpgid(escaped) == escaped and os.getsid(escaped) == job.pid
        process.kill_tree(job)
        assert_all_gone([escaped])


def test_kill_owned_kills_every_process_with_the_marker_and_says_which(tmp_path):
    pids, daemon = tmp_path / "pids", write_daemon(tmp_path)
    with killing_leftovers(pids, tmp_path / "spared"):
        child = subprocess.Popen(["sleep", "150"], env=job_env("dead1", 1))
        subprocess.run([sys.executable, str(daemon), str(pids)], env=job_env("dead1", 2),
                       check=True)  # returns at once: the daemon lives on, not our child
        spared = subprocess.Popen(
            ["sh", "-c", f"echo $$ > {tmp_path / 'spared'}; exec sleep 150"],
            env=job_env("alive2", 1))
        (daemon_pid,) = wait_for_pids(pids, 1)
        killed = process.kill_owned(process.MARKER, "dead1", grace=5)
        assert killed == sorted([child.pid, daemon_pid])
        assert child.wait(10) == -signal.SIGTERM  # left for its Popen to reap
        assert_all_gone([daemon_pid])
        assert spared.poll() is None
        assert process.kill_owned(process.MARKER, "") == []  # an empty value: nothing
        assert process.kill_owned(process.MARKER, "alive2") == [spared.pid]
        spared.wait(10)


def test_kill_owned_stops_the_jobs_of_a_cook_that_was_sigkilled(tmp_path):
    """What a resumed cook does first: the jobs of the cook that died holding the network
    (SIGKILL) still run, a setsid'ed one and a daemon among them; its cook id finds them."""
    pids, daemon = tmp_path / "pids", write_daemon(tmp_path)
    net = tmp_path / "net.top.json"
    net.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [{"name": "long", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": 1, "command": leaving_the_tree(pids, daemon)}}]}))
    with killing_leftovers(pids):
        cook = subprocess.Popen([sys.executable, "-m", "schedcore.cli", "cook", str(net)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            found = wait_for_pids(pids, 3)
            cook_id = psutil.Process(found[-1]).environ()[process.MARKER]
        finally:
            cook.kill()
            cook.wait()
        assert all(psutil.pid_exists(pid) for pid in found)  # SIGKILL cleans up nothing
        killed = process.kill_owned(process.MARKER, cook_id)
        assert set(found) <= set(killed)
        assert_all_gone(killed)


@pytest.fixture
def subreaper():
    if not process.become_subreaper():
        pytest.skip("no child subreaper here (Linux only)")
    yield
    process.stop_subreaper()
    assert not process.is_subreaper()


def zombie_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children()
            if child.status() == psutil.STATUS_ZOMBIE]


def test_the_subreaper_reaps_an_orphan_seen_alive_and_no_popen_child(tmp_path, subreaper):
    pids, go = tmp_path / "pids", tmp_path / "go"
    with killing_leftovers(pids):
        job = start_job(tmp_path, f"(setsid sh -c 'echo $$ >> {pids}; "
                                  f"while [ ! -e {go} ]; do sleep 0.02; done' &); exit 3",
                        job_env("feed", 1))
        (orphan,) = wait_for_pids(pids, 1)
        assert job.wait(30) == 3
        assert psutil.Process(orphan).ppid() == os.getpid()  # adopted, not init's
        # Popen children of ours that exit unwaited, one even with another cook's marker
        plain = subprocess.Popen(["sh", "-c", "exit 5"])
        marked = subprocess.Popen(["sh", "-c", "exit 6"], env=job_env("other", 1))
        assert process.reap_orphans() == []  # the orphan runs; now it is known
        go.touch()
        wait_until(lambda: len(zombie_children()) == 3, what="three zombie children")
        assert process.reap_orphans() == [orphan]
        assert not psutil.pid_exists(orphan)
        assert (plain.wait(10), marked.wait(10)) == (5, 6)  # their statuses were not taken


def test_the_subreaper_reaps_a_zombie_of_a_running_jobs_session(tmp_path, subreaper):
    go = tmp_path / "go"
    # the orphan ends at once, before anyone reads its environment; its job goes on
    job = start_job(tmp_path, f"(true &); while [ ! -e {go} ]; do sleep 0.02; done; exit 3",
                    job_env("feed", 2))
    wait_until(lambda: any(os.getsid(z.pid) == job.pid for z in zombie_children()),
               what="the job's orphan as our zombie")
    (zombie,) = [z.pid for z in zombie_children() if os.getsid(z.pid) == job.pid]
    assert process.reap_orphans() == [zombie]
    go.touch()
    assert job.wait(30) == 3


def test_programs_are_found_once_along_an_absolute_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "tool"
    tool.write_text("#!/bin/sh\necho tool $0\n")
    tool.chmod(0o755)
    programs = process.Programs(f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert programs("tool") == str(tool)
    tool.unlink()
    assert programs("tool") == str(tool)  # once per cook: not looked up again
    assert programs("./tool") is None and programs("/bin/sh") is None  # a path: as given
    assert programs("no-such-program-here") is None  # Popen says what is wrong
    # a relative folder: what runs depends on the job's working dir, so Popen looks
    assert process.Programs(f"bin{os.pathsep}/usr/bin")("sh") is None


def test_a_job_started_with_an_encoded_environment_and_programs(tmp_path, subreaper):
    """What the Local Scheduler does once per cook changes nothing the job sees: its own
    variables, its argv[0], the shell for shell syntax; its marker names it to the reaper."""
    env = job_env("lean", 7)
    encoded = process.encode_environment(env)
    programs = process.Programs(env.get("PATH"))
    out = tmp_path / "job.log"
    with open(out, "ab") as log, open(os.devnull, "rb") as stdin:
        job = process.start(f"sh -c 'echo $0 ${process.MARKER} ${process.ITEM_VAR}'", stdin,
                            log, encoded, str(tmp_path), marker=env, programs=programs)
        assert job.wait(30) == 0
        piped = process.start("echo piped | cat", stdin, log, encoded, str(tmp_path),
                              marker=env, programs=programs)
        assert piped.wait(30) == 0
    assert out.read_text().splitlines() == ["sh lean 7", "piped"]
    assert process._orphans._jobs["lean"]["7"] in (job.pid, piped.pid)


LEAN_START = sys.implementation.name == "cpython" and (3, 10) <= sys.version_info[:2] <= (3, 13)

STARTS = [  # command, working dir (in tmp_path; None: a missing one), extra variables
    ("sh -c 'echo out $X; echo err >&2; exit 3'", "work", {"X": "set"}),
    ("pwd", "work", {}),
    (f"{sys.executable} -c 'import os; print(os.getsid(0) == os.getpid(), os.getpgrp())'",
     "work", {}),
    ("cat", "work", {}),  # stdin is the one given
    ("sh -c 'kill -TERM $$'", "work", {}),
    ("no-such-program-here --flag", "work", {}),
    ("./not-executable", "work", {}),
    ("./no-such-file", "work", {}),
    ("true", None, {}),
    ("true", "work", {"BAD=NAME": "1"}),
    ("echo a\x00b", "work", {}),  # a NUL byte in an argument
    ("true", "work", {"X": "a\x00b"}),  # and in a variable
]


@pytest.mark.parametrize("command, folder, extra", STARTS)
@pytest.mark.parametrize("encoded", [False, True])
def test_a_job_starts_as_popen_would_start_it(tmp_path, monkeypatch, command, folder, extra,
                                              encoded):
    """A job's process started without Popen (where the Python is one whose Popen call is
    known) gets what Popen would give it, and fails as Popen would say: compared in turn."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "not-executable").write_text("echo never\n")
    (tmp_path / "in").write_text("given\n")
    cwd = str(work) if folder else str(tmp_path / "gone")
    env = {**os.environ, **extra}

    def run(lean: bool):
        if not lean:
            monkeypatch.setattr(process, "_fork_exec", None)
        out = tmp_path / f"{lean}.log"
        open_before = len(os.listdir("/dev/fd"))
        with open(out, "ab") as log, open(tmp_path / "in", "rb") as stdin:
            try:
                job = process.start(command, stdin, log, process.encode_environment(env)
                                    if encoded else env, cwd)
            except Exception as exc:
                job, outcome = None, (type(exc), str(exc))
            finally:
                monkeypatch.undo()
        if job is not None:
            assert isinstance(job, process.JobProcess) == (lean and LEAN_START)
            code = job.wait(30)
            assert job.poll() == code == job.returncode
            outcome = code, out.read_text().replace(str(job.pid), "<pid>")
        assert len(os.listdir("/dev/fd")) == open_before  # no descriptor left open
        return outcome

    lean, popen = run(True), run(False)
    assert lean == popen
    assert lean != (0, "")  # each case shows something


def test_a_job_process_waits_as_popen_does(tmp_path):
    """Timed waits and a wait from a second thread (a cancel while the job's thread waits):
    each gets the exit code, the process is reaped once."""
    with open(os.devnull, "rb") as stdin, open(tmp_path / "log", "ab") as log:
        job = process.start("sh -c 'sleep 0.5; exit 5'", stdin, log, dict(os.environ),
                            str(tmp_path))
    with pytest.raises(subprocess.TimeoutExpired):
        job.wait(0.05)
    assert job.poll() is None
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda timeout: job.wait(timeout), [None, 30]))
    assert codes == [5, 5] and job.returncode == 5
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)  # reaped: no zombie left
