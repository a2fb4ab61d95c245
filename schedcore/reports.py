"""What a cook is told: one typed vocabulary for every report and request.

A report is made once, where it enters (an XML-RPC call or a JSON report at the result
server, a scheduler's ``workItemSucceeded`` and kin, ``Engine.cancel``), and travels unchanged
to the engine thread, into ``ItemChanged`` events, the journal, the CLI and the studio.

``item`` is what the sender named: an item id (Houdini's job helper sends ids), a name (PDG
17.5 sent names) or the ``WorkItem``; the engine finds the item. An item report that changes
the item's state says to which in ``moves_to``; whether it may is the transition table's
(``schedcore.transitions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .usage import ItemUsage
from .workitem import AttribType, WorkItemState

if TYPE_CHECKING:
    from .workitem import WorkItem

S = WorkItemState


@dataclass(frozen=True, slots=True)
class ItemReport:
    """A report about one work item."""

    item: int | str | WorkItem
    moves_to: ClassVar[WorkItemState | None] = None
    label: ClassVar[str] = "item"  # what people read: "success report for gen_3 refused"


@dataclass(frozen=True, slots=True)
class Started(ItemReport):
    """Its job started."""

    moves_to: ClassVar[WorkItemState | None] = S.Cooking
    label: ClassVar[str] = "start"


@dataclass(frozen=True, slots=True)
class Succeeded(ItemReport):
    duration: float = 0.0  # seconds its job ran, when known
    usage: ItemUsage | None = None  # what its job used, when its scheduler measured it
    moves_to: ClassVar[WorkItemState | None] = S.CookedSuccess
    label: ClassVar[str] = "success"


@dataclass(frozen=True, slots=True)
class Failed(ItemReport):
    reason: str = ""
    duration: float = 0.0
    usage: ItemUsage | None = None
    moves_to: ClassVar[WorkItemState | None] = S.CookedFail
    label: ClassVar[str] = "fail"


@dataclass(frozen=True, slots=True)
class Canceled(ItemReport):
    moves_to: ClassVar[WorkItemState | None] = S.CookedCancel
    label: ClassVar[str] = "cancel"


@dataclass(frozen=True, slots=True)
class OutputAdded(ItemReport):
    path: str
    tag: str = "file"
    checksum: int = 0
    label: ClassVar[str] = "output"


@dataclass(frozen=True, slots=True)
class AttributeSet(ItemReport):
    """One value of an attribute, at ``index`` of its array."""

    name: str
    type: AttribType
    value: Any
    index: int = 0
    label: ClassVar[str] = "attribute"


@dataclass(frozen=True, slots=True)
class AttributeArraySet(ItemReport):
    """An attribute's whole array."""

    name: str
    type: AttribType
    values: tuple[Any, ...]
    label: ClassVar[str] = "attribute array"


@dataclass(frozen=True, slots=True)
class LogAppended(ItemReport):
    text: str
    label: ClassVar[str] = "log"


@dataclass(frozen=True, slots=True)
class PercentSet(ItemReport):
    percent: float
    label: ClassVar[str] = "percent"


@dataclass(frozen=True, slots=True)
class CustomStateSet(ItemReport):
    """The job's own word for where it is (pdgcmd's ``workItemSetCustomState``)."""

    state: str
    label: ClassVar[str] = "custom state"


@dataclass(frozen=True, slots=True)
class SharedServerStarted(ItemReport):
    """The item's job started a shared server: its name and how to reach it."""

    name: str
    info: dict[str, Any]
    label: ClassVar[str] = "shared server"


@dataclass(frozen=True, slots=True)
class CacheInvalidated(ItemReport):
    """The job's outputs changed without a new file: the nodes below do not take their
    results from the journal in this cook."""
    label: ClassVar[str] = "invalidate cache"


@dataclass(frozen=True, slots=True)
class Alive(ItemReport):
    """A sign of life from the item's job (pdgcmd's keepalive): the result server takes it,
    and it changes nothing."""
    label: ClassVar[str] = "keepalive"


@dataclass(frozen=True, slots=True)
class UsageReported(ItemReport):
    """What the item's job used and where it ran (``usage.ItemUsage``; fields not known are
    None): from the scheduler that reaped it, a farm's accounting, or the job itself. It may
    come after the item ended; each report adds to what earlier ones said."""

    usage: ItemUsage
    label: ClassVar[str] = "usage"


@dataclass(frozen=True, slots=True)
class CookErrorSaid:
    """``cookError``: the text is a cook error, and the cook stops."""

    text: str


@dataclass(frozen=True, slots=True)
class CookWarningSaid:
    text: str


@dataclass(frozen=True, slots=True)
class CancelAsked:
    """Cancel the cook (``Engine.cancel``, a signal, the studio's Cancel)."""


Report = ItemReport | CookErrorSaid | CookWarningSaid | CancelAsked
