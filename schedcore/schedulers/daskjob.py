"""What a Dask worker runs for a work item (imported on the worker, which needs schedcore)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from .. import process
from ..usage import exit_fields, from_rusage

_RUNNING: dict[str, tuple[str, process.Job]] = {}  # task key -> (cook key, the command)
_CANCELED: dict[str, None] = {}  # cook keys canceled, oldest first: their commands never start
_start_lock = threading.Lock()  # a command starts, or its cook is canceled, not both at once
_FOLDERS: set[str] = set()  # log folders made already by this worker process
_ENVIRONMENTS: dict[str, dict[str, str]] = {}  # cook key -> the commands' base environment
_watchdog_lock = threading.Lock()
_watchdog: subprocess.Popen | None = None
_token = ""


# The Dask event topic the tasks speak on: [cook key, item id] as a task starts, [cook key,
# item id, exit code, seconds, worker, usage] as it ends (usage: ``ItemUsage`` fields as JSON,
# measured here, where the command ran). Events ride the worker's open stream to the
# scheduler and on to the cook's client: the task waits for no answer, and the client needs
# no round trip to the worker to fetch the result.
TOPIC = "schedcore-jobs"
CANCELED = -int(signal.SIGTERM)  # the exit code of a task whose cook was canceled first


def _worker():
    try:
        from distributed import get_worker
        return get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return None


def worker_name() -> str:
    """The name of the Dask worker running this task (``dask worker --name``), else its
    address; "" outside a worker."""
    worker = _worker()
    if worker is None:
        return ""
    return str(worker.name) if worker.name not in (None, "") else worker.address


def run_job(key: str, cook: str, command: str, env: dict, cwd: str, log_path: str,
            data_path: str = "", data: str = "") -> tuple[int, float, str, dict]:
    """Say that the item starts, write its data file when it has one (for jobs that read
    it), run ``command`` in a session of its own with its output in ``log_path``; return its
    exit code, how long it ran, the worker's name and what its process tree used."""
    worker, item = _worker(), int(env["PDG_ITEM_ID"])
    if cook in _CANCELED:  # queued on this worker as its cook was canceled: never starts
        return CANCELED, 0.0, worker_name(), {}
    if worker is not None:
        worker.log_event(TOPIC, [cook, item])
    if data:
        _make_folder(os.path.dirname(data_path))
        # only the cook's user may read it: it carries the cook's secret
        fd = os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            os.fchmod(fd, 0o600)
            handle.write(data)
    _make_folder(os.path.dirname(log_path))
    started = time.monotonic()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    with open(log_fd, "ab", buffering=0) as log, open(os.devnull, "rb") as stdin:
        with _start_lock:
            if cook in _CANCELED:
                return CANCELED, 0.0, worker_name(), {}
            began = time.time()
            proc = process.start(command, stdin, log, {**_environment(cook), **env}, cwd)
            _RUNNING[key] = (cook, proc)
        try:
            code = proc.wait()
        finally:
            _RUNNING.pop(key, None)
    outcome = (code, time.monotonic() - started, worker_name(),
               _usage(proc, worker, began))
    if worker is not None:
        worker.log_event(TOPIC, [cook, item, *outcome])
    return outcome


def _usage(proc: process.Job, worker, began: float) -> dict:
    """What the command's process tree used, as the kernel counted it when this worker
    reaped it, and where it ran: the worker's address is its slot."""
    ended = time.time()
    usage = {"start": began, "end": ended, "wall": ended - began, "attempt": 1,
             "host": socket.gethostname(), "native_id": str(proc.pid),
             **exit_fields(proc.returncode)}
    if worker is not None:
        usage["slot"] = worker.address
    rusage = getattr(proc, "rusage", None)
    if rusage is not None:
        usage.update(from_rusage(rusage))
    return usage


def _environment(cook: str) -> dict[str, str]:
    """This worker's environment as the cook's first task here found it, with the watchdog's
    token (copying ``os.environ`` for every command costs more than the rest of a task)."""
    token, base = _owner(), _ENVIRONMENTS.get(cook)
    if base is None or base[OWNER_VAR] != token:  # a new cook, or a new watchdog
        if len(_ENVIRONMENTS) > 8:  # cooks long over
            _ENVIRONMENTS.clear()
        base = _ENVIRONMENTS[cook] = {**os.environ, OWNER_VAR: token}
    return base


