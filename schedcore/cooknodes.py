"""The nodes and schedulers of a cook as the cook state keeps them: plain data, read and
changed by ``schedcore.cookstate`` and ``schedcore.generation``."""

from __future__ import annotations

import heapq

from .network import NodeSpec
from .nodes.base import NodeType
from .parms import ParmSet
from .workitem import WorkItem


class Queue:
    """What the cook keeps for one scheduler: its ready items and its pace."""

    def __init__(self, name: str):
        self.name = name
        self.ready: list[tuple[int, int, WorkItem]] = []  # heap of (-priority, id, item)
        self.deferred: list[WorkItem] = []  # answered Deferred: ready again at the next wake
        self.full = False        # FullDeferred: no onSchedule until the next wake
        self.busy = False        # SchedulerBusy: no onSchedule until a tick says ready
        self.passing = False     # a pass of onSchedule calls is under way
        self.period = 1.0        # pdg_tickperiod, seconds
        self.max_items = -1      # pdg_maxitems
        self.budget = -1
        self.next_tick = 0.0

    def push(self, item: WorkItem) -> None:
        heapq.heappush(self.ready, (-item.priority, item.id, item))

    def wake(self) -> None:
        for item in self.deferred:
            self.push(item)
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


class NodeState:
    """One node of the cook: its type and parameters, its scheduler, its items."""

    def __init__(self, spec: NodeSpec, node_type: NodeType, parms: ParmSet, scheduler: Queue,
                 dynamic: bool):
        self.spec = spec
        self.name = spec.name
        self.type = node_type
        self.parms = parms
        self.sched = scheduler
        self.dynamic = dynamic
        self.inputs: list[NodeState] = []
        self.dynamic_children: list[NodeState] = []
        self.items: list[WorkItem] = []
        self.unfinished = 0        # items not yet final (blocked counts as final)
        self.complete = False      # every item this node will make exists
        # an upstream item that failed or did not run, so that this node (dynamic) or one
        # above it made no items from it: a partition made from no items must not cook
        self.failed_above: WorkItem | None = None
