"""How a cook makes its work items: static and dynamic generation, partitions, the item
limits, and linking each new item to what it waits for. A part of the cook state
(``schedcore.cookstate``), as pure as it: node types make the items."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from .cooknodes import NodeState
from .errors import CookError
from .events import ItemAdded
from .limits import ItemLimits, TooManyItems
from .nodes.base import MakeItem
from .tokens import TokenError
from .workitem import WorkItem, WorkItemState

S = WorkItemState


class Host(Protocol):
    """What generation reads and changes of the cook state it is part of."""

    nodes: dict[str, NodeState]
    items: dict[int, WorkItem]
    live: int
    stop: str | None
    cancel_asked: bool
    observed: bool

    def error(self, text: str, source: str = "") -> None: ...
    def emit(self, event: Any) -> None: ...
    def link(self, item: WorkItem) -> None: ...


class Generation:
    """Makes the items of the nodes of ``state`` as they can be made."""

    def __init__(self, state: Host, limits: ItemLimits):
        self.state = state
        self.limits = limits
        self.next_id = 1
        self._running = self._again = False

    def run(self) -> None:
        """Make the items of every node that can make them now (not re-entrant: a call from
        within only asks for another round)."""
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            self._again = True
            while self._again:
                self._again = False
                for node in self.state.nodes.values():
                    if not node.complete and all(n.complete for n in node.inputs):
                        self._generate_node(node)
        finally:
            self._running = False

    def from_cooked(self, item: WorkItem) -> None:
        """``item`` cooked: the dynamic nodes below make their items from it."""
        for child in self.dynamic_below(item):
            self._make_items(child, partial(child.type.generate, child.parms, item))

    def dynamic_below(self, item: WorkItem) -> list[NodeState]:
        """The dynamic nodes that make items from ``item`` once it cooked."""
        node = self.state.nodes[item.node]
        return node.dynamic_children if node.type.visible_downstream(item) else []

    @staticmethod
    def upstream_items(node: NodeState) -> list[WorkItem]:
        return [i for n in node.inputs for i in n.items if n.type.visible_downstream(i)]

    def _generate_node(self, node: NodeState) -> None:
        if node.dynamic:  # items come from from_cooked as upstream items cook
            if all(n.unfinished == 0 for n in node.inputs):
                self._complete(node)
            return
        if node.type.partition:  # None: the node has no inputs (not: they made no items)
            upstream = self.upstream_items(node) if node.inputs else None
            self._make_items(node, partial(node.type.generate_partition, node.parms, upstream))
        elif not node.inputs:
            self._make_items(node, partial(node.type.generate, node.parms, None))
        else:
            for upstream_item in self.upstream_items(node):
                self._make_items(node, partial(node.type.generate, node.parms, upstream_item))
        self._complete(node)

    def _make_items(self, node: NodeState, generate: Callable[[MakeItem], None]) -> None:
        """Run a node type's generation, then link what it made (once the type has set
        each item's priority and attributes)."""
        state = self.state
        if state.stop is not None:  # the cook is over: nothing new to make
            return
        made: list[WorkItem] = []
        try:
            self._check_count(node)
            generate(self._maker(node, made))
        except TooManyItems as exc:  # nothing of it cooks: the cook stops, saying why
            self._unmake(node, made)
            state.error(str(exc), node.name)
            state.stop = f"node {node.name} made too many work items"
            return
        except Exception as exc:
            detail = str(exc) if isinstance(exc, TokenError | ValueError | OSError | CookError) \
                else traceback.format_exc()
            state.error(f"node {node.name}: could not make its work items: {detail}", node.name)
        for item in made:
            if state.observed:
                state.emit(ItemAdded(item))
            state.link(item)

    def _complete(self, node: NodeState) -> None:
        node.complete = True
        for upstream in node.inputs:  # what stopped a node above stops this one's partitions
            node.failed_above = node.failed_above or upstream.failed_above
        self._again = True

    def _check_count(self, node: NodeState) -> None:
        """Refuse at once a count parameter that alone is over a limit (before making a
        quarter of a million items only to refuse the next)."""
        parm = node.type.count_parm
        count = node.parms.raw(parm) if parm else None
        if isinstance(count, int) and count > 0:
            cause = f"{parm} is {count}" + (" for each upstream item" if node.inputs else "")
            why = self.limits.exceeded(node.name, len(node.items) + count - 1,
                                       self.next_id + count - 2, cause)
            if why:
                raise TooManyItems(why)

    def _unmake(self, node: NodeState, made: list[WorkItem]) -> None:
        for item in made:
            del self.state.items[item.id]
        del node.items[len(node.items) - len(made):]
        node.unfinished -= len(made)
        self.state.live -= len(made)

    def _maker(self, node: NodeState, made: list[WorkItem]) -> MakeItem:
        state, limits = self.state, self.limits

        def make(index: int, dependencies: tuple[WorkItem, ...] = ()) -> WorkItem:
            if len(node.items) >= limits.node or self.next_id > limits.cook:
                raise TooManyItems(limits.exceeded(node.name, len(node.items),
                                                   self.next_id - 1))
            item = WorkItem(self.next_id, node.name, index, dependencies=tuple(dependencies))
            self.next_id += 1
            item.state = S.Waiting
            state.items[item.id] = item
            node.items.append(item)
            node.unfinished += 1
            state.live += 1
            made.append(item)
            return item
        # asked by a long generation (nodes.base.canceled): a cancel from any thread
        make.canceled = lambda: state.cancel_asked or state.stop is not None  # type: ignore
        return make
