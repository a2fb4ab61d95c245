"""What a TOP node type is to the engine.

A node type makes work items: ``generate`` is called once for a node without inputs, or once
per upstream item (a processor), or once with all upstream items (a partitioner). When an item
becomes ready (its dependencies cooked), ``prepare`` fills in what depends on upstream results:
the command, expected outputs. Items of an ``in_process`` type are cooked by the engine at once
(a wedge, a file pattern, a partition); the others go to the node's scheduler.
"""

from __future__ import annotations

from collections.abc import Callable

from ..parms import ParmSet, ParmTemplate
from ..workitem import WorkItem

# make(index, dependencies) -> a new WorkItem of this node, registered with the cook
MakeItem = Callable[[int, tuple], WorkItem]


def canceled(make: MakeItem) -> bool:
    """Whether the cook whose ``make`` this is has been asked to stop (by a cancel from any
    thread): a node type whose generation may take long (a walk of folders) asks now and then
    and ends it early. False for a ``make`` that cannot say."""
    check = getattr(make, "canceled", None)
    return bool(check is not None and check())

GENERATE_WHEN = ParmTemplate(
    "generatewhen", "menu", "automatic", "Generate When",
    "When items are made: 'upstreamgenerated' (static: as soon as upstream items exist), "
    "'eachupstreamcooked' (dynamic: as each upstream item cooks, seeing its results), or "
    "'automatic' (the node type decides).",
    menu=("automatic", "upstreamgenerated", "eachupstreamcooked"),
)


class NodeType:
    type_name = ""
    label = ""
    description = ""
    parm_templates: list[ParmTemplate] = []
    in_process = False   # the engine cooks its items itself, no scheduler involved
    partition = False    # one generate() call with every upstream item
    resumable = True     # a resumed cook may take an earlier cook's result for its items
    count_parm = ""      # the parameter that says how many items it makes (to name it)
    cook_needs_scheduler = False  # cook() (for items it cooks here) uses the scheduler
    # a partition whose items stand for every upstream item (a Wait for All): when an item
    # above was lost to a failure, they never run, even if the others all came
    whole = False

    def is_dynamic(self, parms: ParmSet, has_inputs: bool) -> bool:
        """Whether items are made per upstream item *as it cooks* (seeing its results)."""
        when = parms.raw("generatewhen") if "generatewhen" in parms else "automatic"
        return has_inputs and when == "eachupstreamcooked"

    def generate(self, parms: ParmSet, upstream: WorkItem | None, make: MakeItem) -> None:
        """Make items for one upstream item (``None`` for a node without inputs)."""
        raise NotImplementedError

    def generate_partition(self, parms: ParmSet, upstream: list[WorkItem] | None,
                           make: MakeItem) -> None:
        """Make items for all upstream items at once (``None`` for a node without inputs,
        ``[]`` when its inputs made no items)."""
        raise NotImplementedError

    def prepare(self, parms: ParmSet, item: WorkItem) -> None:
        """Called when ``item`` is ready; may raise ``TokenError`` to fail it."""

    def visible_downstream(self, item: WorkItem) -> bool:
        """Whether nodes below make items from ``item`` (False: an item of this node's own,
        such as the one starting a shared server)."""
        return True

    def cooks_here(self, item: WorkItem) -> bool:
        """Whether the engine cooks ``item`` itself (``cook``) rather than its scheduler."""
        return self.in_process

    def cook(self, parms: ParmSet, item: WorkItem, scheduler) -> None:
        """Cook an item the engine cooks itself (after ``prepare``) with the node's scheduler at
        hand; an exception fails it."""

    def payload(self, parms: ParmSet, item: WorkItem) -> dict | None:
        """Extra data the item's job reads from its serialized JSON (``None``: nothing)."""
        return None
