"""What the Cook Viewer's timeline shows of a cook, without Qt: every item by id, what the
studio saw of each (when it was queued, started cooking and ended), and where each bar goes
(``lanes.Lanes``). It follows the bridge's batches from the cook's start, whether or not the
timeline is shown; until one is (it is made when its tab is first shown) it notes only what
the studio saw, and places the bars then.

``span_of`` is the one place that reads an item's times: the figures its job reported
(``item.usage``), else those the studio saw."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .lanes import Lanes, Span, critical_path

FINAL = frozenset({"CookedSuccess", "CookedCache", "CookedFail", "CookedCancel"})
RAN = frozenset({"CookedSuccess", "CookedFail"})  # final states of an item that surely ran
QUEUED = frozenset({"Scheduled"})  # handed to its scheduler: its wait starts
MARKS = {"CookedFail": 1, "CookedCancel": 2, "Cooking": 3}  # hatched, dashed, outlined


@dataclass(slots=True)
class Seen:
    """When the studio saw an item handed to its scheduler, start cooking and end (epoch
    seconds), and, for one first seen ended, when what it depends on was seen ended
    (``after``): the timeline's times for an item whose job reported none."""

    queued: float | None = None
    started: float | None = None
    ended: float | None = None
    after: float | None = None


def figure(item, name: str):
    """One of the figures the job reported of ``item`` (``item.usage.<name>``), or None."""
    usage = getattr(item, "usage", None)
    return None if usage is None else getattr(usage, name, None)


def lane_of(usage) -> str:
    """The lane that ran an item, from its ``usage``: its slot (with its host when the slot
    does not name it), else its host; "" when not known (the timeline then packs such items
    into numbered lanes)."""
    slot, host = getattr(usage, "slot", None), getattr(usage, "host", None)
    if slot:
        return str(slot) if not host or str(host) in str(slot) else f"{host} {slot}"
    return str(host) if host else ""


def span_of(item, seen: Seen | None = None) -> Span | None:
    """When and where ``item`` ran, or None when it has not started: the one place that
    reads an item's times. The figures its job reported (``item.usage``) come first; the
    times the studio saw (``seen``) fill in those missing: an item first seen ended started
    its ``cook_duration`` before, or when it was seen queued or its inputs seen ended, if
    later (the studio sees each batch late: its times, not the job's, place the bar among
    the others, after what it depends on)."""
    usage = getattr(item, "usage", None)
    if usage is None:
        started = ended = queued = None
        group = ""
    else:
        # its ItemUsage: start, end, and submit (its handing to the scheduler: the wait's
        # start)
        started, ended = getattr(usage, "start", None), getattr(usage, "end", None)
        queued, group = getattr(usage, "submit", None), lane_of(usage)
    state = item.state.name
    if seen is not None:
        queued = seen.queued if queued is None else queued
        if ended is None and state in FINAL:
            ended = seen.ended
        if started is None:
            if seen.started is not None:
                started = seen.started
            elif ended is not None:
                duration = getattr(item, "cook_duration", 0.0) or 0.0
                if state in RAN or duration > 0:
                    started = max([ended - duration] + [t for t in (queued, seen.after)
                                                        if t is not None])
    if started is None:
        return None
    if state in FINAL and ended is None:
        ended = started + (getattr(item, "cook_duration", 0.0) or 0.0)
    if ended is not None and ended < started:
        ended = started
    if queued is not None and queued > started:
        queued = None  # clocks of two machines: no wait rather than a wrong one
    return Span(float(started), None if ended is None else float(ended),
                None if queued is None else float(queued), group)


