"""The rules of a cook, in one object with no threads, no clock, no sockets, no SQLite.

``CookState`` knows which items exist, their states and dependencies, what is ready for which
scheduler, what a report or a callback's answer changes, and when the cook ends and why. The
engine thread (``schedcore.engine``) feeds it what happened (``report``, the answers of
``schedcore.cookio``, ``wake`` with the time) and carries out what each call returns, in
order: events to emit and instructions (call this callback, cook this item here). Every
state change is checked against the transition table (``schedcore.transitions``). Node types
make the items (a File Pattern reads folders); the one look at the disk the rules need, whether
an earlier cook's outputs are still there, is a function the engine gives (``cached``).

The rules, in short: an item is ready once every item it depends on cooked (CookedSuccess or
CookedCache); an item below one that failed, was canceled or never ran is Uncooked for good,
naming it; so is a partition that stands for every upstream item (a Wait for All, a Server
End) whose upstream nodes lost items to such a failure, although it depends on no item of them
(a dynamic node made nothing from the failed item), and a Python Server Begin's server when
none of the items it was made from can cook. The cook ends when every node made all its items
and none is left to cook.
"""

from __future__ import annotations

import heapq
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
from .cooknodes import NodeState, Queue
from .errors import CookError
from .events import CookMessage, ItemChanged, ItemStateChanged
from .generation import Generation
from .limits import ItemLimits
from .reports import (
    AttributeArraySet,
    AttributeSet,
    CacheInvalidated,
    CancelAsked,
    Canceled,
    CookErrorSaid,
    CookWarningSaid,
    CustomStateSet,
    Failed,
    ItemReport,
    LogAppended,
    OutputAdded,
    PercentSet,
    Report,
    SharedServerStarted,
    Started,
    Succeeded,
    UsageReported,
)
from .results import ScheduleResult, TickResult
from .tokens import TokenError
from .transitions import Verdict, legal, report_verdict
from .usage import ENDED, HANDED, MADE, STARTED, ItemUsage, Timeline, usage_of
from .workitem import MAX_OUTPUTS, AttribIndexError, OutputFile, WorkItem, WorkItemState

S = WorkItemState
Found = Sequence[OutputFile]  # a succeeded item's expected outputs that exist
_SUCCESS = (S.CookedSuccess, S.CookedCache)
_IN_FLIGHT = (S.Scheduled, S.Cooking)
# an item leaving these states was its scheduler's, which may know its log URI by then
_HANDED = _IN_FLIGHT


class CookResult:
    """What a cook ended with: every item, counts by state, cook-level errors."""

    def __init__(self, items: list[WorkItem], errors: list[str], warnings: list[str],
                 canceled: bool, timeline: Timeline | None = None):
        self.items = items
        self.timeline = timeline  # the cook's times of its items (usage.usage_of)
        self.errors = errors
        self.warnings = warnings
        self.canceled = canceled
        self.counts = Counter(item.state.name for item in items)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.canceled and all(
            item.state in _SUCCESS for item in self.items)

    @property
    def failed(self) -> list[WorkItem]:
        return [item for item in self.items if item.state == S.CookedFail]

    @property
    def not_run(self) -> list[WorkItem]:
        return [item for item in self.items if not item.state.is_final]

    def to_json(self) -> dict[str, Any]:
        keys = ("id", "name", "node", "state", "attributes", "outputs", "log_uri",
                "status_uri", "reason", "cook_duration", "log")
        return {"ok": self.ok, "counts": dict(self.counts), "errors": self.errors,
                "warnings": self.warnings, "canceled": self.canceled,
                "items": [{**{k: v for k, v in item.to_json().items() if k in keys},
                           "usage": usage_of(item, self.timeline).to_json()}
                          for item in self.items]}


class IdFlags:
    """A set of item ids, one byte per id: ids count up from 1, and a cook of a million
    items would spend a hundred megabytes on a ``set`` of them."""

    __slots__ = ("_flags",)

    def __init__(self) -> None:
        self._flags = bytearray()

    def add(self, item_id: int) -> None:
        if item_id >= len(self._flags):
            self._flags.extend(bytes(max(item_id + 1 - len(self._flags), len(self._flags))))
        self._flags[item_id] = 1

    def __contains__(self, item_id: object) -> bool:
        return type(item_id) is int and 0 <= item_id < len(self._flags) \
            and bool(self._flags[item_id])


