"""How the engine makes work items (``Engine``'s generation, in a file of its own; it runs on the
engine thread): static and dynamic generation, partitions, the item limits, and linking each
new item to what it waits for."""

from __future__ import annotations

import heapq
import traceback

from .cookstate import _SUCCESS, NodeState
from .errors import CookError
from .events import ItemAdded
from .limits import TooManyItems
from .tokens import TokenError
from .workitem import WorkItem, WorkItemState

S = WorkItemState


class GenerationMixin:
    """The ``Engine``'s making of items; see ``schedcore.engine``."""

    def _generate(self) -> None:
        """Make the items of every node that can make them now (not re-entrant)."""
        if self._generating:
            self._regenerate = True
            return
        self._generating = True
        try:
            self._regenerate = True
            while self._regenerate:
                self._regenerate = False
                for node in self._nodes.values():
                    if not node.complete and all(n.complete for n in node.inputs):
                        self._generate_node(node)
        finally:
            self._generating = False

    def _generate_node(self, node: NodeState) -> None:
        if node.dynamic:  # items come from _succeed as upstream items cook
            if all(n.unfinished == 0 for n in node.inputs):
                self._complete(node)
            return
        if node.type.partition:  # None: the node has no inputs (not: they made no items)
            upstream = self._upstream_items(node) if node.inputs else None
            self._make_items(node, lambda make: node.type.generate_partition(
                node.parms, upstream, make))
        elif not node.inputs:
            self._make_items(node, lambda make: node.type.generate(node.parms, None, make))
        else:
            for upstream in self._upstream_items(node):
                self._make_items(node, lambda make, u=upstream: node.type.generate(
                    node.parms, u, make))
        self._complete(node)

    def _make_items(self, node: NodeState, generate) -> None:
        """Run a node type's generation, then link what it made (once the type has set
        each item's priority and attributes)."""
        if self._stop is not None:  # the cook is over: nothing new to make
            return
        made: list[WorkItem] = []
        try:
            self._check_count(node)
            generate(self._maker(node, made))
        except TooManyItems as exc:  # nothing of it cooks: the cook stops, saying why
            self._unmake(node, made)
            self._error(str(exc), node.name)
            self._stop = f"node {node.name} made too many work items"
            return
        except Exception as exc:
            self._generation_failed(node, exc)
        emit = self.events.emit if self.events.subscribers else None
        for item in made:
            if emit:
                emit(ItemAdded(item))
            self._link(item)

    @staticmethod
    def _upstream_items(node: NodeState) -> list[WorkItem]:
        return [i for n in node.inputs for i in n.items if n.type.visible_downstream(i)]

    def _downstream_of(self, item: WorkItem) -> list[NodeState]:
        """The dynamic nodes that make items from ``item`` once it cooked."""
        node = self._nodes[item.node]
        return node.dynamic_children if node.type.visible_downstream(item) else []

    def _generation_failed(self, node: NodeState, exc: Exception) -> None:
        detail = str(exc) if isinstance(exc, TokenError | ValueError | OSError) \
            else traceback.format_exc()
        self._error(f"node {node.name}: could not make its work items: {detail}", node.name)

    def _complete(self, node: NodeState) -> None:
        node.complete = True
        for upstream in node.inputs:  # what stopped a node above stops this one's partitions
            node.failed_above = node.failed_above or upstream.failed_above
        self._regenerate = True

    def _check_count(self, node: NodeState) -> None:
        """Refuse at once a count parameter that alone is over a limit (before making a
        quarter of a million items only to refuse the next)."""
        parm = node.type.count_parm
        count = node.parms.raw(parm) if parm else None
        if isinstance(count, int) and count > 0:
            cause = f"{parm} is {count}" + (" for each upstream item" if node.inputs else "")
            why = self.limits.exceeded(node.name, len(node.items) + count - 1,
                                       self._next_id + count - 2, cause)
            if why:
                raise TooManyItems(why)

    def _unmake(self, node: NodeState, made: list[WorkItem]) -> None:
        for item in made:
            del self.items[item.id]
        del node.items[len(node.items) - len(made):]
        node.unfinished -= len(made)
        self._live -= len(made)

    def _maker(self, node: NodeState, made: list[WorkItem]):
        limits = self.limits

        def make(index: int, dependencies: tuple = ()) -> WorkItem:
            if len(node.items) >= limits.node or self._next_id > limits.cook:
                raise TooManyItems(limits.exceeded(node.name, len(node.items),
                                                   self._next_id - 1))
            item = WorkItem(self._next_id, node.name, index, dependencies=tuple(dependencies))
            self._next_id += 1
            item.state = S.Waiting
            self.items[item.id] = item
            node.items.append(item)
            node.unfinished += 1
            self._live += 1
            made.append(item)
            return item
        # asked by a long generation (nodes.base.canceled): a cancel from any thread
        make.canceled = lambda: self._cancels > 0 or self._stop is not None  # type: ignore
        return make

    def _link(self, item: WorkItem) -> None:
        """Count what the item waits for; make it ready now when nothing."""
        node = self._nodes[item.node]
        if node.type.partition and node.inputs and not item.dependencies \
                and not self._upstream_items(node):  # not a server item: made from items
            above = next((n.failed_above for n in node.inputs if n.failed_above), None)
            if above is not None:  # made from no items, as those above never came
                self._block(item, f"upstream item {above.name} "
                                  f"{'failed' if above.state == S.CookedFail else 'did not run'}")
                return
        pending = 0
        for dep in item.dependencies:
            if dep.id in self._blocked or dep.state in (S.CookedFail, S.CookedCancel):
                self._block(item, f"upstream item {dep.name} "
                                  f"{'failed' if dep.state == S.CookedFail else 'did not run'}")
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
        chain is a loop, not a recursion (each item is made ready after every item it
        waits for ended, as before)."""
        self._to_ready.append(item)
        if self._readying:
            return
        self._readying = True
        try:
            while self._to_ready:
                self._ready_one(self._to_ready.popleft())
        except BaseException:  # the cook stops (an internal error): nothing half-done waits
            self._to_ready.clear()
            raise
        finally:
            self._readying = False

    def _ready_one(self, item: WorkItem) -> None:
        node = self._nodes[item.node]
        if not node.type.partition:
            for dep in item.dependencies:
                item.copy_attributes_from(dep)
        here = node.type.cooks_here(item)
        try:
            node.type.prepare(node.parms, item)
            if here:
                node.type.cook(node.parms, item, node.sched.scheduler)
        except (TokenError, CookError) as exc:
            self._fail(item, str(exc))
            return
        except Exception:
            self._fail(item, f"node {node.name} could not prepare {item.name}:\n"
                             + traceback.format_exc())
            return
        if here:
            self._succeed(item, None)
        elif not (self._resume and node.type.resumable and self._cached(item)):
            if self.static:  # onScheduleStatic gave the farm the graph: it may run it now
                self._handed.add(item.id)
            heapq.heappush(node.sched.ready, (-item.priority, item.id, item))
