"""Event records of a cook and a thread-safe fan-out to subscribers.

The engine emits on its own thread; every subscriber is called in order, synchronously, so it
sees every event in the order things happened. A subscriber that must not slow the engine (the
studio) copies what it needs and coalesces on its own side. A subscriber that raises is
reported once and unsubscribed; the cook goes on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .reports import ItemReport
from .workitem import WorkItem, WorkItemState

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CookStarted:
    nodes: list[str]
    static: bool


@dataclass(slots=True)
class ItemAdded:
    """An item was made, in ``state`` (events are emitted after the change that made
    them, so the item itself may have moved on: read the event's states, not the item's)."""

    item: WorkItem
    state: WorkItemState = WorkItemState.Waiting


@dataclass(slots=True)
class ItemStateChanged:
    item: WorkItem
    old: WorkItemState
    new: WorkItemState


@dataclass(slots=True)
class ItemChanged:
    """A report changed an item's data (an output, an attribute, a log line...): the report
    as it was made where it entered, naming the item by id."""

    item: WorkItem
    report: ItemReport


@dataclass(slots=True)
class CookMessage:
    """``cookError``/``cookWarning`` and the engine's own errors (a raising callback...)."""

    level: str  # "error" or "warning"
    text: str
    source: str = ""  # scheduler or node name


@dataclass(slots=True)
class CookFinished:
    result: Any  # schedcore.engine.CookResult


Event = CookStarted | ItemAdded | ItemStateChanged | ItemChanged | CookMessage | CookFinished


class EventBus:
    def __init__(self):
        self._lock = threading.Lock()
        self.subscribers: tuple[Callable[[Event], None], ...] = ()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Add ``callback``; returns the function that removes it again."""
        with self._lock:
            self.subscribers = (*self.subscribers, callback)
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Callable[[Event], None]) -> None:
        with self._lock:
            self.subscribers = tuple(s for s in self.subscribers if s is not callback)

    def emit(self, event: Event) -> None:
        for callback in self.subscribers:
            try:
                callback(event)
            except (Exception, SystemExit):  # SystemExit: sys.exit, or rich on a broken pipe
                self.unsubscribe(callback)  # first: saying so may fail the same way
                with contextlib.suppress(Exception):
                    log.exception("event subscriber %r raised; it is unsubscribed", callback)
