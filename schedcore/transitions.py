"""The legal changes of a work item's state: the one table every change is checked against.

An item is made ``Waiting``. A scheduler takes it (``Scheduled``), its job starts
(``Cooking``), and it ends once: ``CookedSuccess``, ``CookedCache`` (taken from an earlier
cook's journal), ``CookedFail`` or ``CookedCancel``; or it never runs because something above
it did not cook (``Uncooked``, for good). A static cook's farm may start an item the engine
has not scheduled one by one (``Waiting`` to ``Cooking``). Nothing leaves an end.

What a report about an item may do follows from the same table (``report_verdict``): a
report whose change is legal is applied; one that comes after its item ended (or a second
start) is late and changes nothing; any other is refused, as is every report about an item
no scheduler was given.
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType

from .workitem import WorkItemState

S = WorkItemState

_ENDS = frozenset({S.CookedSuccess, S.CookedCache, S.CookedFail, S.CookedCancel})

LEGAL: MappingProxyType[WorkItemState, frozenset[WorkItemState]] = MappingProxyType({
    S.Waiting: _ENDS | {S.Scheduled, S.Cooking, S.Uncooked},
    S.Scheduled: _ENDS - {S.CookedCache} | {S.Cooking},
    S.Cooking: _ENDS - {S.CookedCache},
})


def legal(old: WorkItemState, new: WorkItemState) -> bool:
    """Whether an item may go from ``old`` to ``new``."""
    return new in LEGAL.get(old, ())


class Verdict(Enum):
    APPLY = "apply"    # the report changes the item
    LATE = "late"      # it came after the item ended, or it is a second start: no change
    REFUSE = "refuse"  # no job of the cook runs the item: it may not say anything of it


def report_verdict(state: WorkItemState, handed: bool, target: WorkItemState | None) -> Verdict:
    """What a report may do to an item in ``state`` that was (``handed``) or was not given
    to a scheduler. ``target`` is the state the report moves the item to (None for a report
    that only adds data: an output, an attribute, a log line)."""
    if not handed or state is S.Uncooked:
        return Verdict.REFUSE
    if target is None or legal(state, target):
        return Verdict.APPLY
    return Verdict.LATE if state in _ENDS or state is target else Verdict.REFUSE