class CookState:
    """See the module. ``nodes`` in dependency order, their inputs linked; ``queues`` by
    scheduler name; ``cached(item)`` gives what an earlier cook recorded of an item whose
    outputs are all still on disk (None: the item runs), ``key(item)`` names an item across
    cooks (for ``CacheInvalidated``)."""

    def __init__(self, nodes: Sequence[NodeState], queues: Mapping[str, Queue], *,
                 static: bool = False, limits: ItemLimits | None = None,
                 cached: Callable[[WorkItem], Any] | None = None,
                 forget_cached: Callable[[set[str]], int] | None = None):
        self.nodes = {node.name: node for node in nodes}
        self.queues = dict(queues)
        self.static = static
        self.items: dict[int, WorkItem] = {}
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.stop: str | None = None  # why the cook stops early
        self.canceled = False
        self.cancel_asked = False  # read by a long generation, from the engine thread
        self.over = False  # the cook has ended: a cancel now changes nothing
        self.observed = True  # someone listens: make the events (else skip them)
        self._cached = cached
        self._forget_cached = forget_cached
        self._dependents: dict[int, list[WorkItem]] = {}
        self._pending: dict[int, int] = {}
        self._blocked: set[int] = set()  # Uncooked for good: something upstream did not cook
        self._handed = IdFlags()  # items given to a scheduler (report_verdict)
        self._refused: set[tuple[int, type]] = set()  # refused reports, said once
        self._to_ready: list[WorkItem] = []  # see _make_ready
        self._readying = False
        self.live = 0       # items neither final nor blocked: the cook ends at 0
        self.in_flight = 0  # items Scheduled or Cooking: a scheduler has them
        self._out: list[Any] = []
        self._now = 0.0  # of the engine's last wake
        self.clock = 0.0  # the engine's time as last told (wake, tell_time): for the stamps
        self.times = Timeline()  # when each item was made, handed, started, ended
        # its arrays, stamped in place on the hot paths (a method call each cost a cook of
        # quick items a tenth of its time)
        self._made_at, self._handed_at, _started, self._ended_at = self.times.columns()
        self._passed: set[str] = set()  # schedulers offered their items since then
        self.generation = Generation(self, limits or ItemLimits())

    # == what the engine feeds in; each returns what to do, in order ======================
    def begin(self) -> list[Any]:
        """Make the items that can be made now; a static cook gives each scheduler its graph."""
        self.generation.run()
        if self.static and self.stop is None:
            for name in self.queues:
                self._out.append(CallOnScheduleStatic(name))
        return self._take()

    def tell_time(self, now: float) -> None:
        """The engine's time, before it applies the reports it read (their items' times)."""
        self.clock = now

    def pace(self, scheduler: str, period: float, max_items: int, now: float) -> None:
        """A scheduler's pace, once its ``onStartCook`` ran: ``pdg_tickperiod`` seconds and
        ``pdg_maxitems`` items per tick (-1: no limit)."""
        queue = self.queues[scheduler]
        queue.period, queue.max_items, queue.budget = period, max_items, max_items
        queue.next_tick = now + period

    def wake(self, now: float, read: bool = False) -> list[Any]:
        """The engine is awake at ``now`` (``read``: it has just read reports, so the items
        a scheduler deferred or was too full for are offered again): each tick that is due,
        one after another, then a pass of ``onSchedule`` calls for each scheduler that can
        take items, one scheduler after another. Each step follows the answer to the last."""
        if read:
            for queue in self.queues.values():
                queue.wake()
        self._now, self._passed, self.clock = now, set(), now
        self._next_step()
        return self._take()

    def _next_step(self) -> None:
        if self.stop is not None:
            return
        for queue in self.queues.values():
            if self._now >= queue.next_tick or queue.spent:
                queue.next_tick = self._now + queue.period
                queue.budget = queue.max_items
                queue.wake()
                self._out.append(CallOnTick(queue.name))
                return
        for queue in self.queues.values():
            if queue.name not in self._passed and queue.can_schedule:
                self._passed.add(queue.name)
                queue.passing = True
                self._offer_next(queue)
                return

    def tick_answered(self, answer: TickAnswer) -> list[Any]:
        queue = self.queues[answer.scheduler]
        if answer.result is None:
            if answer.error:
                self.error(f"{answer.scheduler}: onTick {answer.error}", answer.scheduler)
                self.stop = "onTick returned a value outside tickResult"
            else:
                self.stop = f"onTick of {answer.scheduler} raised"
            return self._take()
        queue.busy = answer.result == TickResult.SchedulerBusy
        if answer.result == TickResult.SchedulerCancelCook:
            self.stop = f"onTick of {answer.scheduler} canceled the cook"
            self.canceled = True
        self._next_step()
        return self._take()

    def log_found(self, answer: LogFound) -> None:
        """A log URI given after ``onSchedule``; the one given first stays."""
        if answer.log_uri and not answer.item.log_uri:
            answer.item.log_uri = answer.log_uri

    def schedule_answered(self, answer: ScheduleAnswer) -> list[Any]:
        """What ``onSchedule`` answered for an item; then the next item of the pass."""
        item = answer.item
        queue = self.nodes[item.node].sched
        result = answer.result
        if result is None:
            self._fail(item, answer.error)
        elif result is ScheduleResult.Succeeded:
            if answer.log_uri:
                item.log_uri = answer.log_uri
            if answer.status_uri:
                item.status_uri = answer.status_uri
            self._move(item, S.Scheduled)  # observers see the item with its URIs
        elif result is ScheduleResult.CookSucceeded:
            self._succeed(item, answer.found)
        elif result is ScheduleResult.Deferred:
            queue.deferred.append(item)
        elif result is ScheduleResult.FullDeferred:
            queue.push(item)
            queue.full = True
        elif result is ScheduleResult.CookCanceled:
            self._lose(item, S.CookedCancel, "onSchedule returned CookCanceled")
        else:
            self._fail(item, item.reason or f"{queue.name}: onSchedule returned {result.name}")
        self._offer_next(queue)
        return self._take()

    def pass_ended(self, answer: PassEnded) -> list[Any]:
        if not answer.ok:  # what the pass accepted would wait for ever
            self.stop = f"{answer.scheduler} could not submit the scheduled jobs"
        self._next_step()
        return self._take()

    def cooked_here(self, answer: CookedHere) -> list[Any]:
        if answer.error:
            self._fail(answer.item, answer.error)
        else:
            self._succeed(answer.item)
        return self._take()

    def report(self, report: Report, scheduler: str = "",
               found: Sequence[OutputFile] = ()) -> list[Any]:
        """A report from a job or scheduler code (through ``scheduler``). ``found``: for a
        success, the item's expected outputs that exist (the engine looked)."""
        if isinstance(report, ItemReport):
            self._report_item(report, scheduler, found)
        elif isinstance(report, CancelAsked):
            if not self.over:  # asked as the cook ended: it completed, and says so
                self.stop, self.canceled = "the cook was canceled", True
        elif isinstance(report, CookErrorSaid):
            self.error(report.text, scheduler)
            self.stop = f"{scheduler}: cookError: {report.text}"
        elif isinstance(report, CookWarningSaid):
            self.warning(report.text, scheduler)
        return self._take()

    def finish(self) -> list[Any]:
        """The cook is over: what did not end is canceled, saying why."""
        why = "the cook was canceled" if self.canceled else f"the cook stopped: {self.stop}"
        for item in self.items.values():
            if not item.state.is_final and item.id not in self._blocked:
                self._finalize(item, S.CookedCancel, item.reason or why)
        return self._take()

    def stalled(self) -> list[Any]:
        """Nothing can change any more although the cook is not over: no item is with a
        scheduler, ready or on its way, yet items wait or nodes lack items. That is a bug (of
        this state or a node type); the cook ends saying which items could not run."""
        self.generation.run()
        incomplete = [n.name for n in self.nodes.values() if not n.complete]
        stuck = [item for item in self.items.values() if self.is_live(item)]
        if not stuck and not incomplete:
            return self._take()
        for item in stuck:
            waits_for = [d.name for d in item.dependencies if not d.state.is_success]
            self.block(item, "it could never run: it waited for "
                             + (", ".join(waits_for) or "nothing that was left to cook"))
        self.error("internal error of the engine: the cook could not go on "
                   f"({len(stuck)} items could never run"
                   + (f"; nodes {', '.join(incomplete)} could not make their items"
                      if incomplete else "") + "); please report it with the network")
        self.stop = "the cook could not go on"
        return self._take()

    # == what the engine asks ==============================================================
    @property
    def done(self) -> bool:
        """Every node made its items and every item ended."""
        return self.live == 0 and all(n.complete for n in self.nodes.values())

    @property
    def idle(self) -> bool:
        """No item is with a scheduler or ready for one: only a stalled cook is idle and not
        done."""
        return not self.in_flight and not any(q.ready or q.deferred
                                               for q in self.queues.values())

    def busy(self) -> bool:
        """Whether a scheduler can take items now, or its spent budget calls the next tick at
        once: the engine does not wait."""
        return any(q.can_schedule or q.spent for q in self.queues.values())

    def next_tick(self) -> float:
        return min((q.next_tick for q in self.queues.values()), default=0.0)

    def result(self) -> CookResult:
        """The cook's result; a cook that stopped early without saying why has its reason
        as its error."""
        if self.stop and not self.canceled and not self.errors:
            self.errors.append(self.stop)
        return CookResult(list(self.items.values()), self.errors, self.warnings, self.canceled,
                          self.times)

    def find(self, ref: object) -> WorkItem | None:
        """An item by id (int or digits) or by name (PDG 17.5 sent names); any thread."""
        if type(ref) is int:
            return self.items.get(ref)
        if isinstance(ref, WorkItem):
            return self.items.get(ref.id)
        if isinstance(ref, str) and ref.isdigit():
            return self.items.get(int(ref))
        if isinstance(ref, str) and "_" in ref:
            number = ref.rsplit("_", 1)[1]
            item = self.items.get(int(number)) if number.isdigit() else None
            return item if item is not None and item.name == ref else None
        return None

    def dependency_graph(self, scheduler: str) -> tuple[dict[WorkItem, list[WorkItem]],
                                                        dict[WorkItem, list[WorkItem]],
                                                        list[WorkItem]]:
        """``(dependencies, dependents, ready)`` for the items ``scheduler`` cooks."""
        mine = [item for node in self.nodes.values() if node.sched.name == scheduler
                for item in node.items]
        dependencies = {item: list(item.dependencies) for item in mine}
        dependents: dict[WorkItem, list[WorkItem]] = {item: [] for item in mine}
        for item in mine:
            for dep in item.dependencies:
                dependents.setdefault(dep, []).append(item)
        ready = [entry[2] for entry in sorted(self.queues[scheduler].ready)]
        return dependencies, dependents, ready

    def error(self, text: str, source: str = "") -> None:
        self.errors.append(text)
        self._out.append(CookMessage("error", text, source))

    def warning(self, text: str, source: str = "") -> None:
        self.warnings.append(text)
        self._out.append(CookMessage("warning", text, source))

    def is_live(self, item: WorkItem) -> bool:
        return not item.state.is_final and item.id not in self._blocked

    def emit(self, event: Any) -> None:
        self._out.append(event)

    def take(self) -> list[Any]:
        """What was decided outside the calls above (a generation's events): to carry out."""
        return self._take()

    # == the rules =========================================================================
    def _take(self) -> list[Any]:
        out, self._out = self._out, []
        return out

    def _offer_next(self, queue: Queue) -> None:
        """Offer the scheduler its next ready item, or end the pass."""
        while queue.can_schedule and self.stop is None:
            item = heapq.heappop(queue.ready)[2]
            if item.state is not S.Waiting:
                continue
            queue.budget -= 1
            self._handed.add(item.id)  # its job may report from inside onSchedule on
            try:
                self._handed_at[item.id] = self.clock
            except IndexError:
                self.times.stamp(HANDED, item.id, self.clock)
            self._out.append(CallOnSchedule(queue.name, item))
            return
        if queue.passing:
            queue.passing = False
            self._out.append(CallOnSchedulePassEnd(queue.name))

    def _move(self, item: WorkItem, new: WorkItemState) -> bool:
        """Change an item's state, if the transition table allows it; an illegal change is a
        cook error naming the item and both states, and nothing changes."""
        old = item.state
        if not legal(old, new):
            self.error(f"internal error of the engine: {item.name} cannot go from "
                       f"{old.name} to {new.name}; please report it with the network")
            return False
        item.state = new
        self.in_flight += (new in _IN_FLIGHT) - (old in _IN_FLIGHT)
        if new is S.Cooking:
            self.times.first(STARTED, item.id, self.clock)
        if old in _HANDED and not item.log_uri:  # its scheduler may know it by now
            self._out.append(CallGetLogURI(self.nodes[item.node].sched.name, item))
        if self.observed:
            self._out.append(ItemStateChanged(item, old, new))
        return True

    def _finalize(self, item: WorkItem, state: WorkItemState, reason: str = "") -> bool:
        """Give a live item its final state; False (and nothing changes) when it had one."""
        if item.id in self._blocked or not legal(item.state, state):
            return False
        if reason:
            item.reason = reason
        try:
            self._ended_at[item.id] = self.clock
        except IndexError:
            self.times.stamp(ENDED, item.id, self.clock)
        self._move(item, state)
        self.resolved(self.nodes[item.node])
        return True

    def resolved(self, node: NodeState) -> None:
        """One item of ``node`` is over (final or blocked): the only place that counts it."""
        self.live -= 1
        node.unfinished -= 1
        if node.unfinished == 0 and any(not n.complete for n in self.nodes.values()):
            self.generation.run()

    def _succeed(self, item: WorkItem, found: Sequence[OutputFile] = (),
                 state: WorkItemState = S.CookedSuccess) -> None:
        for output in found:
            item.addOutputFile(output.path, output.tag)
        if not self.is_live(item):
            return
        # dynamic children first: they must exist before this node may count as done
        self.generation.from_cooked(item)
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
        self._lose(item, S.CookedFail, reason)

    def _lose(self, item: WorkItem, state: WorkItemState, reason: str) -> None:
        """An item ends without cooking (failed or canceled): what was to come from it never
        will. The dynamic nodes below learn it first (the item's end may complete them, and
        a partition below must know what they lost), then what waits for it is blocked."""
        if item.id in self._blocked or not legal(item.state, state):
            return
        self._lost_below(item)
        if self._finalize(item, state, reason):
            self._block_dependents(item)

    def _lost_below(self, item: WorkItem) -> None:
        for node in self.generation.dynamic_below(item):
            node.failed_above = node.failed_above or item

    def _block_dependents(self, item: WorkItem) -> None:
        for child in self._dependents.pop(item.id, ()):
            self._pending.pop(child.id, None)
            self.block(child, f"upstream item {item.name} {_what_became_of(item)}")
        for node in self.generation.dynamic_below(item):
            node.failed_above = node.failed_above or item
            self.warning(f"node {node.name}: no items made from {item.name}, which "
                         f"{_what_became_of(item)}", node.name)

    def block(self, item: WorkItem, reason: str) -> None:
        """An item that can never run: it stays Uncooked and says why (once: an item that
        waits for several failed items is blocked by the first); so do the items below it,
        depth first in the order they were linked, as a loop (a chain of any length)."""
        todo = [(item, reason)]
        while todo:
            item, reason = todo.pop()
            if not self.is_live(item):
                continue
            item.reason = reason
            self._blocked.add(item.id)
            self._lost_below(item)
            self._move(item, S.Uncooked)
            self.resolved(self.nodes[item.node])
            children = self._dependents.pop(item.id, ())
            for child in children:
                self._pending.pop(child.id, None)
            todo.extend((child, f"upstream item {item.name} did not run")
                        for child in reversed(children))

    def link(self, item: WorkItem) -> None:
        """Count what a new item waits for; make it ready now when nothing."""
        try:
            self._made_at[item.id] = self.clock
        except IndexError:  # a new id beyond the arrays: they grow
            self.times.stamp(MADE, item.id, self.clock)
        node = self.nodes[item.node]
        if node.type.partition and node.inputs:
            above = next((n.failed_above for n in node.inputs if n.failed_above), None)
            # a partition that stands for every upstream item is missing those that never
            # came; any other (a Python Server Begin's server) only when none of the items
            # it was made from can still cook
            if above is not None and (node.type.whole or not item.dependencies and not any(
                    self.is_live(u) or u.state.is_success
                    for u in self.generation.upstream_items(node))):
                self.block(item, f"upstream item {above.name} {_what_became_of(above)}")
                return
        pending = 0
        for dep in item.dependencies:
            if dep.id in self._blocked or dep.state in (S.CookedFail, S.CookedCancel):
                self.block(item, f"upstream item {dep.name} {_what_became_of(dep)}")
                return
            if dep.state not in _SUCCESS:
                pending += 1
                self._dependents.setdefault(dep.id, []).append(item)
        if pending:
            self._pending[item.id] = pending
        else:
            self._make_ready(item)

    def _make_ready(self, item: WorkItem) -> None:
        """Make ``item`` ready: cook it here, take it from the journal, or queue it for its
        scheduler. An item that cooks here makes those below it ready in turn: they wait in
        a worklist that the outermost call works through, first come first, so that a long
        chain is a loop, not a recursion."""
        self._to_ready.append(item)
        if self._readying:
            return
        self._readying = True
        try:
            index = 0
            while index < len(self._to_ready):
                self._ready_one(self._to_ready[index])
                index += 1
        finally:
            self._to_ready.clear()
            self._readying = False

    def _ready_one(self, item: WorkItem) -> None:
        node = self.nodes[item.node]
        if not node.type.partition:
            for dep in item.dependencies:
                item.copy_attributes_from(dep)
        try:
            node.type.prepare(node.parms, item)
        except (TokenError, CookError) as exc:
            self._fail(item, str(exc))
            return
        except Exception:  # a node type's own bug: the item fails, saying where
            self._fail(item, f"node {node.name} could not prepare {item.name}:\n"
                             + traceback.format_exc())
            return
        if node.type.cooks_here(item):
            if node.type.cook_needs_scheduler:
                self._out.append(CookHere(node.sched.name, item))
            else:
                self._succeed(item)
            return
        if node.type.resumable and self._cached is not None:
            record = self._cached(item)
            if record is not None:
                self._take_cached(item, record)
                return
        if self.static:  # onScheduleStatic gave the farm the graph: it may run it now
            self._handed.add(item.id)
            self.times.stamp(HANDED, item.id, self.clock)
        node.sched.push(item)

    def _take_cached(self, item: WorkItem, record: Any) -> None:
        """Resuming: an item an earlier cook cooked is CookedCache with what it reported."""
        for name, attrib in record.attributes.items():
            item.setAttribArray(name, attrib.type, attrib.values)
        for output in record.outputs:
            item.addOutputFile(output.path, output.tag, output.checksum)
        item.cook_duration = record.duration
        item.reason = "cooked by an earlier cook; its outputs are on disk"
        self._succeed(item, state=S.CookedCache)

    # == reports ===========================================================================
    def _report_item(self, report: ItemReport, scheduler: str,
                     found: Sequence[OutputFile]) -> None:
        item = self.find(report.item)
        if item is None:
            self.warning(f"{report.label} report for unknown work item {report.item!r} "
                         f"ignored", scheduler)
            return
        verdict = report_verdict(item.state, item.id in self._handed, report.moves_to)
        if verdict is not Verdict.APPLY:
            if verdict is Verdict.REFUSE:
                self._refuse(item, report, scheduler)
            return
        try:
            _APPLY[type(report)](self, item, report, scheduler, found)
        except Exception as exc:  # a malformed report from scheduler code
            self.warning(f"{report.label} report for {item.name} could not be applied: "
                         f"{exc!r}", scheduler)

    def _refuse(self, item: WorkItem, report: ItemReport, source: str) -> None:
        """A report about an item no scheduler was given (``transitions.report_verdict``):
        it changes nothing; said once per item and kind (a job may repeat it)."""
        key = (item.id, type(report))
        if key in self._refused:
            return
        self._refused.add(key)
        where = ("blocked below a failure" if item.id in self._blocked
                 else f"it is {item.state.name}")
        if item.reason:
            where += f": {item.reason}"
        self.warning(f"{report.label} report for {item.name} refused: no scheduler was given "
                     f"this item to cook ({where}); it came through "
                     f"{source or 'an unknown sender'}. Only the job of an item may report it",
                     source)

    def _changed(self, item: WorkItem, report: ItemReport) -> None:
        if self.observed:
            self._out.append(ItemChanged(item, report))

    def _on_start(self, item: WorkItem, report: Started, source: str, found: Found) -> None:
        self._move(item, S.Cooking)  # Scheduled, or Waiting handed over

    def _on_success(self, item: WorkItem, report: Succeeded, source: str, found: Found) -> None:
        item.cook_duration = report.duration
        if report.usage is not None:  # before the end: its events and journal row carry it
            self._take_usage(item, report.usage)
        self._succeed(item, found)

    def _on_fail(self, item: WorkItem, report: Failed, source: str, found: Found) -> None:
        item.cook_duration = report.duration  # how long it ran before it failed, when known
        if report.usage is not None:
            self._take_usage(item, report.usage)
        self._fail(item, report.reason or f"{source or 'its scheduler'} reported the job "
                                          f"failed")

    def _on_cancel(self, item: WorkItem, report: Canceled, source: str, found: Found) -> None:
        self._lose(item, S.CookedCancel, "the job was canceled")

    def _on_output(self, item: WorkItem, report: OutputAdded, source: str, found: Found) -> None:
        if item.reports_full(report.path):  # the result server stops a job's before this
            key = (item.id, OutputAdded)
            if key not in self._refused:  # one warning for the item, not one per output
                self._refused.add(key)
                self.warning(f"{item.name}: output reports refused from {report.path!r} on: "
                             f"an item keeps at most {MAX_OUTPUTS:,} reported outputs", source)
            return
        item.addOutputFile(report.path, report.tag, report.checksum)
        self._changed(item, report)

    def _on_attribute(self, item: WorkItem, report: AttributeSet, source: str,
                      found: Found) -> None:
        try:
            item.setAttrib(report.name, report.type, report.value, report.index)
        except AttribIndexError as exc:  # one value far out would take the cook's memory
            self.warning(f"{item.name}: attribute report refused: {exc}", source)
            return
        self._changed(item, report)

    def _on_attribute_array(self, item: WorkItem, report: AttributeArraySet, source: str,
                            found: Found) -> None:
        item.setAttribArray(report.name, report.type, list(report.values))
        self._changed(item, report)

    def _on_log(self, item: WorkItem, report: LogAppended, source: str, found: Found) -> None:
        item.appendLog(report.text)
        self._changed(item, report)

    def _on_percent(self, item: WorkItem, report: PercentSet, source: str, found: Found) -> None:
        item.cook_percent = min(100.0, max(0.0, report.percent))
        self._changed(item, report)

    def _on_custom_state(self, item: WorkItem, report: CustomStateSet, source: str,
                         found: Found) -> None:
        """For the cook's views, as the cook percent is."""
        item.custom_state = report.state
        self._changed(item, report)

    def _on_invalidate_cache(self, item: WorkItem, report: CacheInvalidated, source: str,
                             found: Found) -> None:
        """What the nodes below made in an earlier cook is not taken from the journal in this
        one (all their items, as which of them came from this item is known only once they
        exist)."""
        below = self._nodes_below(item.node)
        dropped = self._forget_cached(below) if self._forget_cached is not None else 0
        item.appendLog(f"the job invalidated its cache: the items of {len(below)} node(s) "
                       f"below cook again ({dropped} journal record(s) dropped)\n")
        self._changed(item, report)

    def _nodes_below(self, name: str) -> set[str]:
        below, todo = set(), [name]
        while todo:
            current = todo.pop()
            for node in self.nodes.values():
                if current in node.spec.inputs and node.name not in below:
                    below.add(node.name)
                    todo.append(node.name)
        return below

    def _on_usage(self, item: WorkItem, report: UsageReported, source: str,
                  found: Found) -> None:
        """Each report adds to what earlier ones said (the scheduler's, then a farm's)."""
        self._take_usage(item, report.usage)
        self._changed(item, report)

    @staticmethod
    def _take_usage(item: WorkItem, usage: ItemUsage) -> None:
        item.usage = usage if item.usage is None else item.usage.merged(usage)

    def _on_shared_server(self, item: WorkItem, report: SharedServerStarted, source: str,
                          found: Found) -> None:
        if not source:
            raise ValueError("a shared server reported without a scheduler to keep it")
        self._out.append(KeepSharedServer(source, item, report.name, dict(report.info)))
        self._changed(item, report)


_APPLY: dict[type, Callable[..., None]] = {
    Started: CookState._on_start, Succeeded: CookState._on_success,
    Failed: CookState._on_fail, Canceled: CookState._on_cancel,
    OutputAdded: CookState._on_output, AttributeSet: CookState._on_attribute,
    AttributeArraySet: CookState._on_attribute_array, LogAppended: CookState._on_log,
    PercentSet: CookState._on_percent, CustomStateSet: CookState._on_custom_state,
    SharedServerStarted: CookState._on_shared_server,
    CacheInvalidated: CookState._on_invalidate_cache,
    UsageReported: CookState._on_usage,
}


def _what_became_of(item: WorkItem) -> str:
    return "failed" if item.state == S.CookedFail else "did not run"

