"""What a scheduler may ask of the cook it serves: the narrow line between the two.

The engine gives each of its schedulers a ``CookContext`` for the length of a cook
(``Scheduler.attach``). A scheduler reads its items, posts reports, and learns the cook's
credentials and number through it; it never sees the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..parms import ParmSet
    from ..workitem import WorkItem

Graph = tuple[dict["WorkItem", list["WorkItem"]], dict["WorkItem", list["WorkItem"]],
              list["WorkItem"]]


@dataclass(frozen=True)
class CookContext:
    job_id: str   # the cook's secret: jobs prove with it that they are the cook's
    cook_id: str  # names the cook's processes (SCHEDCORE_COOK); not a secret
    number: int   # 1 for the process's first cook: names its temp dir
    hip: str      # the folder of the cook's network ($HIP)
    post: Callable[..., None]  # (report, scheduler, wake=True): a report for the engine
    find: Callable[[Any], WorkItem | None]  # an item by id, name or item; any thread
    items: Callable[[], list[WorkItem]]  # every item of the cook so far
    payload: Callable[[WorkItem], dict | None]  # what its node type gives the job
    node_parms: Callable[[str], ParmSet | None]  # a TOP node's parameters in this cook
    # (dependencies, dependents, ready) of the items of the scheduler it is given
    dependency_graph: Callable[[Any], Graph]

