"""What passes between the cook state and the engine thread that feeds it.

The cook state (``schedcore.cookstate``) decides; the engine carries out. The engine gives
the state what happened (a report, the answer of a scheduler callback, the time) and gets
back, in order, what to do: the events to emit (``schedcore.events``) and the instructions
below. Schedulers are named, never held: the engine keeps the scheduler objects. They are
not changed once made (not frozen: one or two are made per item, and a frozen dataclass's
``__init__`` costs three times as much).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .results import ScheduleResult, TickResult
from .workitem import OutputFile, WorkItem

# -- instructions: what the engine does for the state ------------------------------------


@dataclass(slots=True)
class CallOnSchedule:
    """Offer ``item`` to the scheduler's ``onSchedule``; answer with ``ScheduleAnswer``."""

    scheduler: str
    item: WorkItem


@dataclass(slots=True)
class CallOnSchedulePassEnd:
    """The scheduler's pass of ``onSchedule`` calls is over: call ``onSchedulePassEnd``;
    answer with ``PassEnded``."""

    scheduler: str


@dataclass(slots=True)
class CallOnTick:
    """Call the scheduler's ``onTick``; answer with ``TickAnswer``."""

    scheduler: str


@dataclass(slots=True)
class CallOnScheduleStatic:
    """A static cook's items all exist: give the scheduler the graph (``onScheduleStatic``)."""

    scheduler: str


@dataclass(slots=True)
class CookHere:
    """Cook ``item`` of a node type that needs its scheduler for it (``NodeType.cook``, a
    Server End ending its server); answer with ``CookedHere``."""

    scheduler: str
    item: WorkItem


@dataclass(slots=True)
class KeepSharedServer:
    """The item's job started a shared server: the scheduler keeps its address (ending the
    one it had under that name, which the state has warned of)."""

    scheduler: str
    item: WorkItem
    name: str
    info: dict[str, Any]


@dataclass(slots=True)
class CallGetLogURI:
    """Ask the scheduler's ``getLogURI`` again for ``item``, which has no log URI as it starts
    or ends (a farm knows it once it took the job); answer with ``LogFound``."""

    scheduler: str
    item: WorkItem


Instruction = (CallOnSchedule | CallOnSchedulePassEnd | CallOnTick | CallOnScheduleStatic
               | CookHere | KeepSharedServer | CallGetLogURI)

# -- answers: what the engine tells the state of a call it made ---------------------------


@dataclass(slots=True)
class ScheduleAnswer:
    """What ``onSchedule`` answered for ``item`` (``error``: why there is no usable answer,
    a traceback or a value outside ``scheduleResult``). With ``Succeeded``, the URIs the
    scheduler gave; with ``CookSucceeded``, the expected outputs found on disk."""

    item: WorkItem
    result: ScheduleResult | None
    error: str = ""
    log_uri: str = ""
    status_uri: str = ""
    found: tuple[OutputFile, ...] = ()


@dataclass(slots=True)
class LogFound:
    """What ``getLogURI`` answered when asked again (``CallGetLogURI``)."""

    item: WorkItem
    log_uri: str


@dataclass(slots=True)
class TickAnswer:
    scheduler: str
    result: TickResult | None
    error: str = ""  # onTick raised (the engine said so) or answered outside tickResult
    now: float = 0.0


@dataclass(slots=True)
class PassEnded:
    scheduler: str
    ok: bool = True


@dataclass(slots=True)
class CookedHere:
    item: WorkItem
    error: str = ""
