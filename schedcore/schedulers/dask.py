"""The Dask scheduler (``daskscheduler``): each work item is a Dask task that runs its command
in a process group of its own on a worker, writes the log to the working dir (shared by the
machines) and returns the exit code. A task tells its start and its outcome through Dask
events (``daskjob.TOPIC``), which ride the connections Dask keeps open; the future's
callback catches what ends otherwise (a task that raised, a worker lost for good, a cancel).
Jobs report attributes and outputs to the result server, at the address the workers are
given. Each item gets a String attribute ``dask_worker``: the worker that ran it.

Needs ``distributed`` (``pip install 'schedstudio[farm]'``); workers need ``schedcore`` too.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CookError
from ..parms import ParmTemplate
from ..reports import Started
from ..results import ScheduleResult, TickResult
from ..usage import UsageError
from ..workitem import AttribType, WorkItem
from . import submission
from .base import COMMON_PARMS, Scheduler, private_folder

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster
    from tornado.ioloop import IOLoop

CONNECT_TIMEOUT = "20s"


def _resources(spec) -> list[str]:
    if not isinstance(spec, dict) or not all(isinstance(v, (int, float)) for v in spec.values()):
        return ['expected an object of resource names and amounts, e.g. {"GPU": 1}']
    return []


def _loop(client: Client) -> IOLoop:
    """The client's event loop: distributed types it as optional, a client made has one."""
    loop = client.loop
    assert loop is not None
    return loop


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise CookError("the Dask scheduler needs the distributed package: "
                        "pip install 'schedstudio[farm]'") from None
    return distributed


def _connect(address: str):
    """A client of the Dask scheduler at ``address``, or an error saying what to check."""
    distributed = _import_distributed()
    _reachable(address)
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CookError(f"cannot reach the Dask scheduler at {address} ({exc}): is "
                        f"`dask scheduler` running there, and is dask_address right "
                        f"(tcp://host:8786)?") from None


def _reachable(address: str) -> None:
    """Fail at once when nothing listens at a tcp:// address (Dask would retry for
    ``CONNECT_TIMEOUT``, which a mistyped address should not cost)."""
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "tcp") or not port.isdigit():
        return  # tls://, a scheduler file...: Dask's own checks
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise CookError(f"cannot reach the Dask scheduler at {address} "
                        f"({exc.strerror or exc}): is `dask scheduler` running there, and is "
                        f"dask_address right (tcp://host:8786)?") from None


