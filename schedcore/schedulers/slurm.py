"""The Slurm scheduler (``slurmscheduler``): work items as tasks of Slurm job arrays.

Written against the public API, as a scheduler for any farm would be (the README's "A
scheduler for your farm"), with the shared pieces of ``schedcore.farm``:

- ``onSchedule`` collects the ready items, grouped by what they ask of Slurm (CPUs, memory,
  time, priority); ``onSchedulePassEnd`` submits one ``sbatch --array`` per group, whose
  tasks (``jobs/farmjob.py``) run the items' commands and report to the result server;
- ``onTick`` polls every job of the cook with one ``squeue`` (at most once per
  ``slurm_pollperiod``): a job Slurm killed (time limit, memory, node failure, preemption)
  fails its item with Slurm's reason, or runs again while ``maxretries`` allows; a controller
  that does not answer makes the cook wait, and say so, until it answers again;
- ``onStopCook(cancel=True)`` runs ``scancel`` and returns once Slurm lists no job of the
  cook as pending or running.

Each item gets the String attributes ``slurm_jobid`` ("12_3") and ``slurm_state`` (Slurm's
word, as last polled), and ``slurm_reason`` while Slurm gives one; ``job_of(item)`` reads
them on the scheduler. Logs are Slurm's output files (``getLogURI``).
"""

from __future__ import annotations

import math
import os
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CookError
from ..farm import (
    FarmContact,
    FarmJob,
    FarmJobs,
    FarmState,
    OncePerTick,
    ReadyBatches,
    write_manifest,
)
from ..peers import is_loopback
from ..results import ScheduleResult, TickResult
from ..workitem import AttribType, WorkItem
from . import slurmcommands as slurm
from . import submission
from .base import Scheduler, local_ip, private_folder, python_for_jobs
from .slurmparms import MAX_RETRIES, SLURM_PARMS

NICE_BASE = 10_000  # --nice = NICE_BASE - priority: higher priority, sooner (never negative)
@dataclass(frozen=True)
class SlurmJob:
    """What the studio shows of an item's Slurm job."""
    job_id: str  # "12_3": task 3 of array job 12
    state: str   # Slurm's word as last polled ("PENDING", "RUNNING", "TIMEOUT"...)
    reason: str  # Slurm's reason ("Resources", "TimeLimit"...), "" when none
    attempt: int
    log_path: str


@dataclass(frozen=True)
class Request:
    """What a group of items asks of Slurm: items with the same request share an array."""
    cpus: int
    memory_mb: int
    minutes: int


