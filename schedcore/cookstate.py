"""What a cook keeps for its schedulers and nodes, and what it ends with."""

from __future__ import annotations

import heapq
import math
from collections import Counter

from .errors import CookError
from .network import Network, NodeSpec
from .nodes import node_type
from .schedulers import Scheduler
from .workitem import WorkItem, WorkItemState

S = WorkItemState
_SUCCESS = (S.CookedSuccess, S.CookedCache)

# The longest tick period: a day. Longer is a slip of the keyboard (and beyond ~1e9 seconds
# the engine's wait overflows the clock).
MAX_TICK_PERIOD = 86_400.0


class CookResult:
    """What a cook ended with: every item, counts by state, cook-level errors."""

    def __init__(self, items: list[WorkItem], errors: list[str], warnings: list[str],
                 canceled: bool):
        self.items = items
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

    def to_json(self) -> dict:
        keys = ("id", "name", "node", "state", "attributes", "outputs", "log_uri",
                "status_uri", "reason", "cook_duration")
        return {"ok": self.ok, "counts": dict(self.counts), "errors": self.errors,
                "warnings": self.warnings, "canceled": self.canceled,
                "items": [{k: v for k, v in item.to_json().items() if k in keys}
                          for item in self.items]}


class SchedulerState:
    """The engine's bookkeeping for one scheduler instance."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler
        self.ready: list = []      # heap of (-priority, id, item)
        self.deferred: list = []   # items that answered Deferred: back to ready on the next wake
        self.full = False          # FullDeferred: no onSchedule until the next wake
        self.busy = False          # SchedulerBusy: no onSchedule until a tick says ready
        self.period = tick_period(scheduler)
        self.max_items = max_items(scheduler)
        self.budget = self.max_items
        self.next_tick = 0.0

    def wake(self) -> None:
        for item in self.deferred:
            heapq.heappush(self.ready, (-item.priority, item.id, item))
        self.deferred.clear()
        self.full = False

    @property
    def can_schedule(self) -> bool:
        return bool(self.ready) and not self.busy and not self.full and self.budget != 0

    @property
    def spent(self) -> bool:
        """The ``pdg_maxitems`` budget ran out while items are ready: the next tick comes at
        once (the limit paces the scheduler; it does not make it wait for the period). Not
        while the scheduler is full: it is asked again when a message wakes the engine."""
        return self.budget == 0 and bool(self.ready) and not self.busy and not self.full


def tick_period(scheduler: Scheduler) -> float:
    """``pdg_tickperiod`` in seconds; a ``CookError`` naming the scheduler when it is not a
    finite number above 0 and at most ``MAX_TICK_PERIOD``."""
    value = _evaluate(scheduler, "pdg_tickperiod", "evaluateFloat")
    if value is None or not (math.isfinite(value) and 0 < value <= MAX_TICK_PERIOD):
        raise _bad_parm(scheduler, "pdg_tickperiod", f"a number of seconds above 0 and at "
                                                     f"most {MAX_TICK_PERIOD:,.0f} (a day)")
    return max(0.001, value)  # a shorter period would only spin


def max_items(scheduler: Scheduler) -> int:
    """``pdg_maxitems``: -1 (no limit) or a count from 1; else a ``CookError``."""
    value = _evaluate(scheduler, "pdg_maxitems", "evaluateInt")
    if value is None or not (value == -1 or value >= 1):  # 0 would never schedule an item
        raise _bad_parm(scheduler, "pdg_maxitems", "-1 for no limit, or a whole number of "
                                                   "items from 1")
    return value


def _evaluate(scheduler: Scheduler, name: str, how: str):
    """The parameter's value, or None when it does not evaluate to a number at all."""
    try:
        return getattr(scheduler[name], how)()
    except (TypeError, ValueError, OverflowError):  # text, NaN or infinity as an int
        return None


def _bad_parm(scheduler: Scheduler, name: str, expected: str) -> CookError:
    raw = scheduler[name].raw
    return CookError(f"scheduler {scheduler.name!r}: parameter {name} is {raw!r}; it must "
                     f"be {expected}")


class NodeState:
    def __init__(self, spec: NodeSpec, network: Network, sched: SchedulerState, static: bool):
        self.spec = spec
        self.name = spec.name
        self.type = node_type(spec.type)
        self.parms = network.node_parms(spec)
        self.sched = sched
        self.dynamic = not static and self.type.is_dynamic(self.parms, bool(spec.inputs))
        self.inputs: list[NodeState] = []
        self.dynamic_children: list[NodeState] = []
        self.items: list[WorkItem] = []
        self.unfinished = 0        # items not yet final (blocked counts as final)
        self.complete = False      # every item this node will make exists
        # an upstream item that failed or did not run, so that this node (dynamic) or one
        # above it made no items from it: a partition made from no items must not cook
        self.failed_above: WorkItem | None = None