def _make_folder(folder: str) -> None:
    if folder not in _FOLDERS:
        os.makedirs(folder, exist_ok=True)
        _FOLDERS.add(folder)


def cancel_cook(cook: str) -> int:
    """The cook ``cook`` is canceled: from now on no command of its tasks starts on this
    worker (a task of it queued here returns at once), and the process trees of those
    running are killed; how many there were. Run on every worker by the canceling cook."""
    with _start_lock:
        _CANCELED[cook] = None
        while len(_CANCELED) > 64:  # cooks long over
            del _CANCELED[next(iter(_CANCELED))]
        victims = [proc for owner, proc in list(_RUNNING.values()) if owner == cook]
    for proc in victims:
        process.kill_tree(proc)
    return len(victims)


def run_submitted(cook_args: list[str], cwd: str, status_path: str, log_path: str) -> int:
    """A network submitted as a job: ``schedcore cook`` with this worker's Python, in the
    working dir, its output in ``log_path``; returns its exit code. The task leaves the
    worker's thread pool while the cook runs: the cook mostly waits for its items, which
    may need this worker's threads."""
    from distributed import secede

    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab", buffering=0) as log, open(os.devnull, "rb") as stdin:
        log.write(f"schedcore: cooking on the Dask worker {worker_name()} "
                  f"({socket.gethostname()}, pid {os.getpid()})\n".encode())
        secede()
        proc = subprocess.Popen([sys.executable, "-m", "schedcore.cli", *cook_args],
                                stdin=stdin, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, OWNER_VAR: _owner()},
                                start_new_session=True)
        code = proc.wait()
    if code != 0:
        _status_after_crash(status_path, proc.pid, code, log_path)
    return code


def _status_after_crash(status_path: str, pid: int, code: int, log_path: str) -> None:
    """A cook that ended before writing its outcome (it crashed, or could not start): say
    so in its status file, for whoever follows it from another machine."""
    try:
        with open(status_path, encoding="utf-8") as handle:
            status = json.load(handle)
    except (OSError, ValueError):
        status = {}
    if status.get("state") in ("finished", "canceled"):
        return
    from ..status import write_status

    why = f"signal {-code}" if code < 0 else f"exit code {code}"
    write_status(status_path, {
        **status, "state": "died", "ok": False, "host": socket.gethostname(), "pid": pid,
        "errors": [f"the cook (process {pid} on {socket.gethostname()}, run by a Dask "
                   f"worker) ended with {why} before finishing; its output is in "
                   f"{log_path}"]})


# == the watchdog: no command outlives its worker ======================================
# A worker killed (by its nanny over the memory limit, by a command, by the OOM killer) cannot
# kill its commands, and Dask runs their tasks again elsewhere: without this, the first runs
# would go on as orphans. Every command this worker process starts carries OWNER_VAR in its
# environment (which its own children inherit); a small process of its own session, one per
# worker process, waits for the end of a pipe only the worker holds, then kills every process
# that still carries the worker's token. It costs the commands nothing while the worker lives.
OWNER_VAR = "SCHEDCORE_DASK_WORKER"


def _owner() -> str:
    """This worker process's token, set in its commands' environment; starts the watchdog
    the first time."""
    global _watchdog, _token
    with _watchdog_lock:
        if _watchdog is None or _watchdog.poll() is not None:
            _token = f"{os.getpid()}-{time.time_ns()}"
            _watchdog = subprocess.Popen(
                [sys.executable, "-c", "from schedcore.schedulers import daskjob; "
                                       "daskjob.watchdog_main()", _token],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
        return _token


def watchdog_main() -> None:
    """The watchdog process: wait until the worker closes the pipe (it exited or was
    killed), then kill the processes that carry its token."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the worker is the worker's
    sys.stdin.buffer.read()
    process.kill_owned(OWNER_VAR, sys.argv[1])