class SlurmScheduler(Scheduler):
    type_name = "slurmscheduler"
    label = "Slurm Scheduler"
    conformance_claims = {"submit-as-job", "priorities", "shared-server"}
    parm_templates = SLURM_PARMS

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self._jobs = FarmJobs(slurm.SLURM_STATES)
        self._ready = ReadyBatches()
        self._contact = FarmContact("Slurm")
        self._poller = OncePerTick(1.0)
        self._job_name = ""
        self._said_pending: set[str] = set()
        self._ended_unreported: dict[int, float] = {}  # item id -> when its job ended
        self._batches = 0

    # == reading the cook's Slurm jobs (any thread) ======================================
    def job_of(self, work_item) -> SlurmJob | None:
        """The Slurm job of an item (a ``WorkItem`` or its id), as last polled."""
        item_id = work_item.id if isinstance(work_item, WorkItem) else int(work_item)
        job = self._jobs.of_item(item_id)
        if job is None:
            return None
        return SlurmJob(job.job_id, job.word, "" if job.reason == "None" else job.reason,
                        job.attempt, job.log_path)

    def partitions(self) -> list[slurm.Partition]:
        """The cluster's partitions (``sinfo``)."""
        return slurm.partitions(self["slurm_bindir"].evaluateString(), self._timeout())

    menu_parms = frozenset({"slurm_partition"})

    def parm_menu(self, parm: str) -> list[str]:
        """The partition menu: the cluster's partitions, its default first ("" is
        Slurm's default)."""
        if parm != "slurm_partition":
            return []
        found = sorted(self.partitions(), key=lambda p: not p.default)
        return [p.name for p in found]

    # == the cook ========================================================================
    def _timeout(self) -> float:
        return max(1.0, self["slurm_commandtimeout"].evaluateFloat())

    def onStartCook(self, static, cook_set) -> bool:
        super().onStartCook(static, cook_set)
        self._bindir = self["slurm_bindir"].evaluateString()
        self._partition = self["slurm_partition"].evaluateString().strip()
        self._check_cluster()
        self.startCallbackServer()
        self._check_address()
        assert self._cook is not None  # the engine starts a cook within one
        prefix = self["slurm_jobname"].evaluateString().strip() or "pdg"
        if any(c.isspace() or c in "|,'\"" for c in prefix):
            raise CookError(f"{self.name}: slurm_jobname {prefix!r} may not hold spaces, "
                            f"quotes, commas or |")
        self._job_name = f"{prefix}-{self._cook.cook_id}"
        self._jobs = FarmJobs(slurm.SLURM_STATES)
        self._ready = ReadyBatches(max(1, self["slurm_arraysize"].evaluateInt()))
        self._contact = FarmContact("Slurm")
        period = max(self["slurm_pollperiod"].evaluateFloat(), 0.05)
        self._poller = OncePerTick(period)
        self._pending_warn = self["slurm_pendingwarn"].evaluateFloat()
        self._said_pending, self._ended_unreported, self._batches = set(), {}, 0
        self._options = self._cook_options()
        for folder in (self.logDir(True), self.dataDir(True), self.scriptDir(True)):
            private_folder(folder)
        self._copy_job_modules()
        self._manifests = os.path.join(self.scriptDir(True), "arrays")
        private_folder(self._manifests)
        return True

    def _check_cluster(self) -> None:
        """Fail the cook at its start, saying what to do, when Slurm cannot be used: no
        sbatch, no munge, no controller, or a partition the cluster does not have."""
        try:
            known = slurm.partitions(self._bindir, self._timeout())
        except slurm.SlurmError as exc:
            if exc.kind == "controller":
                raise CookError(f"{self.name}: the Slurm controller does not answer "
                                f"({exc}); is slurmctld running, and does SLURM_CONF name "
                                f"this cluster's configuration?") from None
            raise CookError(f"{self.name}: {exc}") from None
        names = [p.name for p in known]
        if self._partition and self._partition not in names:
            raise CookError(f"{self.name}: the Slurm cluster has no partition "
                            f"{self._partition!r} (slurm_partition); it has: "
                            f"{', '.join(names) or 'none'}")

    def _check_address(self) -> None:
        """Jobs on other machines cannot reach a result server on loopback."""
        host = self.workItemResultServerAddr().rpartition("@")[2].rpartition(":")[0]
        if not is_loopback(host.strip("[]")):
            return
        here = {"localhost", socket.gethostname(), socket.gethostname().split(".")[0],
                local_ip()}
        try:
            nodes = slurm.node_addresses(self._bindir, self._partition, self._timeout())
        except slurm.SlurmError:
            return
        elsewhere = [n for n in nodes if n not in here and not is_loopback(n)]
        if elsewhere:
            raise CookError(
                f"{self.name}: the result server listens on {host} (pdg_resultserverbind), "
                f"which jobs on other machines cannot reach, and Slurm's nodes include "
                f"{', '.join(elsewhere[:3])}: set pdg_resultserverbind to 0.0.0.0 (or this "
                f"machine's address on the farm's network)")

    def _cook_options(self) -> list[str]:
        options = [f"--job-name={self._job_name}"]
        for parm, flag in (("slurm_partition", "--partition"), ("slurm_account", "--account"),
                           ("slurm_qos", "--qos")):
            value = self[parm].evaluateString().strip()
            if value:
                options.append(f"{flag}={value}")
        extra = self["slurm_extraargs"].evaluateString()
        try:
            options += shlex.split(extra)
        except ValueError as exc:
            raise CookError(f"{self.name}: slurm_extraargs {extra!r} cannot be split into "
                            f"arguments ({exc})") from None
        return options

    # == scheduling ======================================================================
    def _item_int(self, work_item: WorkItem, name: str) -> int:
        """An item's attribute ``name``, else its node's parameter, else the scheduler's."""
        value = work_item.attribValue(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        return int(self.evaluateFloatOverride(work_item.node, "", name, work_item, 0))

    def request_of(self, work_item: WorkItem) -> Request:
        """What ``work_item``'s job asks Slurm for."""
        seconds = work_item.attribValue("slurm_maxruntime")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            seconds = self.evaluateFloatOverride(work_item.node, "", "slurm_maxruntime",
                                                 work_item, 0.0)
        return Request(max(1, self._item_int(work_item, "pdg_slots")),
                       max(0, self._item_int(work_item, "slurm_memory")),
                       math.ceil(seconds / 60) if seconds > 0 else 0)

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        if not work_item.command.strip():
            return ScheduleResult.CookSucceeded
        self._ready.add(self.request_of(work_item), work_item.priority,
                        (work_item.id, 1, self._task(work_item, 1)))
        return ScheduleResult.Succeeded

    def _task(self, work_item: WorkItem, attempt: int) -> dict:
        """An array task's line of the manifest (``farm.write_manifest``)."""
        task = {"command": self.expandCommandTokens(work_item.command, work_item),
                "env": self.jobVariables(work_item), "cwd": self.workingDir(False),
                "final": attempt > self._retries_of(work_item)}
        assert self._cook is not None  # the engine schedules within a cook
        if self._cook.payload(work_item) is not None:
            task["data"] = self._json(work_item)
            task["data_path"] = os.path.join(self.dataDir(False), f"{work_item.name}.json")
        return task

    def _json(self, work_item: WorkItem) -> str:
        import json
        return json.dumps(self.serializeWorkItem(work_item))

    def _retries_of(self, work_item: WorkItem) -> int:
        value = self.evaluateIntOverride(work_item.node, "", "maxretries", work_item, 0)
        return min(max(0, value), MAX_RETRIES)

    def onSchedulePassEnd(self) -> None:
        """Submit what this pass accepted: one array per request and priority."""
        if self._contact.answering:
            self._submit_ready()

    def _submit_ready(self) -> None:
        for batch in self._ready.take():
            request = batch.key
            assert isinstance(request, Request)  # what onSchedule groups by
            try:
                self._submit(request, batch.priority, batch.entries)
            except slurm.SlurmError as exc:
                if exc.kind in ("controller", "munge"):
                    # not lost: they wait with the rest until the controller answers
                    for entry in batch.entries:
                        self._ready.add(batch.key, batch.priority, entry)
                    self._say(self._contact.lost(str(exc), len(self._jobs)))
                    continue
                for item_id, _, _ in batch.entries:
                    self.workItemFailed(item_id, -1, f"Slurm refused the job: {exc}")

    def _submit(self, request: Request, priority: int, entries: list) -> None:
        self._batches += 1
        name = f"array-{self._batches}"
        manifest = os.path.join(self._manifests, f"{name}.jsonl")
        write_manifest(manifest, [task for _, _, task in entries])
        remote_manifest = os.path.join(self.scriptDir(False), "arrays", f"{name}.jsonl")
        log_dir = self.logDir(False)
        options = [*self._options, f"--array=0-{len(entries) - 1}",
                   f"--output={log_dir}/{self._job_name}-%A_%a.out",
                   f"--cpus-per-task={request.cpus}",
                   f"--nice={max(0, NICE_BASE - priority)}",
                   f"--chdir={self.workingDir(False)}"]
        if request.memory_mb:
            options.append(f"--mem={request.memory_mb}M")
        if request.minutes:
            options.append(f"--time={request.minutes}")
        runner = os.path.join(self.scriptDir(False), "farmjob.py")
        script = (f"#!/bin/sh\nexec {shlex.quote(python_for_jobs())} {shlex.quote(runner)} "
                  f"{shlex.quote(remote_manifest)} \"$SLURM_ARRAY_TASK_ID\"\n")
        job_id = slurm.submit(self._bindir, script, options, self._timeout(),
                              cwd=self.workingDir(True))
        local_logs = self.logDir(True)
        for index, (item_id, attempt, _) in enumerate(entries):
            task_id = f"{job_id}_{index}"
            self._jobs.add(FarmJob(item_id, task_id,
                                   f"{local_logs}/{self._job_name}-{job_id}_{index}.out",
                                   attempt))
            self._set(item_id, "slurm_jobid", task_id)
            self.workItemUsage(item_id, native_id=task_id)  # the trace's and viewer's job id
            self._set(item_id, "slurm_state", "PENDING")

    # == polling =========================================================================
    def onTick(self) -> TickResult:
        if len(self._ready) and self._contact.answering:
            self._submit_ready()
        if not len(self._jobs) or not self._poller.due():
            return TickResult.SchedulerReady
        try:
            seen = slurm.poll(self._bindir, self._job_name, self._timeout())
        except slurm.SlurmError as exc:
            if exc.kind in ("controller", "munge"):
                self._say(self._contact.lost(str(exc), len(self._jobs)))
                return TickResult.SchedulerReady
            raise
        self._say(self._contact.back())
        if len(self._ready):
            self._submit_ready()
        self._apply(seen)
        return TickResult.SchedulerReady

    def _apply(self, seen: dict[str, tuple[str, str, str]]) -> None:
        for change in self._jobs.update(seen):
            job = change.job
            if change.word_changed:
                self._set(job.item_id, "slurm_state", job.word)
            if job.reason not in ("", "None") or change.word_changed:
                self._set(job.item_id, "slurm_reason", "" if job.reason == "None" else
                          job.reason)
        now = time.monotonic()
        for job in self._jobs:
            item = self.find_item(job.item_id)
            if item is None or item.state.is_final:
                self._jobs.forget(job.item_id)
                self._ended_unreported.pop(job.item_id, None)
            elif job.state.is_final:
                self._ended(job, item, now)
            elif job.missing_polls >= 3:
                self._jobs.forget(job.item_id)
                self.workItemFailed(job.item_id, -1,
                                    f"Slurm no longer knows its job {job.job_id} (the "
                                    f"controller lost it, or forgot it after MinJobAge); "
                                    f"its outcome is unknown")
            elif job.state is FarmState.PENDING:
                self._pending(job, now)

    def _ended(self, job: FarmJob, item: WorkItem, now: float) -> None:
        """A job Slurm lists as ended whose item has no outcome yet."""
        if job.state is FarmState.SUCCEEDED:
            # its report may be on its way to the engine: a poll later it has arrived
            first = self._ended_unreported.setdefault(job.item_id, now)
            if now - first < 2 * self._poller.period + 1:
                return
            self._jobs.forget(job.item_id)
            self.workItemFailed(job.item_id, -1,
                                f"Slurm job {job.job_id} completed but never reported its "
                                f"item's outcome to the result server; its log says why")
            return
        self._jobs.forget(job.item_id)
        self._ended_unreported.pop(job.item_id, None)
        if job.state is FarmState.CANCELED:
            self.workItemCancelled(job.item_id)
            return
        if job.attempt <= self._retries_of(item):
            self.workItemAppendLog(job.item_id, slurm.killed_reason(job.job_id, job.word,
                                                                    job.reason)
                                   + f"; attempt {job.attempt + 1} follows\n")
            attempt = job.attempt + 1
            self._ready.add(self.request_of(item), item.priority,
                            (item.id, attempt, self._task(item, attempt)))
            return
        self.workItemFailed(job.item_id, -1,
                            slurm.killed_reason(job.job_id, job.word, job.reason))

    def _pending(self, job: FarmJob, now: float) -> None:
        """Say once why jobs wait, when it is not their turn that they wait for."""
        reason = job.reason
        if reason in slurm.ORDINARY_PENDING or reason in self._said_pending:
            return
        if now - job.submitted < self._pending_warn:
            return
        self._said_pending.add(reason)
        self.cookWarning(f"{self.name}: Slurm job {job.job_id} has been pending for "
                         f"{now - job.submitted:.0f} s: {reason} (see `squeue --start` and "
                         f"`scontrol show job {job.job_id.split('_')[0]}`)")

    def _set(self, item_id: int, name: str, value: str) -> None:
        self.workItemSetAttribute(item_id, -1, name, AttribType.String, value)

    def _say(self, message: str) -> None:
        if message:
            self.cookWarning(f"{self.name}: {message}")

    def getLogURI(self, work_item: WorkItem) -> str:
        job = self._jobs.of_item(work_item.id)
        if job is None:
            return ""
        return Path(job.log_path).as_uri()

    # == the end =========================================================================
    def onStopCook(self, cancel: bool) -> bool:
        self._ready.clear()  # canceled before submission: the engine marks them canceled
        # on a cancel the engine may have marked the items canceled already: their jobs
        # still run
        out = [job.item_id for job in self._jobs if cancel or not self._final(job.item_id)]
        if not self._job_name or not out:
            self._last_states()
            return True
        try:
            slurm.cancel(self._bindir, self._job_name, self._timeout())
            self._wait_gone(10.0)
        except slurm.SlurmError as exc:
            self.cookWarning(f"{self.name}: the cook's Slurm jobs could not be canceled "
                             f"({exc}); cancel them with: scancel --name={self._job_name}")
        for item_id in out:
            self._jobs.forget(item_id)
            item = self.find_item(item_id)
            if item is not None and not item.state.is_final:
                self.workItemCancelled(item_id)
        return True

    def _last_states(self) -> None:
        """Slurm's word for the jobs of items that ended since the last poll, so that no
        item keeps "RUNNING" for a job that has ended."""
        if not len(self._jobs) or not self._contact.answering:
            return
        try:
            seen = slurm.poll(self._bindir, self._job_name, self._timeout())
        except slurm.SlurmError:
            return
        for change in self._jobs.update(seen):
            if change.word_changed:
                self._set(change.job.item_id, "slurm_state", change.job.word)
        for job in self._jobs:
            self._jobs.forget(job.item_id)

    def onCancelWorkItems(self, work_items: list[WorkItem], node) -> None:
        """Cancel these items' Slurm jobs (``scancel`` of their array tasks)."""
        jobs = [job for job in (self._jobs.forget(i.id) for i in work_items) if job]
        try:
            slurm.cancel_jobs(self._bindir, [job.job_id for job in jobs], self._timeout())
        except slurm.SlurmError as exc:
            self.cookWarning(f"{self.name}: could not cancel Slurm jobs "
                             f"{', '.join(j.job_id for j in jobs)}: {exc}")
        for job in jobs:
            self.workItemCancelled(job.item_id)

    def _final(self, item_id: int) -> bool:
        item = self.find_item(item_id)
        return item is None or item.state.is_final

    def _wait_gone(self, timeout: float) -> None:
        """Return once Slurm lists no job of the cook as pending or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = slurm.poll(self._bindir, self._job_name, self._timeout())
            if not any(not slurm.SLURM_STATES(word).is_final for word, _, _ in seen.values()):
                return
            time.sleep(0.1)

    def submitAsJob(self, graph_file: str, node_path: str) -> str:
        """Cook the network as one Slurm job: ``schedcore cook`` on a node, with the
        scheduler's partition, account and QOS; its status file (the URI) and log are in
        the working dir's ``pdgtemp/submitted``, which the nodes share."""
        bindir = self["slurm_bindir"].evaluateString()
        workdir, remote = self.workingDir(True), self.workingDir(False)
        name, local_folder, remote_folder = submission.new(graph_file, workdir, remote)
        status = os.path.join(remote_folder, f"{name}.json")
        log = os.path.join(remote_folder, f"{name}.log")
        command = [python_for_jobs(), "-m", "schedcore.cli", "cook",
                   os.path.join(remote, graph_file), "--status-file", status,
                   *self.submitted_hip()]
        if node_path:
            command += ["--node", node_path]
        options = [o for o in self._cook_options() if not o.startswith("--job-name=")]
        options += [f"--job-name=schedcore-{Path(graph_file).name.split('.')[0]}",
                    f"--output={log}", f"--chdir={remote}",
                    f"--cpus-per-task={max(1, self['pdg_slots'].evaluateInt())}"]
        script = "#!/bin/sh\nexec " + " ".join(map(shlex.quote, command)) + "\n"
        local_status = os.path.join(local_folder, f"{name}.json")
        submission.queued(local_status, graph_file, log)
        job_id = slurm.submit(bindir, script, options, self._timeout(), cwd=workdir)
        submission.queued(local_status, graph_file, log, slurm_jobid=job_id)
        return Path(local_status).as_uri()


__all__ = ["SlurmJob", "SlurmScheduler"]
