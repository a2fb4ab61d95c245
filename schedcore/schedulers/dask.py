"""The Dask scheduler (``daskscheduler``): each work item is a Dask task that runs its command
in a process group of its own on a worker, writes the log to the working dir (shared by the
machines) and returns the exit code. Results come back through future callbacks; jobs report
attributes and outputs to the result server, at the address the workers are given.

Needs ``distributed`` (``pip install 'schedstudio[farm]'``); workers need ``schedcore`` too.
"""

from __future__ import annotations

import json
import os
import threading

from ..errors import CookError
from ..parms import ParmTemplate
from ..results import ScheduleResult
from ..workitem import WorkItem
from .base import COMMON_PARMS, Scheduler


def _resources(spec) -> list[str]:
    if not isinstance(spec, dict) or not all(isinstance(v, (int, float)) for v in spec.values()):
        return ['expected an object of resource names and amounts, e.g. {"GPU": 1}']
    return []


class DaskScheduler(Scheduler):
    type_name = "daskscheduler"
    label = "Dask Scheduler"
    parm_templates = COMMON_PARMS + [
        ParmTemplate("dask_address", "string", "", "Dask Scheduler Address",
                     "tcp://host:8786 of a running `dask scheduler`; empty: a local cluster "
                     "made for the cook."),
        ParmTemplate("dask_workers", "int", 2, "Local Workers",
                     "Worker processes of the local cluster (when no address is given)."),
        ParmTemplate("dask_resources", "json", {}, "Resources Per Item",
                     'Dask resources each item needs, e.g. {"GPU": 1}; the workers must '
                     "declare them (dask worker --resources GPU=1).", validate=_resources),
        ParmTemplate("dask_retries", "int", 1, "Retries",
                     "Times an item runs again when its worker is lost or its task raises."),
    ]

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self._client = self._cluster = None
        self._futures: dict[int, object] = {}  # item id -> Future
        self._lock = threading.Lock()
        self._canceling = False

    def onStartCook(self, static, cook_set) -> bool:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise CookError("the Dask scheduler needs the distributed package: "
                            "pip install 'schedstudio[farm]'") from None
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        self._canceling = False
        self._copy_job_modules()
        address = self["dask_address"].evaluateString()
        if address:
            self._client = Client(address, timeout="20s")
        else:
            self._cluster = LocalCluster(n_workers=self["dask_workers"].evaluateInt(),
                                         threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None)
            self._client = Client(self._cluster)
        return True

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        if not work_item.command.strip():
            return ScheduleResult.CookSucceeded
        from . import daskjob
        self.createJobDirsAndSerializeWorkItems(work_item)
        resources = self["dask_resources"].evaluate() or None
        future = self._client.submit(
            daskjob.run_job, self._key(work_item),
            self.expandCommandTokens(work_item.command, work_item),
            self.pdgEnvironment(work_item), self.workingDir(False),
            os.path.join(self.logDir(False), f"{work_item.name}.log"),
            key=self._key(work_item), priority=work_item.priority,
            resources=json.loads(json.dumps(resources)) if resources else None,
            retries=self["dask_retries"].evaluateInt(), pure=False)
        with self._lock:
            self._futures[work_item.id] = future
        future.add_done_callback(lambda f, item_id=work_item.id: self._done(item_id, f))
        return ScheduleResult.Succeeded

    def _key(self, work_item: WorkItem) -> str:
        return f"{work_item.name}-{self._engine.job_id[:12]}"

    def _done(self, item_id: int, future) -> None:
        """A task ended (on the client's thread): its exit code, or why it could not run."""
        with self._lock:
            self._futures.pop(item_id, None)
        if self._canceling or future.status == "cancelled":
            self.workItemCancelled(item_id)
            return
        try:
            code, seconds = future.result()
        except Exception as exc:  # the task raised, or its worker was lost for good
            self.workItemFailed(item_id, -1, f"the Dask task failed: {type(exc).__name__}: "
                                             f"{exc}")
            return
        if code == 0:
            self.workItemSucceeded(item_id, -1, seconds)
        else:
            why = f"signal {-code}" if code < 0 else f"exit code {code}"
            self.workItemFailed(item_id, -1, f"the command ended with {why}")

    def onStopCook(self, cancel: bool) -> bool:
        if self._client is None:
            return True
        from . import daskjob
        with self._lock:
            futures = list(self._futures.values())
        if cancel and futures:
            self._canceling = True
            # Dask cannot interrupt a running task: kill the commands' process groups on the
            # workers, then cancel what has not started
            self._client.run(daskjob.kill_jobs, [f.key for f in futures])
            self._client.cancel(futures)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None
        return True
