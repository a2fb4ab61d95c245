"""The Local Scheduler: runs work items as processes on this machine, in parallel.

Each job runs on a worker thread (start, wait, report), so ``onSchedule`` never blocks and the
engine thread only decides. Threads start as jobs are accepted, never more than can run at
once (``maxprocs // slotsperworkitem``) nor than the jobs accepted and not yet ended, so a
large ``maxprocs`` costs only the threads its jobs use. A job's stdout and stderr go to
``<temp>/logs/<item>.log`` (``<temp>`` is the cook's own: see ``Scheduler.tempDir``); its exit
code decides
success, unless the job reported its outcome to the result server first (the first final
report counts). Outputs and attributes come through the result server (``pdgjob``).

What a job start costs the cook is what its throughput follows once the processes are paid
for (the jobs' processes and the cook share the machine's cores), so what is the same for
every job is done once per cook: the environment is encoded once (only the item's own
variables per job), each program is found along ``PATH`` once (``process.Programs``) and a
job starts without ``Popen``'s own cost (``process.start``).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .. import process
from ..errors import CookError
from ..parms import ParmTemplate
from ..reports import Started, Succeeded, UsageReported
from ..results import ScheduleResult
from ..usage import ItemUsage, above_own_peak, rss_bytes
from ..workitem import WorkItem
from .base import COMMON_PARMS, Scheduler, private_folder, write_private

if TYPE_CHECKING:
    from ..resultserver import ResultServer

MAX_RETRIES = 100  # runs of a failing job beyond the first, at most


def _retry_count(value) -> list[str]:
    """Why an integer ``maxretries`` in a network file is out of range (none when it is not)."""
    if 0 <= value <= MAX_RETRIES:
        return []
    return [f"expected a whole number of retries from 0 to {MAX_RETRIES}, got {value!r}"]


def default_slots() -> int:
    """A quarter of the CPUs, at least one (Houdini's default)."""
    return max(1, (os.cpu_count() or 1) // 4)


class LocalScheduler(Scheduler):
    type_name = "localscheduler"
    label = "Local Scheduler"
    parm_templates = COMMON_PARMS + [
        ParmTemplate("maxprocs", "int", 0, "Total Slots",
                     "Slots for jobs at once. 0: a quarter of the CPUs (at least 1); "
                     "negative: the CPUs less that many; positive: that many."),
        ParmTemplate("slotsperworkitem", "int", 1, "Slots Per Work Item",
                     "Slots each job takes."),
        ParmTemplate("maxretries", "int", 0, "Retries",
                     f"Times a failed job runs again before its item fails (0 to "
                     f"{MAX_RETRIES}).", validate=_retry_count),
        ParmTemplate("maxruntime", "float", 0.0, "Maximum Run Time",
                     "Seconds a job may run; one that runs longer is killed with its process "
                     "tree and its item fails. 0: no limit."),
        ParmTemplate("writeitemdata", "bool", False, "Write Work Item Data",
                     "Write <temp>/data/<item>.json for every job, not only for the jobs "
                     "that read it (Python Script)."),
    ]

    MAX_RETRIES = MAX_RETRIES
    _mean: float | None  # a job's mean time (onStartCook), None until a job ended

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self._lock = threading.Condition()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # accepted jobs, None: stop
        self._workers: list[threading.Thread] = []
        self._slots = self._free = self._waiting = 0  # _waiting: accepted, not started
        self._open = 0  # jobs accepted and not yet ended: the threads needed, at most
        self._stdin: int | None = None
        self._running: dict[int, tuple] = {}  # item id -> (Popen, the job's marker)
        self._canceling = False
        # getStatusURI's, made once for each result server
        self._status_server: ResultServer | None = None
        self._status_uri: list[str] | None = None
        self._subreaper = False  # this cook made the process a subreaper

    def total_slots(self) -> int:
        wanted = self["maxprocs"].evaluateInt()
        if wanted > 0:
            return wanted
        if wanted < 0:
            return max(1, (os.cpu_count() or 1) + wanted)
        return default_slots()

    def onStartCook(self, static, cook_set) -> bool:
        super().onStartCook(static, cook_set)
        self.startCallbackServer()  # jobs may report outputs and attributes
        self._slots = self._free = self.total_slots()
        self._waiting = self._open = 0
        self._canceling = False
        # what stays the same for the whole cook, evaluated once
        self._need = self["slotsperworkitem"].evaluateInt()
        self._at_once = max(1, self._slots // max(1, self._need))  # jobs running at once
        self._room, self._mean = self._at_once, None  # the queue's size; a job's mean time
        self._retries = self.retry_count()
        self._max_runtime = self["maxruntime"].evaluateFloat() or None
        self._write_data = self["writeitemdata"].evaluateBool()
        self._cwd = self.workingDir(True)
        self._log_dir, self._data_dir = self.logDir(True), self.dataDir(True)
        self._log_uri = Path(self._log_dir).as_uri() + "/"
        self._env = dict(os.environ)
        self._encoded_env = process.encode_environment(self._env)
        self._encoded_pairs: dict[str, tuple[str, bytes, bytes]] = {}  # name -> last value
        self._programs = process.Programs(self._env.get("PATH"))
        self._own_environment = type(self).jobEnvironment is not LocalScheduler.jobEnvironment
        for folder in (self._log_dir, self._data_dir, self.scriptDir(True)):
            private_folder(folder)
        self._copy_job_modules()
        self._stdin = os.open(os.devnull, os.O_RDONLY)
        # orphans of jobs come back to this process, to be killed with their job or reaped
        self._subreaper = process.become_subreaper()
        self._host = socket.gethostname()
        self._workers = []  # started as jobs are accepted (_add_worker)
        return True

    def retry_count(self) -> int:
        """``maxretries``: a whole number from 0 to ``MAX_RETRIES``, else a ``CookError``
        naming the scheduler and the parameter (10^9 retried a failing job a billion times;
        -1 never ran it)."""
        parm = self["maxretries"]
        value = parm.raw
        if isinstance(value, str):
            text = parm.evaluateString().strip()
            value = int(text) if text.lstrip("+-").isdigit() else None
        if isinstance(value, int) and not isinstance(value, bool) \
                and 0 <= value <= MAX_RETRIES:
            return value
        raise CookError(f"scheduler {self.name!r}: parameter maxretries is {parm.raw!r}; it "
                        f"must be a whole number of retries from 0 to {MAX_RETRIES}")

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        if not work_item.command.strip():
            return ScheduleResult.CookSucceeded  # nothing to run
        if self._need > self._slots:
            work_item.reason = (f"needs {self._need} slots but {self.name} has {self._slots} "
                                f"(raise maxprocs or lower slotsperworkitem)")
            return ScheduleResult.Failed
        # Accepted jobs wait in a queue (Scheduled) and start the moment a slot frees up,
        # without a round trip through the engine (see _make_room for its size).
        if self._waiting >= self._room:
            return ScheduleResult.FullDeferred
        with self._lock:
            self._waiting += 1
            self._open += 1
            if len(self._workers) < min(self._at_once, self._open):
                self._add_worker()  # one thread per job that can run now, on demand
        data = None
        cook = self._cook
        assert cook is not None  # the engine schedules within a cook
        if self._write_data or cook.payload(work_item) is not None:
            data = json.dumps(self.serializeWorkItem(work_item))
        env, marker = self._job_environment(work_item)
        name = work_item.name
        self._queue.put(_Job(work_item.id, self.expandCommandTokens(work_item.command, work_item),
                             env, marker, f"{self._log_dir}/{name}.log",
                             f"{self._data_dir}/{name}.json", data, self._need))
        return ScheduleResult.Succeeded

    def _add_worker(self) -> None:
        slot = f"slot {len(self._workers) + 1}"  # where the usage says its jobs ran
        worker = threading.Thread(target=self._work, args=(slot,),
                                  name=f"{self.name}-job{len(self._workers)}", daemon=True)
        worker.start()
        self._workers.append(worker)

    def _job_environment(self, work_item: WorkItem) -> tuple[dict[bytes, bytes],
                                                            dict[str, str]]:
        """The job's environment as its process gets it (encoded), and the variables that
        name the job (its marker). Only the job's own variables are encoded per job."""
        if self._own_environment:  # a subclass says what the whole environment is
            whole = self.jobEnvironment(work_item)
            return process.encode_environment(whole), whole
        variables = self.jobVariables(work_item)  # with the marker's PDG_* variables
        env = self._encoded_env.copy()
        encoded = self._encoded_pairs
        for name, value in variables.items():
            pair = encoded.get(name)
            if pair is None or pair[0] != value:  # most are the cook's: encoded once
                pair = encoded[name] = (value, os.fsencode(name), os.fsencode(value))
            env[pair[1]] = pair[2]
        return env, variables

    def getLogURI(self, work_item: WorkItem) -> str:
        return f"{self._log_uri}{work_item.name}.log"  # item names need no quoting

    def getStatusURI(self, work_item: WorkItem) -> str:
        # the base class's URI; what is the same for every item (the server's address, its
        # read key: an HMAC) made once per result server
        if self._status_server is not self._server:
            self._status_server = self._server
            uri = super().getStatusURI(work_item)
            self._status_uri = uri.split(f"/status/{work_item.id}?", 1) if uri else None
        if self._status_uri is None:
            return ""
        before, after = self._status_uri
        return f"{before}/status/{work_item.id}?{after}"

    def jobEnvironment(self, work_item: WorkItem) -> dict[str, str]:
        env = dict(self._env)  # this process's environment as the cook started
        env.update(self.jobVariables(work_item))
        return env

    def onStopCook(self, cancel: bool) -> bool:
        with self._lock:
            self._canceling = cancel
            self._lock.notify_all()
            running = list(self._running.values()) if cancel else []
        for proc, marker in running:
            process.kill_tree(proc, env=marker)
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join()
        if self._stdin is not None:
            os.close(self._stdin)
            self._stdin = None
        self._workers = []
        process.reap_orphans()
        if self._subreaper:
            process.stop_subreaper()
            self._subreaper = False
        return True

    # -- on a worker thread ----------------------------------------------------------
    def _work(self, slot: str) -> None:
        while (job := self._queue.get()) is not None:
            if self._canceling:
                with self._lock:
                    self._waiting -= 1
                    self._open -= 1
                continue  # never started: the engine marks it canceled
            job.slot = slot
            self._run(job)

    def _run(self, job: _Job) -> None:
        with self._lock:
            while self._free < job.slots and not self._canceling:
                self._lock.wait()
            self._free -= job.slots
            self._waiting -= 1
        started = time.monotonic()
        outcome: _Outcome
        try:
            outcome = self._run_attempts(job, self._retries)
        except Exception as exc:  # a job that cannot even start: say why, keep the cook
            outcome = "fail", f"could not run the job: {exc}"
        with self._lock:  # free the slot before the report wakes the engine to use it
            self._free += job.slots
            self._open -= 1
            self._lock.notify_all()
            self._make_room(time.monotonic() - started)
            # the engine reads a success when the queue runs low (or within Engine.QUIET)
            wake = self._waiting < self._at_once
        # what the job used comes before or with its outcome, so that the item's end (its
        # events, its journal row) carries it; on a success, the commonest, with no report more
        if outcome[0] == "success":
            self.post_report(Succeeded(job.item_id, outcome[1], job.usage), wake=wake)
            return
        if job.usage is not None:
            self.post_report(UsageReported(job.item_id, job.usage), wake=False)
        if outcome[0] == "cancel":
            self.workItemCancelled(job.item_id)
        else:  # every try's time: what a failed item cost
            self.workItemFailed(job.item_id, -1, outcome[1], time.monotonic() - started)

    # Seconds of work the queue holds at most. A deeper queue lets the engine read many
    # reports and refill it in one go (a wake of the engine per job took a cook of short jobs
    # a good part of its CPU), but an item that becomes ready later waits behind it: deep
    # only while jobs are short.
    QUEUE_TIME = 0.05
    MAX_DEPTH = 16  # jobs queued per job running at most

    def _make_room(self, duration: float) -> None:
        """Size the queue from the jobs' mean time (under the lock)."""
        if self._mean is None:
            self._mean = duration
        else:  # a moving mean: the queue follows what the jobs take now
            self._mean += 0.2 * (duration - self._mean)
        depth = min(self.MAX_DEPTH, max(1, int(self.QUEUE_TIME / max(self._mean, 1e-4))))
        self._room = self._at_once * depth

    def _run_attempts(self, job: _Job, retries: int) -> _Outcome:
        if self._canceling:
            return "cancel", None
        if job.data is not None:
            write_private(job.data_path, job.data)  # it carries the cook's secret
        self.post_report(Started(job.item_id), wake=False)  # read within Engine.QUIET
        started = time.monotonic()
        code = -1
        # stdout and stderr of every try. os.open: one syscall where open() makes three, and
        # at each the other threads may take the GIL, which this thread must then wait for
        log = os.open(job.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW |
                      os.O_CLOEXEC, 0o600)
        try:
            for attempt in range(retries + 1):
                if attempt:
                    os.write(log, f"\n--- retry {attempt} of {retries} ---\n".encode())
                if self._canceling:
                    return "cancel", None
                began = time.time()
                proc = process.start(job.command, self._stdin, log, job.env, self._cwd,
                                     marker=job.marker, programs=self._programs)
                with self._lock:
                    self._running[job.item_id] = (proc, job.marker)
                    late = self._canceling  # onStopCook may have looked before we were in
                if late:
                    process.kill_tree(proc, env=job.marker)
                try:
                    code = proc.wait(self._max_runtime)
                except subprocess.TimeoutExpired:
                    process.kill_tree(proc, env=job.marker)
                    return "fail", (f"ran longer than {self._max_runtime:g} s (maxruntime): "
                                    f"it was killed with its process tree")
                finally:
                    with self._lock:
                        self._running.pop(job.item_id, None)
                    # after every job, before its report: what it left running is seen
                    # alive (an orphan first seen as a zombie in a session of its own
                    # cannot be told as the job's), what exited is reaped
                    process.reap_orphans()
                    job.usage = self._measured(proc, job, attempt + 1, began)
                if code == 0:
                    break
        finally:
            os.close(log)
        if self._canceling:
            return "cancel", None
        if code == 0:
            return "success", time.monotonic() - started
        why = f"signal {-code}" if code < 0 else f"exit code {code}"
        return "fail", f"the command ended with {why}"


    def _measured(self, proc: process.Job, job: _Job, attempt: int,
                  began: float) -> ItemUsage:
        """What the job's process tree used, as the kernel counted it when it was reaped:
        the job and the descendants it waited for, and its orphans reaped by now."""
        ended = time.time()
        code = proc.returncode
        rusage = getattr(proc, "rusage", None)  # a Popen (no fork_exec here) has none
        user = system = peak = None
        if rusage is not None:
            user, system = rusage.ru_utime, rusage.ru_stime
            peak = rss_bytes(rusage.ru_maxrss) if above_own_peak(rusage.ru_maxrss) else None
            orphans = process.orphans_usage(job.marker)
            if orphans is not None:
                user, system = user + orphans[0], system + orphans[1]
                # started by the job, not by the cook: their peak is their own
                peak = max(peak or 0, rss_bytes(orphans[2]))
        return ItemUsage(
            start=began, end=ended, wall=ended - began, cpu_user=user, cpu_system=system,
            peak_rss=peak, exit_code=code if code is not None and code >= 0 else None,
            signal=-code if code is not None and code < 0 else None, attempt=attempt,
            slot=job.slot, host=self._host, native_id=str(proc.pid))


# how a job ended: ("success", seconds), ("fail", why) or ("cancel", None)
_Outcome = (tuple[Literal["success"], float] | tuple[Literal["fail"], str]
            | tuple[Literal["cancel"], None])


class _Job:
    __slots__ = ("item_id", "command", "env", "marker", "log_path", "data_path", "data",
                 "slots", "slot", "usage")

    def __init__(self, item_id, command, env, marker, log_path, data_path, data, slots):
        self.item_id, self.command, self.env, self.marker = item_id, command, env, marker
        self.log_path, self.data_path, self.data, self.slots = log_path, data_path, data, slots
        self.slot = ""  # the worker that runs it
        self.usage: ItemUsage | None = None  # its last try's, once it ended