class CookSpans:
    """The timeline's record of one cook, fed with the bridge's batches."""

    def __init__(self, clock=time.time, placing: bool = True):
        self.clock = clock
        # while no timeline is shown only what the studio saw is noted (about a microsecond
        # an item); the bars are placed when one is (``place_all``)
        self.placing = placing
        self.clear()

    def clear(self) -> None:
        self.items: dict[int, object] = {}
        self._unplaced: dict[int, None] = {}  # ids of items changed while not placing
        self.seen: dict[int, Seen] = {}  # what the studio saw of items that cooked
        self.queued_at: dict[int, float] = {}  # when it saw them queued
        self.lanes = Lanes()
        self.nodes: dict[str, None] = {}  # the nodes of the cook's bars, in order of coming
        self._tags: dict[tuple[str, int], tuple[str, int]] = {}
        self._path: list[int] | None = None  # the critical path, until the items change
        self.path_index: tuple[list[float], list[int], float] = ([], [], 0.0)

    def add(self, items: list) -> None:
        """Items new to the cook."""
        for item in items:
            self.items[item.id] = item
        self._take(items)

    def changed(self, items: list) -> None:
        """Items whose state or usage changed."""
        for item in items:
            self.items[item.id] = item
        self._take(items)

    def changed_ids(self, ids) -> None:
        """Items known by id (the bridge's batch) whose state or usage changed."""
        self.changed([self.items[i] for i in ids if i in self.items])

    def _take(self, items: list) -> None:
        now = self.clock()
        states = [item.state.name for item in items]
        noted = [self._note_state(item, state, now) for item, state in zip(items, states,
                                                                         strict=True)]
        for item, seen in zip(items, noted, strict=True):
            if seen is not None and seen.started is None and seen.after is None \
                    and getattr(item, "cook_duration", 0.0):
                seen.after = self._inputs_ended(item)  # every state of the batch noted
        if self.placing:
            self._place(items, states, noted)
        else:  # placed when the timeline is first shown
            self._unplaced.update(dict.fromkeys(item.id for item in items))

    def place_all(self) -> None:
        """Place from now on, and every item recorded so far (the timeline is shown)."""
        self.placing = True
        items = [self.items[i] for i in self._unplaced]
        self._unplaced = {}
        self._place(items, [item.state.name for item in items],
                    [self.seen.get(item.id) for item in items])

    def _place(self, items: list, states: list[str], noted: list[Seen | None]) -> None:
        placed = []
        for item, state, seen in zip(items, states, noted, strict=True):
            # nothing seen of it cooking and nothing reported: no span (as span_of would say),
            # the quick way for the many items a big cook queues at once
            span = None if seen is None and getattr(item, "usage", None) is None \
                else span_of(item, seen)
            if span is not None:
                placed.append((span, item, state))
            elif item.id in self.lanes.spans:  # queued again (a retry): not running now
                self.lanes.remove(item.id)
        placed.sort(key=lambda entry: entry[0].started)  # in order, items pack into few rows
        for span, item, state in placed:
            self.lanes.put(item.id, span, self._tag(str(item.node), MARKS.get(state, 0)))
        self._path = None

    def _inputs_ended(self, item) -> float | None:
        """When the studio saw the last of the items ``item`` depends on end."""
        inputs = (self.seen.get(d.id) for d in getattr(item, "dependencies", ()))
        ends = [seen.ended for seen in inputs if seen is not None and seen.ended is not None]
        return max(ends, default=None)

    def _note_state(self, item, state: str, now: float) -> Seen | None:
        """What the studio saw: when the item was queued, started cooking and ended (the
        last time round, for an item cooked again); None before it cooks."""
        item_id = item.id
        seen = self.seen.get(item_id)
        if state in QUEUED:
            if seen is not None or item_id not in self.queued_at:
                self.queued_at[item_id] = now
                self.seen.pop(item_id, None)
            return None
        if state == "Cooking":
            if seen is None or seen.ended is not None:
                seen = self.seen[item_id] = Seen(self.queued_at.get(item_id), now)
        elif state in FINAL:
            if seen is None:
                seen = self.seen[item_id] = Seen(self.queued_at.get(item_id), None, now)
            elif seen.ended is None:
                seen.ended = now
        elif seen is not None or item_id in self.queued_at:  # waiting again: to cook again
            self.seen.pop(item_id, None)
            self.queued_at.pop(item_id, None)
            return None
        return seen

    def _tag(self, node: str, mark: int) -> tuple[str, int]:
        """What a paint needs of an item, kept in its row: its node and its mark (one tuple
        for every item of a node alike)."""
        tag = self._tags.get((node, mark))
        if tag is None:
            tag = self._tags[node, mark] = (node, mark)
            self.nodes.setdefault(node, None)
        return tag

    def critical_path(self) -> list[int]:
        """The ids of the critical path, first to last (see ``lanes.critical_path``); kept
        until the items change, with ``path_index``: its starts and ids by start, and its
        longest item, for a paint to find the part of it in view."""
        if self._path is None:
            def dependencies(item_id: int):
                item = self.items.get(item_id)
                return [d.id for d in getattr(item, "dependencies", ()) or ()]
            self._path = critical_path(self.lanes.spans, dependencies, self.lanes.last_ended)
            now = self.clock()
            spans = sorted((self.lanes.spans[i].started, i) for i in self._path)
            longest = max(((self.lanes.spans[i].ended or now) - s for s, i in spans),
                          default=0.0)
            self.path_index = ([s for s, _ in spans], [i for _, i in spans], longest)
        return self._path
