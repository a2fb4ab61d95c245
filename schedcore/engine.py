"""The engine thread: it feeds the cook state and carries out what the state decides.

The rules of a cook live in ``schedcore.cookstate`` (no threads, no clock, no I/O). The
engine owns everything else: the scheduler instances and their callbacks, the clock, the
queue of reports, the journal and its lock, the end of the cook. One thread (``run`` in the
caller, or ``start`` for a background thread) does all of it. Everything else talks to it
through ``post`` (a queue) and listens through its ``EventBus``. It wakes on a queued report
(one posted with ``wake=False`` within ``QUIET`` seconds) or on the next tick, never on a sleep.

    onStart -> onStartCook(static, cook_set) -> [onScheduleStatic] ->
        loop: reports in, onTick every pdg_tickperiod, onSchedule for ready items
    -> onStopCook(cancel) -> onStop
"""

from __future__ import annotations

import collections
import functools
import itertools
import os
import queue
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import journal as journal_file
from . import process, serverends
from .cookhistory import HistoryRecorder
from .cookio import (
    CallGetLogURI,
    CallOnSchedule,
    CallOnSchedulePassEnd,
    CallOnScheduleStatic,
    CallOnTick,
    CookedHere,
    CookHere,
    KeepSharedServer,
    LogFound,
    PassEnded,
    ScheduleAnswer,
    TickAnswer,
)
from .cooksetup import CookSetup, houdini_session, max_items, tick_period
from .cookstate import CookResult, CookState
from .errors import CookError, SchedcoreError
from .events import CookFinished, CookMessage, CookStarted, EventBus
from .limits import ItemLimits
from .network import Network
from .reports import CancelAsked, Report, Succeeded
from .results import ScheduleResult, schedule_result, tick_result
from .resume import CookRecord
from .schedulers import Scheduler
from .schedulers.context import CookContext
from .usage import epoch_offset
from .workitem import OutputFile, WorkItem

_COOK_NUMBERS = itertools.count(1)