def _amount(value: float) -> str:
    return f"{value:g}"


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
        ParmTemplate("writeitemdata", "bool", False, "Write Work Item Data",
                     "Write <temp>/data/<item>.json for every job, not only for the jobs "
                     "that read it (Python Script). The worker writes it, before the "
                     "command runs."),
        ParmTemplate("dask_retries", "int", 1, "Retries",
                     "Times an item's task runs again when it raises (a command that fails "
                     "does not raise: it fails the item). A task whose worker dies runs "
                     "again as often as the Dask scheduler's "
                     "distributed.scheduler.allowed-failures says (default 3)."),
        ParmTemplate("dask_workerwait", "float", 60.0, "Wait Without Workers",
                     "Seconds the items may wait while the Dask cluster has no worker at "
                     "all; then they fail, naming the workers lost. 0: wait for ever."),
    ]

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._futures: dict[int, Future] = {}  # item id -> Future
        self._lock = threading.Lock()
        self._canceling = False
        self._resources: dict[str, float] | None = None
        self._resources_checked = False
        self._cook_tag = ""  # this cook's key on the cluster
        self._ended: set[int] = set()  # items whose outcome came by event, future not done
        self._finished: list[tuple[int, Future]] = []  # (item id, Future) to fetch
        self._batch: list[tuple] = []  # (item id, priority, task args) of this engine pass
        self._fetching = False
        self._done_callback: Callable[..., Any] | None = None
        self._checking = False  # a look at the cluster's workers is under way
        self._workers: dict[str, str] = {}  # every worker seen in the cook: address -> name
        self._seen_alive = 0  # how many workers the cluster had at the last look
        self._no_workers_since: float | None = None  # monotonic time the last worker left
        self._given_up: set[int] = set()  # items failed by the cook, their tasks canceled

    def onStartCook(self, static, cook_set) -> bool:
        distributed = _import_distributed()
        super().onStartCook(static, cook_set)
        self._canceling = self._fetching = False
        self._futures, self._ended, self._finished, self._batch = {}, set(), [], []
        self._checking, self._workers, self._no_workers_since = False, {}, None
        self._seen_alive = 0
        self._given_up = set()
        self._worker_wait = self["dask_workerwait"].evaluateFloat()
        self._address = ""  # the Dask scheduler's, once connected
        self._resources = json.loads(json.dumps(self["dask_resources"].evaluate() or {})) \
            or None
        address = self["dask_address"].evaluateString()
        if not address and self._resources:
            # nothing ever joins the cluster made for the cook: the items would wait forever
            wanted = " ".join(f"{k}={_amount(v)}" for k, v in self._resources.items())
            raise CookError(f"dask_resources asks for {wanted}, but the local cluster made "
                            f"for the cook declares no resources: set dask_address to a "
                            f"Dask cluster whose workers declare them (dask worker ADDRESS "
                            f"--resources {wanted.split()[0]}), or clear dask_resources")
        self.startCallbackServer()  # jobs may report outputs and attributes
        self._copy_job_modules()
        self._resources_checked = False
        # what stays the same for the whole cook, evaluated once; paths as workers see them
        self._write_data = self["writeitemdata"].evaluateBool()
        self._retries = self["dask_retries"].evaluateInt()
        self._cwd = self.workingDir(False)
        self._log_dir, self._data_dir = self.logDir(False), self.dataDir(False)
        for folder in (self.logDir(True), self.dataDir(True)):
            private_folder(folder)
        if address:
            self._client = _connect(address)
        else:
            self._cluster = distributed.LocalCluster(
                n_workers=self["dask_workers"].evaluateInt(), threads_per_worker=1,
                processes=True, host="127.0.0.1",
                # a free port of its own: 8787 may be another cluster's (a warning, then)
                dashboard_address="127.0.0.1:0")
            self._client = distributed.Client(self._cluster)
        # the coroutine behind Future.add_done_callback, without its thread hop; should it
        # move in a later distributed, the public way
        self._done_callback = getattr(distributed.client, "done_callback", None)
        from .daskjob import TOPIC
        # the cook's name on the cluster: part of its job id only, since every client of the
        # cluster sees task keys and events, and the whole id is what jobs report with
        assert self._cook is not None  # the engine starts a cook within one
        self._cook_tag = self._cook.job_id[:12]
        self._client.subscribe_topic(TOPIC, self._event)
        self._address = self._client.scheduler.address or address
        self._checking = True  # the workers at the start, to name them should they be lost
        _loop(self._client).add_callback(self._check_workers, self._client)
        return True

    def onTick(self) -> TickResult:
        """At most one look at the cluster's workers per tick while tasks are out (on the
        client's event loop, without waiting for it): a cluster without any worker for
        ``dask_workerwait`` seconds fails the items, naming the workers it lost."""
        with self._lock:
            waiting = bool(self._futures)
        if self._client is None or not waiting:
            self._no_workers_since = None
            return TickResult.SchedulerReady
        if not self._checking and self._client.status == "running":
            self._checking = True
            _loop(self._client).add_callback(self._check_workers, self._client)
        since = self._no_workers_since
        if since is not None and 0 < self._worker_wait <= time.monotonic() - since:
            self._fail_without_workers()
        return TickResult.SchedulerReady

    async def _check_workers(self, client) -> None:
        """How many workers the cluster has (their names only when that changed)."""
        try:
            try:
                info = await client.scheduler.identity(n_workers=0)
            except TypeError:  # an older distributed (2024.1): every worker, each time
                info = await client.scheduler.identity()
            count = info.get("n_workers", len(info.get("workers", ())))
            if count and count != self._seen_alive:
                if "n_workers" in info:
                    info = await client.scheduler.identity(n_workers=-1)
                # every worker seen in the cook: those that died one by one are named too
                self._workers.update({address: str(w.get("name")) if w.get("name") not in
                                      (None, "") else address
                                      for address, w in info["workers"].items()})
            self._seen_alive = count
            if count:
                self._no_workers_since = None
            elif self._no_workers_since is None:
                self._no_workers_since = time.monotonic()
        except Exception:  # the scheduler lost: the futures' cancel says so
            pass
        finally:
            self._checking = False

    def _fail_without_workers(self) -> None:
        """Fail every item whose task is out, saying which workers the cluster lost and
        what to do; cancel their tasks."""
        with self._lock:
            lost = dict(self._futures)
            self._futures.clear()
            self._given_up.update(lost)
        self._no_workers_since = None
        names = ", ".join(sorted(self._workers.values())) or "none seen by this cook"
        address = self._address
        for item_id in lost:
            self.workItemFailed(
                item_id, -1,
                f"the Dask cluster at {address} has had no workers for "
                f"{self._worker_wait:g} s (lost: {names}), so its task could not run. Start "
                f"workers (dask worker {address}) and cook again; their logs say why they "
                f"ended. dask_workerwait sets how long items wait without workers.")
        try:
            if self._client is not None:
                self._client.cancel(list(lost.values()), force=True)
        except Exception:  # the client closing: the tasks go with it
            pass

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        if not work_item.command.strip():
            return ScheduleResult.CookSucceeded
        if self._resources and not self._resources_checked:
            self._resources_checked = True
            self._check_resources(self._resources)
        data = ""
        cook = self._cook
        assert cook is not None  # the engine schedules within a cook
        if self._write_data or cook.payload(work_item) is not None:
            data = json.dumps(self.serializeWorkItem(work_item))
        name, key = work_item.name, self._key(work_item)
        self._batch.append((work_item.id, work_item.priority, (
            key, self._cook_tag, self.expandCommandTokens(work_item.command, work_item),
            self.jobVariables(work_item), self._cwd, f"{self._log_dir}/{name}.log",
            f"{self._data_dir}/{name}.json", data)))
        return ScheduleResult.Succeeded

    def getLogURI(self, work_item: WorkItem) -> str:
        """The log file the worker writes (in the shared working dir), as this machine sees
        it."""
        return Path(self.logDir(True), f"{work_item.name}.log").as_uri()

    def onSchedulePassEnd(self) -> None:
        """The engine's pass over the ready items ended: submit the tasks it scheduled, one
        message to the cluster per priority instead of one per item (a submit per item cost
        the cook a third more than the tasks themselves on a local cluster)."""
        batch, self._batch = self._batch, []
        by_priority: dict[int, list] = {}
        for entry in batch:
            by_priority.setdefault(entry[1], []).append(entry)
        for priority, entries in by_priority.items():
            self._submit(priority, entries)

    def _submit(self, priority: int, entries: list) -> None:
        from . import daskjob
        keys = [args[0] for _, _, args in entries]
        try:
            assert self._client is not None  # made by onStartCook
            futures = self._client.map(
                daskjob.run_job, *zip(*(args for _, _, args in entries), strict=True),
                key=keys, priority=priority, resources=self._resources,
                retries=self._retries, pure=False)
        except Exception as exc:  # the client closed, say: these items fail, saying why
            for item_id, _, _ in entries:
                self.workItemFailed(item_id, -1, f"its Dask task could not be submitted: "
                                                 f"{type(exc).__name__}: {exc}")
            return
        watched = [(item_id, future) for (item_id, _, _), future in
                   zip(entries, futures, strict=True)]
        with self._lock:
            self._futures.update(watched)
        self._when_done(watched)

    def _key(self, work_item: WorkItem) -> str:
        # Dask groups tasks by the key's first word: the node, so that the dashboard shows
        # each node's progress and the scheduler learns one duration estimate per node
        return f"{work_item.node}-{self._cook_tag}-{work_item.id}"

    def _event(self, event) -> None:
        """A Dask event from a task (on the client's event loop): its item started, or its
        command ended. It comes before the future's callback."""
        _timestamp, (cook, item_id, *outcome) = event
        if cook != self._cook_tag:  # the topic is shared by every cook on the cluster
            return
        if not outcome:
            self.post_report(Started(item_id), wake=False)  # the engine reads it within QUIET
            return
        with self._lock:
            self._ended.add(item_id)
        self._report(item_id, *outcome)

    def _check_resources(self, resources: dict[str, float]) -> None:
        """One warning per resource the items need that no worker declares (enough of):
        the items wait for such a worker (an adaptive cluster may add one later)."""
        assert self._client is not None  # made by onStartCook
        workers = self._client.scheduler_info(n_workers=-1)["workers"].values()
        declared: dict[str, int] = {}  # "GPU=1 MEM=4" or "none" -> workers declaring it
        for worker in workers:
            text = " ".join(f"{k}={_amount(v)}" for k, v in
                            sorted((worker.get("resources") or {}).items())) or "none"
            declared[text] = declared.get(text, 0) + 1
        summary = ", ".join(f"{text} ({n} worker{'s' * (n != 1)})"
                            for text, n in sorted(declared.items())) or "there are no workers"
        address = self["dask_address"].evaluateString()
        for name, amount in resources.items():
            if any((w.get("resources") or {}).get(name, 0) >= amount for w in workers):
                continue
            self.cookWarning(
                f"no worker of the Dask cluster at {address} declares the resource "
                f"{name}={_amount(amount)} that the items need (dask_resources): they wait "
                f"until such a worker joins. The workers declare: {summary}. Start one "
                f"with: dask worker {address} --resources {name}={_amount(amount)}")

    def _when_done(self, watched: list[tuple[int, Future]]) -> None:
        """Call ``_done`` on the client's event loop once each future is done. Dask's own
        ``add_done_callback`` passes each callback through a thread of its own: for short
        tasks that hop, fighting the event loop for the GIL, costs more than the task. The
        futures of a batch go to the loop in one call (a call from another thread wakes it)."""
        client = self._client
        assert client is not None  # it made the futures
        if self._done_callback is not None:
            _loop(client).add_callback(self._watch, watched, client)
            return
        for item_id, future in watched:
            future.add_done_callback(
                lambda f, i=item_id: _loop(client).add_callback(self._done, i, f, client))

    def _watch(self, watched: list[tuple[int, Future]], client) -> None:
        """On the client's event loop: a waiting task per future (the coroutine behind
        ``add_done_callback``, without its thread)."""
        import asyncio  # loaded by distributed already; not by a cook without Dask

        done_callback = self._done_callback
        assert done_callback is not None  # _when_done sends futures here only with it

        for item_id, future in watched:
            asyncio.ensure_future(done_callback(
                future, lambda f, i=item_id: self._done(i, f, client)))

    def _done(self, item_id: int, future, client) -> None:
        """A task ended (on the client's event loop: nothing here may block). A finished
        task's outcome came by its event, before; should it not have, its result is fetched,
        in batches. Errors and cancellations are looked at on another thread."""
        with self._lock:
            self._futures.pop(item_id, None)
            if item_id in self._given_up:  # failed already, without workers
                self._given_up.discard(item_id)
                return
            if future.status == "finished" and item_id in self._ended:
                self._ended.discard(item_id)
                return
            fetch = future.status == "finished" and not self._canceling
            if fetch:
                self._finished.append((item_id, future))
                if self._fetching:
                    return
                self._fetching = True
        if fetch:
            client.loop.add_callback(self._fetch_finished, client)
        else:
            client.loop.run_in_executor(None, self._outcome, item_id, future)

    async def _fetch_finished(self, client) -> None:
        """Fetch the results of the finished tasks waiting for it, batch after batch."""
        while True:
            with self._lock:
                batch, self._finished = self._finished, []
                if not batch:
                    self._fetching = False
                    return
            try:
                results = await client.gather([f for _, f in batch], asynchronous=True)
            except Exception:  # a result lost with its worker, say: each on its own
                for item_id, future in batch:
                    await client.loop.run_in_executor(None, self._outcome, item_id, future)
                continue
            for (item_id, _), result in zip(batch, results, strict=True):
                self._report(item_id, *result)

    def _outcome(self, item_id: int, future) -> None:
        """The item's outcome from its future (blocks to fetch a result or an error)."""
        from concurrent.futures import CancelledError  # the base of distributed's own

        from distributed import KilledWorker

        if self._canceling:
            self.workItemCancelled(item_id)
            return
        try:
            result = future.result()
        except CancelledError as exc:
            # newer distributed says why; an older one leaves its client reconnecting
            reason = getattr(exc, "reason", None)
            if reason == "scheduler-connection-lost" or (
                    reason is None and getattr(future.client, "status", "") == "connecting"):
                self.workItemFailed(
                    item_id, -1,
                    f"the cook lost the Dask scheduler at {self._address} (its connection "
                    f"closed) while the item's task was out, so its outcome is unknown. "
                    f"Check that `dask scheduler` still runs there (its log says why it "
                    f"ended) and cook again; a command that was running may have finished.")
            else:  # canceled by another client of the cluster
                self.workItemCancelled(item_id)
            return
        except KilledWorker as exc:
            last = exc.last_worker
            worker = str(last.name) if last.name not in (None, "") else last.address
            self._set_worker(item_id, worker)
            self.workItemFailed(
                item_id, -1,
                f"its Dask worker died {exc.allowed_failures + 1} times while running it "
                f"(last on {worker}), so Dask gave it up. Check the workers' memory limit "
                f"(dask worker --memory-limit) against what the command needs, and whether "
                f"the command crashes or kills its worker; the workers' logs say why they "
                f"ended. The Dask scheduler's distributed.scheduler.allowed-failures "
                f"({exc.allowed_failures}) sets how many deaths a task may cause.")
            return
        except OSError as exc:  # run_job could not start the command (after its retries)
            self.workItemFailed(item_id, -1, f"could not run the command on its Dask worker: "
                                             f"{exc}")
            return
        except Exception as exc:  # the task raised (after its retries)
            self.workItemFailed(item_id, -1, f"the Dask task failed: {type(exc).__name__}: "
                                             f"{exc}")
            return
        self._report(item_id, *result)

    def _report(self, item_id: int, code: int, seconds: float, worker: str,
                usage: dict | None = None) -> None:
        """A task's outcome; ``usage`` is what its worker measured (none from a worker of
        an earlier version)."""
        if self._canceling:
            self.workItemCancelled(item_id)
            return
        self._set_worker(item_id, worker)
        if usage:
            try:
                self.workItemUsage(item_id, usage)
            except UsageError as exc:  # a worker of another version: the item goes on
                self.cookWarning(f"the usage the Dask worker {worker} measured for item "
                                 f"{item_id} cannot be read: {exc}")
        if code == 0:
            self.workItemSucceeded(item_id, -1, seconds)
        else:
            why = f"signal {-code}" if code < 0 else f"exit code {code}"
            self.workItemFailed(item_id, -1, f"the command ended with {why}", seconds)

    def _set_worker(self, item_id: int, worker: str) -> None:
        """``dask_worker``: where the item ran (the worker's name, else its address)."""
        if worker:
            self.workItemSetAttribute(item_id, -1, "dask_worker", AttribType.String, worker)

    def onStopCook(self, cancel: bool) -> bool:
        if self._client is None:
            return True
        from . import daskjob
        if not cancel:
            self.onSchedulePassEnd()  # nothing should be left; should it, it runs
        self._batch = []  # canceled before submission: the engine marks them canceled
        with self._lock:
            futures = list(self._futures.values())
        if cancel and futures:
            self._canceling = True
            # Dask cannot interrupt a running task: kill the commands' process trees on the
            # workers, then cancel the tasks. Every worker first marks the cook canceled (a
            # task of it queued there, or starting as the command is killed, returns without
            # running its command), then kills the commands of the cook it runs
            if self._client.status == "running":
                self._client.run(daskjob.cancel_cook, self._cook_tag, on_error="ignore")
                self._client.cancel(futures, force=True)
        try:
            if self._client.status == "running":
                self._client.unsubscribe_topic(daskjob.TOPIC)
            self._client.close()
        except Exception:  # a client whose scheduler is gone: nothing left to close
            pass
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None
        return True

    def submitAsJob(self, graph_file: str, node_path: str) -> str:
        """Cook the network as one Dask task: with ``dask_address`` set, a task on that
        cluster runs ``schedcore cook`` with the worker's Python in the working dir (which
        the machines share), its output in a log next to the status file; it carries on
        after this process exits. The status file says "queued" until the cook starts.

        Without ``dask_address`` the cluster would be a local one, ending with this process:
        the network is cooked by a detached ``schedcore cook`` on this machine instead (the
        base class's way)."""
        address = self["dask_address"].evaluateString()
        if not address:
            return super().submitAsJob(graph_file, node_path)
        distributed = _import_distributed()
        from . import daskjob

        name, local, remote = submission.new(graph_file, self.workingDir(True),
                                             self.workingDir(False))
        status = os.path.join(remote, f"{name}.json")
        args = ["cook", os.path.join(self.workingDir(False), graph_file), "--status-file", status,
                *self.submitted_hip()]  # a worker without that folder falls back, and says so
        if node_path:
            args += ["--node", node_path]
        key = f"schedcore-submit-{name}"
        with _connect(address) as client:
            # written before the task exists: the cook overwrites it once it runs
            submission.queued(os.path.join(local, f"{name}.json"), graph_file,
                              os.path.join(remote, f"{name}.log"), dask_scheduler=address,
                              dask_task=key)
            future = client.submit(daskjob.run_submitted, args, self.workingDir(False),
                                   status, os.path.join(remote, f"{name}.log"),
                                   key=key, pure=False)
            distributed.fire_and_forget(future)  # runs on after this client closes
        return Path(local, f"{name}.json").as_uri()
