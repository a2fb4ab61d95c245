"""What a cook keeps for its schedulers and nodes, and what it ends with."""

from __future__ import annotations

import heapq
from collections import Counter

from .network import Network, NodeSpec
from .nodes import node_type
from .schedulers import Scheduler
from .workitem import WorkItem, WorkItemState

S = WorkItemState
_SUCCESS = (S.CookedSuccess, S.CookedCache)


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
        self.period = max(0.001, scheduler["pdg_tickperiod"].evaluateFloat())
        self.max_items = scheduler["pdg_maxitems"].evaluateInt()
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
