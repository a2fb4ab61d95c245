"""The cook: the one owner of cook state.

One thread (the engine thread: ``run`` in the caller, or ``start`` for a background thread)
generates items, calls the scheduler callbacks by the PDG contract and applies what jobs report.
Everything else talks to it through ``post`` (a queue) and listens through its ``EventBus``.
It wakes on a queued message (one posted with ``wake=False`` within ``QUIET`` seconds) or on
the next tick, never on a sleep.

    onStart -> onStartCook(static, cook_set) -> [onScheduleStatic] ->
        loop: reports in, onTick every pdg_tickperiod, onSchedule for ready items
    -> onStopCook(cancel) -> onStop
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import os
import queue
import secrets
import sys
import threading
import time
import traceback

from . import journal as journal_file
from . import process, registry, serverends
from .applying import ReportsMixin
from .cooklock import CookLock
from .cookstate import (
    CookResult,
    NodeState,
    SchedulerState,
    max_items,
    tick_period,
)
from .errors import CookError, SchedcoreError, did_you_mean
from .events import (
    CookFinished,
    CookMessage,
    CookStarted,
    EventBus,
    ItemStateChanged,
)
from .generation import GenerationMixin
from .limits import ItemLimits
from .network import Network, NodeSpec
from .registry import scheduler_types
from .reports import CancelAsked, Report
from .results import ScheduleResult, TickResult, schedule_result, tick_result
from .resume import ResumeMixin
from .schedulers import Scheduler
from .schedulers.context import CookContext
from .transitions import legal
from .workitem import WorkItem, WorkItemState

S = WorkItemState
_IN_FLIGHT = (S.Scheduled, S.Cooking)
_COOK_NUMBERS = itertools.count(1)


class Engine(ResumeMixin, GenerationMixin, ReportsMixin):
    """Cooks a network, or the part of it up to ``upto``.

    ``scheduler`` overrides every node's scheduler: a scheduler node of the network, a
    registered scheduler type, or a ``Scheduler`` instance. ``workdir`` overrides the working
    dir of every scheduler. ``static`` makes a static cook (all items made up front).
    ``journal`` appends every state change, output and attribute to ``journal_path``;
    ``resume`` first reads it: items an earlier cook cooked, whose outputs are still on disk,
    become CookedCache and do not run again. ``limits`` caps the items a node and the cook
    may make (default: ``ItemLimits.configured()``)."""

    def __init__(self, network: Network, *, upto: str | None = None,
                 scheduler: str | Scheduler | None = None, static: bool = False,
                 workdir: str | None = None, bus: EventBus | None = None,
                 journal: bool = True, resume: bool = False,
                 limits: ItemLimits | None = None):
        self.network = network
        self.upto = upto
        self.static = static
        self.events = bus or EventBus()
        self.limits = limits or ItemLimits.configured()
        self.job_id = secrets.token_hex(16)  # only this cook's jobs know it
        self.cook_id = secrets.token_hex(8)  # names this cook's processes; not a secret
        self.number = next(_COOK_NUMBERS)  # 1 for this process's first cook: its temp dir
        self.items: dict[int, WorkItem] = {}
        # reports and requests for the engine thread, in the order they came; a token in
        # _wakeups wakes the engine for them (see post)
        self._inbox: collections.deque = collections.deque()
        self._wakeups: queue.SimpleQueue = queue.SimpleQueue()
        self._waking_at = 0.0  # while the engine waits: when it wakes by itself
        self._scheduler_choice = scheduler
        self._workdir = workdir
        self._scheds: dict[str, SchedulerState] = {}
        self._nodes: dict[str, NodeState] = {}
        self._dependents: dict[int, list[WorkItem]] = {}
        self._pending: dict[int, int] = {}
        self._blocked: set[int] = set()  # Uncooked for good: something upstream did not cook
        self._to_ready: collections.deque[WorkItem] = collections.deque()  # see _make_ready
        self._readying = False
        self._handed: set[int] = set()  # items given to a scheduler (transitions.report_verdict)
        self._refused: set[tuple[int, type]] = set()  # refused reports, said once
        self._live = 0             # items neither final nor blocked: the cook ends at 0
        self._in_flight = 0        # items Scheduled or Cooking: a scheduler has them
        self._next_id = 1
        self._errors: list[str] = []
        self._warnings: list[str] = []
        self._stop: str | None = None  # why the cook stops early
        self._canceled = False
        self._cancels = 0  # cancels asked (any thread)
        self._over = False  # the loop ended: a cancel asked now changes nothing
        self._generating = self._regenerate = False
        self._thread: threading.Thread | None = None
        self.result: CookResult | None = None
        self._done = threading.Event()
        self._context = CookContext(
            job_id=self.job_id, cook_id=self.cook_id, number=self.number, hip=network.hip,
            post=self.post, find=self.find, items=lambda: list(self.items.values()),
            payload=self.payload, node_parms=self.node_parms,
            dependency_graph=self.dependency_graph)
        self._setup()
        self.journal_path = self._journal_path()
        self._lock: CookLock | None = None
        self._earlier: dict = {}  # the lock's last holder, when it died holding it
        self._resume: dict = {}
        self._journal = None
        if journal:
            self._open_journal(resume)

    # == the outside world (any thread) =================================================
    @property
    def schedulers(self) -> list[Scheduler]:
        """The scheduler instances of this cook."""
        return [state.scheduler for state in self._scheds.values()]

    # seconds a report posted without waking the engine may wait for it
    QUIET = 0.05

    def post(self, report: Report, scheduler: Scheduler | None = None, *,
             wake: bool = True) -> None:
        """Queue a report or request for the engine thread; ``scheduler``: the one it came
        through. ``wake=False``: it need not be
        read at once, only within ``QUIET`` seconds (a scheduler with more jobs queued than
        slots lets the engine read many reports in one go; waking the engine for each costs
        a busy cook a good part of its CPU)."""
        self._inbox.append((report, scheduler))
        # the engine sets _waking_at before it looks at the inbox a last time and waits:
        # read after the append, it is either that time or the engine will see the report
        if wake or self._waking_at > time.monotonic() + self.QUIET:
            self._wakeups.put(None)

    def cancel(self) -> None:
        """Cancel the cook: running jobs are killed, unfinished items become CookedCancel."""
        self._cancels += 1  # read by the end of the cook (_end_shared_servers)
        self.post(CancelAsked())

    def start(self) -> threading.Thread:
        """Cook on a background thread; ``wait`` for the result."""
        self._thread = threading.Thread(target=self.run, name="schedcore-engine", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> CookResult | None:
        """The result once the cook ended (None on timeout). Safe to call again after a
        KeyboardInterrupt, unlike ``Thread.join``."""
        self._done.wait(timeout)
        if self._done.is_set() and self._thread is not None:
            self._thread.join()
        return self.result

    # == the cook (engine thread) =======================================================
    def run(self) -> CookResult:
        """Cook on this thread and return the result."""
        order = list(self._nodes)
        started: list[SchedulerState] = []  # those whose onStartCook ran: onStopCook too
        try:
            self.events.emit(CookStarted(order, self.static))
            for text in self._warnings:  # said before anyone listened (the journal, resume)
                self.events.emit(CookMessage("warning", text, ""))
            self._stop_jobs_of_a_dead_cook()
            if all(self._start_scheduler(s, order, started) for s in self._scheds.values()):
                try:
                    self._generate()
                    if self.static:
                        self._schedule_static()
                    self._loop()
                except Exception:  # a bug of ours: keep what was cooked, stop the jobs, say it
                    self._stop = "an internal error of the engine"
                    self._error("internal error of the engine; please report it:\n"
                                + traceback.format_exc())
            else:
                self._stop = "a scheduler could not start the cook"
        except BaseException as exc:  # Ctrl-C when cooking on the main thread, SystemExit
            self._stop = self._stop or f"it was interrupted ({type(exc).__name__})"
            raise  # once the cook ended below: its jobs stopped, its waiters told
        finally:
            self._finish(started)
        return self.result

    def _setup(self) -> None:
        try:
            specs = self.network.topological(self.upto)
        except KeyError as exc:
            raise CookError(f"cannot cook up to {self.upto!r}: {exc.args[0]}") from None
        for spec in specs:
            sched = self._scheduler_state(spec)
            node = self._nodes[spec.name] = NodeState(spec, self.network, sched, self.static)
            node.inputs = [self._nodes[name] for name in spec.inputs]
            for upstream in node.inputs:
                if node.dynamic:
                    upstream.dynamic_children.append(node)

    def _journal_path(self) -> str:
        """``<working dir>/pdgtemp/journal/<network file name>.sqlite``."""
        states = list(self._scheds.values())
        workdir = states[0].scheduler["pdg_workingdir"].evaluateString() if states \
            else self.network.hip
        return journal_file.journal_path(workdir, self.network.path)

    def _scheduler_state(self, spec: NodeSpec) -> SchedulerState:
        choice = self._scheduler_choice
        if isinstance(choice, Scheduler):
            key = choice.name
        else:
            key = choice or self.network.scheduler_for(spec)
        if key not in self._scheds:
            scheduler = choice if isinstance(choice, Scheduler) else self._make_scheduler(key)
            scheduler.attach(self._context)
            if self._workdir:
                scheduler.parms.set("pdg_workingdir", os.path.abspath(self._workdir))
            self._scheds[key] = SchedulerState(scheduler)
        return self._scheds[key]

    def _make_scheduler(self, key: str) -> Scheduler:
        types = scheduler_types()
        names = [s.name for s in self.network.schedulers]
        if key in names:
            spec = self.network.scheduler(key)
            cls = types.get(spec.type)
            if cls is None:
                raise CookError(f"scheduler node {key!r}: "
                                + registry.unknown_type_message(spec.type))
            return self._create(cls, spec.name, spec.values())  # with spare parms
        if key in types:
            return self._create(types[key], key, {})
        raise CookError(f"no scheduler node or scheduler type named {key!r}"
                        + did_you_mean(key, names + list(types)))

    def _create(self, cls: type[Scheduler], name: str, parms: dict) -> Scheduler:
        """An instance of a scheduler type; its own code raising (in ``__init__``, say) is a
        cook error pointing at its line, not a crash."""
        try:
            return cls.create(name, parms, self.network.hip)
        except SchedcoreError:
            raise
        except Exception as exc:
            raise CookError(f"scheduler {name!r} ({cls.__name__}) could not be created: "
                            f"{type(exc).__name__}: {exc} ({_user_line(exc)})") from None

    def _start_scheduler(self, state: SchedulerState, order: list[str],
                         started: list[SchedulerState]) -> bool:
        scheduler = state.scheduler
        for callback, args in (("onStart", ()), ("onStartCook", (self.static, order))):
            if callback == "onStartCook":
                started.append(state)
            ok, value = self._call(scheduler, callback, *args)
            if not ok or value is False:
                if ok:
                    self._error(f"{scheduler.name}: {callback} returned False; "
                                f"the cook cannot start", scheduler.name)
                return False
        try:  # onStartCook may have set them, as Houdini's farm schedulers do
            state.period, state.max_items = tick_period(scheduler), max_items(scheduler)
        except CookError as exc:
            self._error(str(exc), scheduler.name)
            return False
        state.budget = state.max_items
        state.next_tick = time.monotonic() + state.period
        return True

    def _loop(self) -> None:
        scheds = list(self._scheds.values())
        while True:
            self._drain()
            now = time.monotonic()
            if self._journal is not None:  # a busy engine commits on time too
                self._journal.due(now)
            for state in scheds:
                if self._stop is None and (now >= state.next_tick or state.spent):
                    self._tick(state, now)
            if self._stop is not None:
                return
            for state in scheds:
                self._schedule(state)
            if self._live == 0 and all(n.complete for n in self._nodes.values()):
                return
            if any(state.can_schedule or state.spent for state in scheds):
                continue  # a spent budget: the next tick comes at once, not at its time
            if self._stalled(scheds):
                return
            timeout = self._wait_time(scheds)
            self._waking_at = time.monotonic() + timeout
            if not self._inbox:
                try:
                    self._wakeups.get(timeout=timeout)
                except queue.Empty:
                    pass
            self._waking_at = 0.0

    def _wait_time(self, scheds: list[SchedulerState]) -> float:
        """Seconds the engine may wait for a message: until the next tick, or until the
        journal's pending events are due for their commit."""
        now = time.monotonic()
        wake = min(state.next_tick for state in scheds)
        if self._journal is not None:
            due = self._journal.due(now)
            if due is not None:
                wake = min(wake, due)
        return max(0.0, wake - now)

    def _stalled(self, scheds: list[SchedulerState]) -> bool:
        """Whether nothing can change any more although the cook is not over: no item is with
        a scheduler, ready or on its way, yet items wait or nodes lack items. That is a bug
        (of the engine or a node type); the cook ends saying which items could not run, it
        never waits for ever."""
        if self._in_flight or any(s.ready or s.deferred for s in scheds) \
                or self._inbox:
            return False
        self._generate()
        incomplete = [n.name for n in self._nodes.values() if not n.complete]
        stuck = [item for item in self.items.values() if self._is_live(item)]
        if not stuck and not incomplete:
            return False
        for item in stuck:
            waits_for = [d.name for d in item.dependencies if not d.state.is_success]
            self._block(item, "it could never run: it waited for "
                              + (", ".join(waits_for) or "nothing that was left to cook"))
        self._error("internal error of the engine: the cook could not go on "
                    f"({len(stuck)} items could never run"
                    + (f"; nodes {', '.join(incomplete)} could not make their items"
                       if incomplete else "") + "); please report it with the network")
        self._stop = "the cook could not go on"
        return True

    def _drain(self) -> None:
        while True:  # the wake-ups of what is read now (a later one only wakes it early)
            try:
                self._wakeups.get_nowait()
            except queue.Empty:
                break
        if not self._inbox:
            return
        while self._inbox:
            self._apply(*self._inbox.popleft())
        for state in self._scheds.values():
            state.wake()

    def _tick(self, state: SchedulerState, now: float) -> None:
        ok, value = self._call(state.scheduler, "onTick")
        state.next_tick = now + state.period
        state.budget = state.max_items
        state.wake()
        if not ok:
            self._stop = f"onTick of {state.scheduler.name} raised"
            return
        try:
            result = tick_result(value)
        except TypeError as exc:
            self._error(f"{state.scheduler.name}: onTick {exc}", state.scheduler.name)
            self._stop = "onTick returned a value outside tickResult"
            return
        state.busy = result == TickResult.SchedulerBusy
        if result == TickResult.SchedulerCancelCook:
            self._stop = f"onTick of {state.scheduler.name} canceled the cook"
            self._canceled = True

    def _schedule(self, state: SchedulerState) -> None:
        scheduler = state.scheduler
        if state.can_schedule:
            self._schedule_ready(state, scheduler)
            ok, _value = self._call(scheduler, "onSchedulePassEnd")
            if not ok:  # what the pass accepted would wait for ever
                self._stop = f"{scheduler.name} could not submit the scheduled jobs"

    def _schedule_ready(self, state: SchedulerState, scheduler: Scheduler) -> None:
        while state.can_schedule:
            item = heapq.heappop(state.ready)[2]
            if item.state is not S.Waiting:
                continue
            state.budget -= 1
            self._handed.add(item.id)  # its job may report from inside onSchedule on
            try:
                value = scheduler.onSchedule(item)
            except Exception:
                self._fail(item, self._raised(scheduler, "onSchedule"))
                continue
            try:
                result = schedule_result(value)
            except TypeError as exc:
                self._fail(item, f"{scheduler.name}: onSchedule {exc}")
                continue
            if result is ScheduleResult.Succeeded:
                self._scheduled(scheduler, item)
            elif result is ScheduleResult.CookSucceeded:
                self._succeed(item, scheduler)
            elif result is ScheduleResult.Deferred:
                state.deferred.append(item)
            elif result is ScheduleResult.FullDeferred:
                heapq.heappush(state.ready, (-item.priority, item.id, item))
                state.full = True
            elif result is ScheduleResult.CookCanceled:
                if self._finalize(item, S.CookedCancel, "onSchedule returned CookCanceled"):
                    self._block_dependents(item)
            else:
                reason = item.reason or (f"{scheduler.name}: onSchedule returned "
                                         f"{result.name}")
                self._fail(item, reason)

    def _scheduled(self, scheduler: Scheduler, item: WorkItem) -> None:
        for attr, callback in (("log_uri", "getLogURI"), ("status_uri", "getStatusURI")):
            ok, value = self._call(scheduler, callback, item)
            if ok and value:
                setattr(item, attr, str(value))
        self._set_state(item, S.Scheduled)  # observers see the item with its URIs

    def _schedule_static(self) -> None:
        for state in self._scheds.values():
            deps, dependents, ready = self.dependency_graph(state.scheduler)
            self._call(state.scheduler, "onScheduleStatic", deps, dependents, ready)

    def _finish(self, started: list[SchedulerState]) -> None:
        try:
            self._over = True
            cancel = self._stop is not None
            stopped = True
            for state in started:
                ok, value = self._call(state.scheduler, "onStopCook", cancel)
                stopped = stopped and ok and value is not False
            if cancel and not stopped:  # user code failed: its jobs must not outlive the cook
                self._kill_jobs_left()
            self._drain()  # what jobs reported while they were stopped
            self._end_shared_servers(started)  # they live as long as the cook
            why = ("the cook was canceled" if self._canceled
                   else f"the cook stopped: {self._stop}")
            for item in self.items.values():
                if not item.state.is_final and item.id not in self._blocked:
                    self._finalize(item, S.CookedCancel, item.reason or why)
            for state in self._scheds.values():
                self._call(state.scheduler, "onStop")
            if self._stop and not self._canceled and not self._errors:
                self._errors.append(self._stop)
            if self._journal is not None:
                self._journal.close()
        finally:  # whatever failed above, the cook ends and whoever waits for it learns so
            self.result = CookResult(list(self.items.values()), self._errors, self._warnings,
                                     self._canceled)
            if self._lock is not None:  # before anyone waiting learns it ended: they may cook
                self._lock.release()
            self._done.set()
        self.events.emit(CookFinished(self.result))

    def _end_shared_servers(self, started: list[SchedulerState]) -> None:
        """``endSharedServer`` for every server still known, side by side, for at most
        ``serverends.DEADLINE`` seconds in all or until a cancel is asked (see serverends)."""
        ends = [functools.partial(self._call, state.scheduler, "endSharedServer", name)
                for state in started for name in list(state.scheduler.getSharedServers())]
        if not ends:
            return
        cancels = self._cancels
        work = serverends.ServerEnds(ends, self._wakeups)
        if not work.wait(lambda: self._cancels != cancels):
            why = ("the cook was canceled meanwhile" if self._cancels != cancels else
                   f"they took longer than {serverends.DEADLINE:g} s")
            left = work.abandon()  # one may have ended since
            if left:
                self._warning(f"{left} of {work.total} shared servers were not ended: {why}; "
                              f"each stops by itself once the cook's result server is gone")

    def _kill_jobs_left(self) -> None:
        """Kill every process of this cook's jobs (each carries its marker), as a scheduler's
        ``onStopCook`` that raised or returned False could not be trusted to."""
        killed = process.kill_owned(process.MARKER, self.cook_id)
        for state in self._scheds.values():  # startJob's processes are ours to reap
            state.scheduler.reap_started_jobs()
        if killed:
            self._warning(f"onStopCook failed, so the engine killed the {len(killed)} processes "
                          f"its jobs left running (pids {', '.join(map(str, killed[:10]))}"
                          f"{', ...' * (len(killed) > 10)})")

    # == state changes ==================================================================
    def _set_state(self, item: WorkItem, new: WorkItemState) -> bool:
        """Change an item's state, if the transition table allows it; an illegal change is a
        cook error naming the item and both states, and nothing changes."""
        old = item.state
        if not legal(old, new):
            self._error(f"internal error of the engine: {item.name} cannot go from "
                        f"{old.name} to {new.name}; please report it with the network")
            return False
        item.state = new
        self._in_flight += (new in _IN_FLIGHT) - (old in _IN_FLIGHT)
        if self.events.subscribers:
            self.events.emit(ItemStateChanged(item, old, new))
        return True

    def _finalize(self, item: WorkItem, state: WorkItemState, reason: str = "") -> bool:
        """Give a live item its final state; False (and nothing changes) when it had one."""
        if item.id in self._blocked or not legal(item.state, state):
            return False
        if reason:
            item.reason = reason
        self._set_state(item, state)
        self._resolved(self._nodes[item.node])
        return True

    def _is_live(self, item: WorkItem) -> bool:
        return not item.state.is_final and item.id not in self._blocked

    def _resolved(self, node: NodeState) -> None:
        """One item of ``node`` is over (final or blocked): the only place that counts it."""
        self._live -= 1
        node.unfinished -= 1
        if node.unfinished == 0 and any(not n.complete for n in self._nodes.values()):
            self._generate()

    def _succeed(self, item: WorkItem, scheduler: Scheduler | None,
                 state: WorkItemState = S.CookedSuccess) -> None:
        if scheduler is not None:
            for expected in item._expected or ():
                path = scheduler.localizePath(expected.path)
                if os.path.exists(path):
                    item.addOutputFile(path, expected.tag)
        if not self._is_live(item):
            return
        # dynamic children first: they must exist before this node may count as done
        for child in self._downstream_of(item):
            self._make_items(child, lambda make, c=child: c.type.generate(c.parms, item, make))
        self._finalize(item, state)
        for child in self._dependents.pop(item.id, ()):
            left = self._pending.get(child.id, 0) - 1
            if left < 0:  # blocked by another of its dependencies meanwhile
                continue
            if left:
                self._pending[child.id] = left
            else:
                del self._pending[child.id]
                self._make_ready(child)

    def _fail(self, item: WorkItem, reason: str) -> None:
        if self._finalize(item, S.CookedFail, reason):
            self._block_dependents(item)

    def _block_dependents(self, item: WorkItem) -> None:
        for child in self._dependents.pop(item.id, ()):
            self._pending.pop(child.id, None)
            self._block(child, f"upstream item {item.name} "
                               f"{'failed' if item.state == S.CookedFail else 'did not run'}")
        for child in self._downstream_of(item):
            child.failed_above = child.failed_above or item
            self._warning(f"node {child.name}: no items made from {item.name}, which "
                          f"{'failed' if item.state == S.CookedFail else 'did not run'}",
                          child.name)

    def _block(self, item: WorkItem, reason: str) -> None:
        """An item that can never run: it stays Uncooked and says why (once: an item that
        waits for several failed items is blocked by the first); so do the items below it,
        depth first in the order they were linked, as a loop (a chain of any length)."""
        todo = [(item, reason)]
        while todo:
            item, reason = todo.pop()
            if not self._is_live(item):
                continue
            item.reason = reason
            self._blocked.add(item.id)
            self._set_state(item, S.Uncooked)
            self._resolved(self._nodes[item.node])
            children = self._dependents.pop(item.id, ())
            for child in children:
                self._pending.pop(child.id, None)
            todo.extend((child, f"upstream item {item.name} did not run")
                        for child in reversed(children))

    # == services for schedulers ========================================================
    def payload(self, item: WorkItem) -> dict | None:
        node = self._nodes[item.node]
        return node.type.payload(node.parms, item)

    def node_parms(self, name: str):
        """The parameters of TOP node ``name`` in this cook (None for an unknown node)."""
        node = self._nodes.get(str(name))
        return node.parms if node is not None else None

    def dependency_graph(self, scheduler: Scheduler):
        """``(dependencies, dependents, ready)`` for the items ``scheduler`` cooks."""
        mine = [item for node in self._nodes.values() if node.sched.scheduler is scheduler
                for item in node.items]
        dependencies = {item: list(item.dependencies) for item in mine}
        dependents: dict[WorkItem, list[WorkItem]] = {item: [] for item in mine}
        for item in mine:
            for dep in item.dependencies:
                dependents.setdefault(dep, []).append(item)
        ready = [entry[2] for entry in sorted(self._scheds_of(scheduler).ready)]
        return dependencies, dependents, ready

    def _scheds_of(self, scheduler: Scheduler) -> SchedulerState:
        return next(s for s in self._scheds.values() if s.scheduler is scheduler)

    # == the guarded dispatcher =========================================================
    def _call(self, scheduler: Scheduler, callback: str, *args):
        """Call a scheduler callback; an exception becomes a cook error, never a crash.
        Returns ``(ok, value)``."""
        try:
            return True, getattr(scheduler, callback)(*args)
        except SchedcoreError as exc:  # an expected problem, explained: no traceback
            self._error(f"{scheduler.name}: {callback}: {exc}", scheduler.name)
        except Exception:
            self._error(self._raised(scheduler, callback), scheduler.name)
        return False, None

    @staticmethod
    def _raised(scheduler: Scheduler, callback: str) -> str:
        """The traceback of the exception being handled, from the callback's own frame on
        (the engine's frames say nothing to the person who wrote the callback)."""
        exc = sys.exc_info()[1]
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
        return f"{scheduler.name}: {callback} raised:\n{text}"

    def _error(self, text: str, source: str = "") -> None:
        self._errors.append(text)
        self.events.emit(CookMessage("error", text, source))

    def _warning(self, text: str, source: str = "") -> None:
        self._warnings.append(text)
        self.events.emit(CookMessage("warning", text, source))


def _user_line(exc: BaseException) -> str:
    """``file:line`` of the deepest frame of ``exc`` outside schedcore: the user's own code."""
    here = os.path.dirname(os.path.abspath(__file__))
    where = "unknown line"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if not os.path.abspath(frame.f_code.co_filename).startswith(here + os.sep):
            where = f"{frame.f_code.co_filename}:{line}"
    return where
