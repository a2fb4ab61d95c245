"""The Local Scheduler: runs work items as processes on this machine, in parallel.

Each job runs on a pool thread (start, wait, report), so ``onSchedule`` never blocks and the
engine thread only decides. A job's stdout and stderr go to ``<temp>/logs/<item>.log``; its exit
code decides success; a job's results file (written by the job-side modules) brings back
outputs and attributes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import process
from ..parms import ParmTemplate
from ..results import ScheduleResult
from ..workitem import AttribType, WorkItem
from .base import COMMON_PARMS, Scheduler


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
                     "Times a failed job runs again before its item fails."),
    ]

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._used = 0
        self._running: dict[int, object] = {}  # item id -> Popen
        self._canceling = False

    def total_slots(self) -> int:
        wanted = self["maxprocs"].evaluateInt()
        if wanted > 0:
            return wanted
        if wanted < 0:
            return max(1, (os.cpu_count() or 1) + wanted)
        return default_slots()

    def onStartCook(self, static, cook_set) -> bool:
        super().onStartCook(static, cook_set)
        self._slots = self.total_slots()
        self._canceling = False
        self._pool = ThreadPoolExecutor(self._slots, thread_name_prefix=f"{self.name}-job")
        for folder in (self.logDir(True), self.dataDir(True), self.scriptDir(True)):
            os.makedirs(folder, exist_ok=True)
        self._copy_job_modules()
        return True

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        if not work_item.command.strip():
            return ScheduleResult.CookSucceeded  # nothing to run
        need = self["slotsperworkitem"].evaluateInt()
        if need > self._slots:
            work_item.reason = (f"needs {need} slots but {self.name} has {self._slots} "
                                f"(raise maxprocs or lower slotsperworkitem)")
            return ScheduleResult.Failed
        with self._lock:
            if self._used + need > self._slots:
                return ScheduleResult.FullDeferred
            self._used += need
        job = _Job(work_item.id, work_item.name,
                   self.expandCommandTokens(work_item.command, work_item),
                   self.jobEnvironment(work_item),
                   os.path.join(self.logDir(True), f"{work_item.name}.log"),
                   os.path.join(self.dataDir(True), f"{work_item.name}.json"),
                   json.dumps(self.serializeWorkItem(work_item)), need)
        self._pool.submit(self._run, job, self["maxretries"].evaluateInt())
        return ScheduleResult.Succeeded

    def onStopCook(self, cancel: bool) -> bool:
        if cancel:
            self._canceling = True
            with self._lock:
                running = list(self._running.values())
            for proc in running:
                process.kill_tree(proc)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None
        return True

    # -- on a pool thread ------------------------------------------------------------
    def _run(self, job: _Job, retries: int) -> None:
        try:
            kind, detail = self._run_attempts(job, retries)
        except Exception as exc:  # a job that cannot even start: say why, keep the cook
            kind, detail = "fail", f"could not run the job: {exc}"
        with self._lock:  # free the slots before the report wakes the engine to use them
            self._used -= job.slots
        if kind == "success":
            self.workItemSucceeded(job.item_id, -1, detail)
        elif kind == "cancel":
            self.workItemCancelled(job.item_id)
        else:
            self.workItemFailed(job.item_id, -1, detail)

    def _run_attempts(self, job: _Job, retries: int) -> tuple[str, object]:
        with open(job.data_path, "w", encoding="utf-8") as handle:
            handle.write(job.data)
        self.workItemStartCook(job.item_id)
        started = time.monotonic()
        code = -1
        with open(job.log_path, "ab", buffering=0) as log:
            for attempt in range(retries + 1):
                if self._canceling:
                    return "cancel", None
                if attempt:
                    log.write(f"\n--- retry {attempt} of {retries} ---\n".encode())
                proc = process.start(job.command, log, job.env, self.workingDir(True))
                with self._lock:
                    self._running[job.item_id] = proc
                code = proc.wait()
                with self._lock:
                    self._running.pop(job.item_id, None)
                if code == 0:
                    break
        if self._canceling:
            return "cancel", None
        self._report_results(job.item_id, job.data_path[:-len(".json")] + ".results.json")
        if code == 0:
            return "success", time.monotonic() - started
        why = f"signal {-code}" if code < 0 else f"exit code {code}"
        return "fail", f"the command ended with {why}"

    def _report_results(self, item_id: int, path: str) -> None:
        """Outputs and attributes a job wrote to its results file, if it wrote one."""
        try:
            with open(path, encoding="utf-8") as handle:
                results = json.load(handle)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self.workItemAppendLog(item_id, f"unreadable results file {path}: {exc}\n")
            return
        for output in results.get("outputs", []):
            self.workItemFileResult(item_id, -1, output["path"], output.get("tag", "file"),
                                    output.get("checksum", 0))
        for name, attrib in results.get("attributes", {}).items():
            self.workItemSetAttributeArray(item_id, -1, name, AttribType[attrib["type"]],
                                           attrib["values"])


class _Job:
    __slots__ = ("item_id", "name", "command", "env", "log_path", "data_path", "data", "slots")

    def __init__(self, item_id, name, command, env, log_path, data_path, data, slots):
        self.item_id, self.name, self.command, self.env = item_id, name, command, env
        self.log_path, self.data_path, self.data, self.slots = log_path, data_path, data, slots