class Engine:
    """Cooks a network, or the part of it up to ``upto``.

    ``scheduler`` overrides every node's scheduler: a scheduler node of the network, a
    registered scheduler type, or a ``Scheduler`` instance. ``workdir`` overrides the working
    dir of every scheduler. ``static`` makes a static cook (all items made up front).
    ``journal`` appends every state change, output and attribute to ``journal_path``;
    ``resume`` first reads it: items an earlier cook cooked, whose outputs are still on disk,
    become CookedCache and do not run again. ``limits`` caps the items a node and the cook
    may make (default: ``ItemLimits.configured()``). ``clock`` is the engine's time (seconds,
    monotonic)."""

    def __init__(self, network: Network, *, upto: str | None = None,
                 scheduler: str | Scheduler | None = None, static: bool = False,
                 workdir: str | None = None, bus: EventBus | None = None,
                 journal: bool = True, resume: bool = False,
                 limits: ItemLimits | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.network = network
        self.static = static
        self.events = bus or EventBus()
        self.clock = clock
        self.job_id = secrets.token_hex(16)  # only this cook's jobs know it
        self.cook_id = secrets.token_hex(8)  # names this cook's processes; not a secret
        self.number = next(_COOK_NUMBERS)  # 1 for this process's first cook: its temp dir
        # reports and requests for the engine thread, in the order they came; a token in
        # _wakeups wakes the engine for them (see post)
        self._inbox: collections.deque[tuple[Report, Scheduler | None]] = collections.deque()
        self._wakeups: queue.SimpleQueue = queue.SimpleQueue()
        self._waking_at = 0.0  # while the engine waits: when it wakes by itself
        self._cancels = 0  # cancels asked (any thread)
        self._carrying = False  # within a step of _carry_out: what is said waits its turn
        self._thread: threading.Thread | None = None
        self.result: CookResult | None = None
        self._done = threading.Event()
        context = CookContext(
            job_id=self.job_id, cook_id=self.cook_id, number=self.number, hip=network.hip,
            post=self.post, find=self.find, items=lambda: list(self.items.values()),
            payload=self.payload, node_parms=self.node_parms,
            dependency_graph=self.dependency_graph)
        houdini_session(network)  # here, on the caller's thread (see houdini_session)
        setup = CookSetup(network, context, upto=upto, choice=scheduler, workdir=workdir,
                          static=static)
        self._schedulers = setup.schedulers
        self.journal_path = self._journal_path()
        self._record: CookRecord | None = None
        if journal:
            self._record = CookRecord(self.journal_path, network.path, setup.nodes)
            self._record.open(self.cook_id, resume)
        record = self._record
        self.state = CookState(
            list(setup.nodes.values()), setup.queues, static=static,
            limits=limits or ItemLimits.configured(),
            cached=record.cached if record is not None and resume else None,
            forget_cached=record.forget if record is not None else None)
        self.state.times.epoch = epoch_offset(clock)
        if record is not None and record.journal is not None:
            record.journal.timeline = self.state.times
            self.events.subscribe(record.journal)
            # told by the journal as it closes: one subscriber less for every event
            record.journal.on_finished = HistoryRecorder(self.journal_path, self.cook_id)

    # == the outside world (any thread) =================================================
    @property
    def schedulers(self) -> list[Scheduler]:
        """The scheduler instances of this cook."""
        return list(self._schedulers.values())

    @property
    def items(self) -> dict[int, WorkItem]:
        """Every item of the cook so far, by id."""
        return self.state.items

    # seconds a report posted without waking the engine may wait for it
    QUIET = 0.05

    def post(self, report: Report, scheduler: Scheduler | None = None, *,
             wake: bool = True) -> None:
        """Queue a report or request for the engine thread; ``scheduler``: the one it came
        through. ``wake=False``: it need not be read at once, only within ``QUIET`` seconds
        (a scheduler with more jobs queued than slots lets the engine read many reports in
        one go; waking the engine for each costs a busy cook a good part of its CPU)."""
        self._inbox.append((report, scheduler))
        # the engine sets _waking_at before it looks at the inbox a last time and waits:
        # read after the append, it is either that time or the engine will see the report
        if wake or self._waking_at > self.clock() + self.QUIET:
            self._wakeups.put(None)

    def cancel(self) -> None:
        """Cancel the cook: running jobs are killed, unfinished items become CookedCancel."""
        self._cancels += 1  # read by the end of the cook (_end_shared_servers)
        self.state.cancel_asked = True  # read by a long generation
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

    def find(self, ref: object) -> WorkItem | None:
        """An item by id (int or digits) or by name (PDG 17.5 sent names); any thread."""
        return self.state.find(ref)

    def payload(self, item: WorkItem) -> dict | None:
        node = self.state.nodes[item.node]
        return node.type.payload(node.parms, item)

    def node_parms(self, name: str):
        """The parameters of TOP node ``name`` in this cook (None for an unknown node)."""
        node = self.state.nodes.get(str(name))
        return node.parms if node is not None else None

    def dependency_graph(self, scheduler: Scheduler):
        """``(dependencies, dependents, ready)`` for the items ``scheduler`` cooks."""
        return self.state.dependency_graph(self._name_of(scheduler))

    # == the cook (engine thread) =======================================================
    def run(self) -> CookResult:
        """Cook on this thread and return the result."""
        state = self.state
        state.observed = bool(self.events.subscribers)
        started: list[Scheduler] = []  # those whose onStartCook ran: onStopCook too
        try:
            self.events.emit(CookStarted(list(state.nodes), self.static))
            for text in self._record.warnings if self._record is not None else ():
                self.events.emit(CookMessage("warning", text, ""))  # before anyone listened
                state.warnings.append(text)
            if self._record is not None:
                self._record.on_warning = self._warning
                for text in self._record.stop_jobs_of_a_dead_cook():
                    self._warning(text)
            if all(self._start_scheduler(name, started) for name in self._schedulers):
                try:
                    state.tell_time(self.clock())
                    self._carry_out(state.begin())
                    self._loop()
                except Exception:  # a bug of ours: keep what was cooked, stop the jobs, say it
                    state.stop = "an internal error of the engine"
                    self._error("internal error of the engine; please report it:\n"
                                + traceback.format_exc())
            else:
                state.stop = "a scheduler could not start the cook"
        except BaseException as exc:  # Ctrl-C when cooking on the main thread, SystemExit
            state.stop = state.stop or f"it was interrupted ({type(exc).__name__})"
            raise  # once the cook ended below: its jobs stopped, its waiters told
        finally:
            self._finish(started)
        return self.result  # type: ignore[return-value]  # _finish set it

    def _journal_path(self) -> str:
        """``<working dir>/pdgtemp/journal/<network file name>.sqlite``."""
        first = next(iter(self._schedulers.values()), None)
        workdir = first["pdg_workingdir"].evaluateString() if first is not None \
            else self.network.hip
        return journal_file.journal_path(workdir, self.network.path)

    def _start_scheduler(self, name: str, started: list[Scheduler]) -> bool:
        scheduler = self._schedulers[name]
        for callback, args in (("onStart", ()),
                               ("onStartCook", (self.static, list(self.state.nodes)))):
            if callback == "onStartCook":
                started.append(scheduler)
            ok, value = self._call(scheduler, callback, *args)
            if not ok or value is False:
                if ok:
                    self._error(f"{scheduler.name}: {callback} returned False; "
                                f"the cook cannot start", scheduler.name)
                return False
        try:  # onStartCook may have set them, as Houdini's farm schedulers do
            self.state.pace(name, tick_period(scheduler), max_items(scheduler), self.clock())
        except CookError as exc:
            self._error(str(exc), scheduler.name)
            return False
        try:
            scheduler.make_cook_dirs()
        except OSError as exc:
            self._error(f"{scheduler.name}: the cook's temp dir cannot be made: "
                        f"{exc.strerror or exc} ({exc.filename or scheduler.tempDir(True)}); "
                        f"set pdg_workingdir to a folder you can write to", scheduler.name)
            return False
        problem = scheduler.result_server_problem()
        if problem:
            self._warning(problem, scheduler.name)
        return True

    def _loop(self) -> None:
        state = self.state
        while True:
            read = self._drain()
            now = self.clock()
            if self._record is not None and self._record.journal is not None:
                self._record.journal.due(now)  # a busy engine commits on time too
            self._carry_out(state.wake(now, read))
            if state.stop is not None or state.done:
                return
            if state.busy():
                continue  # a spent budget: the next tick comes at once, not at its time
            if state.idle and not self._inbox:
                self._carry_out(state.stalled())
                if state.stop is not None:
                    return
            timeout = self._wait_time()
            self._waking_at = self.clock() + timeout
            if not self._inbox:
                try:
                    self._wakeups.get(timeout=timeout)
                except queue.Empty:
                    pass
            self._waking_at = 0.0

    def _wait_time(self) -> float:
        """Seconds the engine may wait for a message: until the next tick, or until the
        journal's pending events are due for their commit."""
        now = self.clock()
        wake = self.state.next_tick()
        journal = self._record.journal if self._record is not None else None
        if journal is not None:
            due = journal.due(now)
            if due is not None:
                wake = min(wake, due)
        return max(0.0, wake - now)

    def _drain(self) -> bool:
        """Apply the reports queued so far; whether there were any."""
        while True:  # the wake-ups of what is read now (a later one only wakes it early)
            try:
                self._wakeups.get_nowait()
            except queue.Empty:
                break
        if not self._inbox:
            return False
        state = self.state
        state.observed = bool(self.events.subscribers)
        state.tell_time(self.clock())
        while self._inbox:
            report, scheduler = self._inbox.popleft()
            found: list[OutputFile] = []
            if type(report) is Succeeded and scheduler is not None:
                item = state.find(report.item)
                found = self._expected(item, scheduler) if item is not None else []
            self._carry_out(state.report(report, scheduler.name if scheduler else "", found))
        return True

    @staticmethod
    def _expected(item: WorkItem, scheduler: Scheduler) -> list[OutputFile]:
        """The expected outputs of a succeeded item that exist, as its scheduler sees them."""
        found: list[OutputFile] = []
        for expected in item.expectedOutputFiles:
            path = scheduler.localizePath(expected.path)
            if os.path.exists(path):
                found.append(OutputFile(path, expected.tag))
        return found

    # == carrying out what the cook state decided ========================================
    def _carry_out(self, todo: list[Any]) -> None:
        """Emit the events and carry out the instructions in the order the state decided
        them: what an answer leads to comes after what was decided before it."""
        work = collections.deque(todo)
        emit = self.events.emit
        while work:
            step = work.popleft()
            handler = self._HANDLERS.get(type(step))
            if handler is None:
                emit(step)
                continue
            self._carrying = True
            try:
                after = handler(self, step)
            finally:
                self._carrying = False
            work.extend(after)

    def _on_get_log_uri(self, step: CallGetLogURI) -> list[Any]:
        try:
            found = self._schedulers[step.scheduler].getLogURI(step.item)
        except Exception:  # said when onSchedule's answer asked it
            found = ""
        self.state.log_found(LogFound(step.item, str(found or "")))
        return []

    def _on_schedule(self, step: CallOnSchedule) -> list[Any]:
        scheduler, item = self._schedulers[step.scheduler], step.item
        try:
            value = scheduler.onSchedule(item)
        except Exception:
            return self.state.schedule_answered(
                ScheduleAnswer(item, None, self._raised(scheduler, "onSchedule")))
        try:
            result = schedule_result(value)
        except TypeError as exc:
            return self.state.schedule_answered(
                ScheduleAnswer(item, None, f"{scheduler.name}: onSchedule {exc}"))
        if result is ScheduleResult.Succeeded:
            uris = [self._call(scheduler, callback, item)
                    for callback in ("getLogURI", "getStatusURI")]
            log_uri, status_uri = (str(value) if ok and value else "" for ok, value in uris)
            answer = ScheduleAnswer(item, result, log_uri=log_uri, status_uri=status_uri)
        elif result is ScheduleResult.CookSucceeded:
            answer = ScheduleAnswer(item, result, found=tuple(self._expected(item, scheduler)))
        else:
            answer = ScheduleAnswer(item, result)
        return self.state.schedule_answered(answer)

    def _on_pass_end(self, step: CallOnSchedulePassEnd) -> list[Any]:
        ok, _value = self._call(self._schedulers[step.scheduler], "onSchedulePassEnd")
        return self.state.pass_ended(PassEnded(step.scheduler, ok))

    def _on_tick(self, step: CallOnTick) -> list[Any]:
        scheduler = self._schedulers[step.scheduler]
        ok, value = self._call(scheduler, "onTick")
        if not ok:
            answer = TickAnswer(step.scheduler, None)
        else:
            try:
                answer = TickAnswer(step.scheduler, tick_result(value))
            except TypeError as exc:
                answer = TickAnswer(step.scheduler, None, str(exc))
        return self.state.tick_answered(answer)

    def _on_schedule_static(self, step: CallOnScheduleStatic) -> list[Any]:
        deps, dependents, ready = self.state.dependency_graph(step.scheduler)
        self._call(self._schedulers[step.scheduler], "onScheduleStatic", deps, dependents,
                   ready)
        return self._said()

    def _on_cook_here(self, step: CookHere) -> list[Any]:
        node = self.state.nodes[step.item.node]
        try:
            node.type.cook(node.parms, step.item, self._schedulers[step.scheduler])
            error = ""
        except SchedcoreError as exc:
            error = str(exc)
        except Exception:
            error = f"node {node.name} could not cook {step.item.name}:\n" \
                    + traceback.format_exc()
        return self.state.cooked_here(CookedHere(step.item, error))

    def _on_keep_server(self, step: KeepSharedServer) -> list[Any]:
        scheduler = self._schedulers[step.scheduler]
        if scheduler.getSharedServerInfo(step.name) is not None:  # the earlier one: lost
            self._warning(f"{step.item.name} started shared server {step.name!r} again: the "
                          f"earlier one is ended", scheduler.name)
            self._call(scheduler, "endSharedServer", step.name)
        scheduler.setSharedServerInfo(step.name, step.info)
        return self._said()

    _HANDLERS: dict[type, Callable[[Engine, Any], list[Any]]] = {
        CallOnSchedule: _on_schedule, CallOnSchedulePassEnd: _on_pass_end,
        CallOnTick: _on_tick, CallOnScheduleStatic: _on_schedule_static,
        CookHere: _on_cook_here, KeepSharedServer: _on_keep_server,
        CallGetLogURI: _on_get_log_uri,
    }

    def _said(self) -> list[Any]:
        """What the state was told outside its calls (errors of a callback), for a step that
        feeds it nothing else; a step that does gets them first from that call."""
        return self.state.take()

    # == the end of the cook ==============================================================
    def _finish(self, started: list[Scheduler]) -> None:
        state = self.state
        try:
            state.over = True
            cancel = state.stop is not None
            stopped = True
            for scheduler in started:
                ok, value = self._call(scheduler, "onStopCook", cancel)
                stopped = stopped and ok and value is not False
            if cancel and not stopped:  # user code failed: its jobs must not outlive the cook
                self._kill_jobs_left()
            self._drain()  # what jobs reported while they were stopped
            self._end_shared_servers(started)  # they live as long as the cook
            self._carry_out(state.finish())
            for scheduler in self._schedulers.values():
                self._call(scheduler, "onStop")
            self._carry_out(state.take())
            if self._record is not None:
                self._record.close()
        finally:  # whatever failed above, the cook ends and whoever waits for it learns so
            self.result = state.result()
            if self._record is not None:  # before anyone waiting learns it ended: they may
                self._record.release()    # cook
            self._done.set()
        self.events.emit(CookFinished(self.result))

    def _end_shared_servers(self, started: list[Scheduler]) -> None:
        """``endSharedServer`` for every server still known, side by side, for at most
        ``serverends.DEADLINE`` seconds in all or until a cancel is asked (see serverends)."""
        ends: list[Callable[[], object]] = [
            functools.partial(self._call, scheduler, "endSharedServer", name)
                for scheduler in started for name in list(scheduler.getSharedServers())]
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
        for scheduler in self._schedulers.values():  # startJob's processes are ours to reap
            scheduler.reap_started_jobs()
        if killed:
            self._warning(f"onStopCook failed, so the engine killed the {len(killed)} processes "
                          f"its jobs left running (pids {', '.join(map(str, killed[:10]))}"
                          f"{', ...' * (len(killed) > 10)})")

    # == the guarded dispatcher =========================================================
    def _call(self, scheduler: Scheduler, callback: str, *args) -> tuple[bool, Any]:
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
        assert exc is not None
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
        return f"{scheduler.name}: {callback} raised:\n{text}"

    def _name_of(self, scheduler: Scheduler) -> str:
        return next(name for name, s in self._schedulers.items() if s is scheduler)

    def _error(self, text: str, source: str = "") -> None:
        """A cook error (the state keeps it for the result), said in its turn: within a
        step it follows what the state decided before it (``_said``), else at once."""
        self.state.error(text, source)
        if not self._carrying:
            self._carry_out(self.state.take())

    def _warning(self, text: str, source: str = "") -> None:
        self.state.warning(text, source)
        if not self._carrying:
            self._carry_out(self.state.take())
