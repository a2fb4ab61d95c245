"""The bridge from a cook to the window: the engine runs on its own thread; its events are
collected there (cheaply, under a lock) and handed to the GUI thread in batches, ten times a
second, so a cook of 100,000 items never floods the event loop."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from schedcore.events import CookFinished, CookMessage, ItemAdded, ItemChanged, ItemStateChanged
from schedcore.network import Network
from schedcore.workitem import WorkItem, WorkItemState

if TYPE_CHECKING:
    from schedcore.engine import CookResult, Engine

FLUSH_MS = 100


class CookBridge(QObject):
    cookStarted = Signal()
    itemsChanged = Signal(list, list)    # new items, ids of items that changed
    message = Signal(object)             # a CookMessage: an error or a warning
    itemsForgotten = Signal(list)        # nodes whose items the last cook no longer shows
    cookFinished = Signal(object)        # the CookResult

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine: Engine | None = None
        self.items: list[WorkItem] = []                 # every item of the cook, in order
        self.counts: dict[str, Counter] = {}            # node -> state name -> count
        self._seen: dict[int, str] = {}                 # item id -> state counted
        self._lock = threading.Lock()
        self._new: list[WorkItem] = []
        self._changed: dict[int, WorkItem] = {}
        self._messages: list[CookMessage] = []
        self._finished: CookResult | None = None
        self._timer = QTimer(self, interval=FLUSH_MS)
        self._timer.timeout.connect(self.flush)

    @property
    def cooking(self) -> bool:
        return self.engine is not None and self.engine.result is None

    def start(self, network: Network, upto: str | None = None, scheduler=None,
              resume: bool = False) -> Engine:
        """Cook on a background thread (raises CookError before starting when it cannot).
        ``scheduler``, when given, cooks every node (as ``schedcore cook --scheduler``);
        ``resume`` goes on from the journal of the last cook."""
        from schedcore.engine import Engine  # with the first cook, not with the window

        engine = Engine(network, upto=upto, scheduler=scheduler, resume=resume)
        self.engine = engine
        self.items, self.counts, self._seen = [], {}, {}
        self._new, self._changed, self._messages, self._finished = [], {}, [], None
        engine.events.subscribe(self._on_event)
        self._timer.start()
        self.cookStarted.emit()
        engine.start()
        return engine

    def reset(self) -> None:
        """Forget the last cook (another network is open); its end is handled first."""
        if self.cooking:
            return
        self.flush()
        self._timer.stop()
        self.engine = None
        self.items, self.counts, self._seen = [], {}, {}

    def cancel(self) -> None:
        if self.cooking:
            self.engine.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the cook is over (for closing the window)."""
        if self.engine is not None:
            self.engine.wait(timeout)

    # -- the engine thread: collect only ------------------------------------------------------
    def _on_event(self, event) -> None:
        with self._lock:
            if isinstance(event, ItemStateChanged):
                self._changed[event.item.id] = event.item
            elif isinstance(event, ItemAdded):
                self._new.append(event.item)
            elif isinstance(event, ItemChanged):
                self._changed[event.item.id] = event.item
            elif isinstance(event, CookMessage):
                self._messages.append(event)
            elif isinstance(event, CookFinished):
                self._finished = event.result

    # -- the GUI thread ------------------------------------------------------------------------
    def flush(self) -> None:
        with self._lock:
            new, self._new = self._new, []
            changed, self._changed = self._changed, {}
            messages, self._messages = self._messages, []
            finished, self._finished = self._finished, None
        if new or changed:
            self.items.extend(new)
            self._recount(new, changed)
            self.itemsChanged.emit(new, list(changed))
        for message in messages:
            self.message.emit(message)
        if finished is not None:
            self._timer.stop()
            self.cookFinished.emit(finished)

    def _recount(self, new: list[WorkItem], changed: dict[int, WorkItem]) -> None:
        """Counts by node and state, moved by what changed since the last flush."""
        for item in new:
            self.counts.setdefault(item.node, Counter())
        for item in [*new, *changed.values()]:
            state = item.state.name
            before = self._seen.get(item.id)
            if before == state:
                continue
            counts = self.counts.setdefault(item.node, Counter())
            if before is not None:
                counts[before] -= 1
                if not counts[before]:
                    del counts[before]
            counts[state] += 1
            self._seen[item.id] = state

    def forget_nodes(self, nodes: set[str]) -> None:
        """The items of ``nodes`` are no longer the last cook's (dirtied): not shown."""
        if self.cooking:
            return
        self.items = [item for item in self.items if item.node not in nodes]
        for node in nodes:
            self.counts.pop(node, None)
        self._seen = {item.id: state for item, state in
                      ((item, self._seen.get(item.id)) for item in self.items) if state}
        self.itemsForgotten.emit(sorted(nodes))

    def totals(self) -> Counter:
        total = Counter()
        for counts in self.counts.values():
            total.update(counts)
        return total

    @staticmethod
    def finished_count(totals: Counter) -> int:
        return sum(n for state, n in totals.items()
                   if WorkItemState[state].is_final or state == "Uncooked")
