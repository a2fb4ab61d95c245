"""Where the timeline puts each work item, without Qt: the items' spans packed into rows (a
slot, a worker or a host, and more rows of it when its items overlap), each row sorted by
start, so what a time window shows is two binary searches away however many items there are.

In a row no two spans overlap and the starts increase (strictly, but for items of no length at
one instant: the many a node makes and cooks at once in the cook's own process share a row),
so the ends increase too: the first item that reaches a window is a search on the ends, the
last a search on the starts. An item still running (no end yet) is always the last of its
row, as nothing can start after it there until it ends."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import NamedTuple

RUNNING = math.inf  # the end of an item still running, in a row's ``ends``
GAP_SEARCH_ROWS = 32  # an item that comes late looks for a gap in this many rows at most


class Span(NamedTuple):  # a tuple: made for every item that changes, it must be cheap
    """When an item ran, and where: ``group`` is the slot or host that ran it ("" when not
    known); ``ended`` is None while it runs; ``queued`` is when it was handed to its
    scheduler, when known."""

    started: float
    ended: float | None = None
    queued: float | None = None
    group: str = ""


def follows(start: float, end: float, started: float, ended: float) -> bool:
    """Whether an item of ``started``..``ended`` may come after one of ``start``..``end`` in
    a row: after its end and its start, or at the same instant when both have no length."""
    return end <= started and (start < started or start == end == started == ended)


class Row:
    """One line of the chart: the items of one group that never overlap, by start."""

    __slots__ = ("group", "number", "serial", "key", "place", "starts", "ends", "ids",
                 "queued", "tags")

    def __init__(self, group: str, number: int, serial: int, key: tuple[int, int]):
        self.group = group
        self.number = number  # 1 for the group's first row, 2 for its second...
        self.serial = serial  # the order it was made in, among every row
        self.key = key  # where it shows: (the group's order of coming, number)
        self.place = 0  # its index in Lanes.rows
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.ids: list[int] = []
        self.queued: list[float | None] = []
        self.tags: list[object] = []  # what the owner keeps of each item for painting it

    @property
    def label(self) -> str:
        if not self.group:
            return f"lane {self.number}"
        return self.group if self.number == 1 else f"{self.group} ({self.number})"

    def free_from(self) -> float:
        return self.ends[-1] if self.ends else -math.inf

    def index_of(self, item_id: int, started: float) -> int:
        index = bisect_left(self.starts, started)
        while index < len(self.ids) and self.starts[index] == started:
            if self.ids[index] == item_id:
                return index
            index += 1
        return self.ids.index(item_id)  # not reached while the starts are what was placed

    def fits(self, started: float, ended: float) -> int | None:
        """Where an item of these times goes in this row without overlapping, or None."""
        index = bisect_right(self.starts, started)
        if index and not follows(self.starts[index - 1], self.ends[index - 1], started, ended):
            return None
        if index < len(self.starts) and (self.starts[index] <= started
                                         or self.starts[index] < ended):
            return None
        return index

    def window(self, t0: float, t1: float) -> tuple[int, int]:
        """The indices [lo, hi) of the items that reach into [t0, t1]."""
        return bisect_left(self.ends, t0), bisect_right(self.starts, t1)


class Lanes:
    """Every placed item's span and row; rows in the order they show."""

    def __init__(self) -> None:
        self.spans: dict[int, Span] = {}
        self.row_of: dict[int, Row] = {}
        self.rows: list[Row] = []  # in the order they show: by group, then number
        self.made: list[Row] = []  # in the order they were made (Row.serial)
        self.groups: dict[str, list[Row]] = {}
        self._free: dict[str, list[tuple[float, int]]] = {}  # group -> heap of (free from, row)
        self._latest: dict[str, float] = {}  # group -> the latest start placed in it
        self.running: set[int] = set()
        self.origin: float | None = None  # the earliest time of any span
        self.last_end = -math.inf
        self.last_ended: int | None = None  # the item that ended last
        self.changed_rows = False  # rows were added since the owner last looked

    def __len__(self) -> int:
        return len(self.spans)

    # -- placing -----------------------------------------------------------------------------
    def put(self, item_id: int, span: Span, tag: object = None) -> None:
        """Place the item (again, where its span changed); ``tag`` is kept beside it in its
        row (``Row.tags``), for whoever paints the row."""
        old = self.spans.get(item_id)
        if old is not None:
            if old.started == span.started and old.group == span.group \
                    and self._end_in_place(item_id, old, span, tag):
                self._note(item_id, span)
                return
            self.remove(item_id)
        self._place(item_id, span, tag)
        self._note(item_id, span)

    def remove(self, item_id: int) -> None:
        span = self.spans.pop(item_id, None)
        if span is None:
            return
        row = self.row_of.pop(item_id)
        index = row.index_of(item_id, span.started)
        for values in (row.starts, row.ends, row.ids, row.queued, row.tags):
            del values[index]
        self.running.discard(item_id)
        heapq.heappush(self._free[row.group], (row.free_from(), row.serial))
        if item_id == self.last_ended:
            self._find_last_ended()

    def _end_in_place(self, item_id: int, old: Span, span: Span, tag: object) -> bool:
        """A new end (and wait, and tag) for a placed item, where it still fits between its
        neighbours."""
        row = self.row_of[item_id]
        index = row.index_of(item_id, old.started)
        end = RUNNING if span.ended is None else span.ended
        if index + 1 < len(row.starts) and end > row.starts[index + 1]:
            return False
        row.ends[index], row.queued[index], row.tags[index] = end, span.queued, tag
        if old.ended == span.ended:
            return True
        if index + 1 == len(row.ends):
            heapq.heappush(self._free[row.group], (end, row.serial))
        return True

    def _place(self, item_id: int, span: Span, tag: object) -> None:
        end = RUNNING if span.ended is None else span.ended
        rows = self.groups.get(span.group)
        if rows is None:
            rows = self.groups[span.group] = []
            self._free[span.group] = []
        row, index = self._fitting_row(span.group, rows, span.started, end)
        if row is None:
            row = Row(span.group, len(rows) + 1, len(self.made),
                      (len(self._free) - 1 if not rows else rows[0].key[0], len(rows) + 1))
            # under the group's last row: the end, for the group that came last
            at = rows[-1].place + 1 if rows else len(self.rows)
            rows.append(row)
            self.made.append(row)
            self.rows.insert(at, row)
            for place in range(at, len(self.rows)):
                self.rows[place].place = place
            self.changed_rows = True
            index = 0
        self._latest[span.group] = max(span.started, self._latest.get(span.group, -math.inf))
        row.starts.insert(index, span.started)
        row.ends.insert(index, end)
        row.ids.insert(index, item_id)
        row.queued.insert(index, span.queued)
        row.tags.insert(index, tag)
        self.row_of[item_id] = row
        if index + 1 == len(row.ends):
            heapq.heappush(self._free[span.group], (end, row.serial))

    def _fitting_row(self, group: str, rows: list[Row], started: float,
                     end: float) -> tuple[Row | None, int]:
        """The row that is free soonest, when it is free by ``started``; else a gap in one of
        the group's first rows (an item that came late); else none."""
        heap = self._free[group]
        while heap:
            free_from, at = heap[0]
            row = self.made[at]
            if row.free_from() != free_from:
                heapq.heappop(heap)  # an entry from before the row changed
                continue
            if not row.starts or follows(row.starts[-1], free_from, started, end):
                heapq.heappop(heap)
                return row, len(row.starts)
            break
        latest = self._latest.get(group, math.inf)
        if started > latest or (started == latest and started != end):
            return None, 0  # no row has a gap before a start as late as the latest
        for row in rows[:GAP_SEARCH_ROWS]:
            index = row.fits(started, end)
            if index is not None:
                return row, index
        return None, 0

    def _note(self, item_id: int, span: Span) -> None:
        self.spans[item_id] = span
        first = span.started if span.queued is None else min(span.queued, span.started)
        if self.origin is None or first < self.origin:
            self.origin = first
        if span.ended is None:
            self.running.add(item_id)
            return
        self.running.discard(item_id)
        if span.ended >= self.last_end:
            self.last_end, self.last_ended = span.ended, item_id
        elif item_id == self.last_ended:  # the last one ended earlier after all
            self._find_last_ended()

    def _find_last_ended(self) -> None:
        ended = [(s.ended, i) for i, s in self.spans.items() if s.ended is not None]
        self.last_end, self.last_ended = max(ended) if ended else (-math.inf, None)

    # -- reading ------------------------------------------------------------------------------
    def extent(self, now: float) -> tuple[float, float] | None:
        """The earliest and latest time of the cook so far (now, while items run)."""
        if self.origin is None:
            return None
        end = max(self.last_end, now if self.running else -math.inf, self.origin)
        return self.origin, end


def critical_path(spans: dict[int, Span],
                  dependencies: Callable[[int], Iterable[int]],
                  last: int | None = None) -> list[int]:
    """The chain of items that made the cook as long as it was, first to last: from the item
    that ended last, back through the dependency of each that ended last, while one ran."""
    if last is None:
        ended = [(s.ended, i) for i, s in spans.items() if s.ended is not None]
        if not ended:
            return []
        last = max(ended)[1]
    path, on_path = [last], {last}
    while True:
        before = [(spans[d].ended, d) for d in dependencies(path[-1])
                  if d in spans and spans[d].ended is not None and d not in on_path]
        if not before:
            return path[::-1]
        path.append(max(before, key=lambda pair: (pair[0] or 0.0, pair[1]))[1])
        on_path.add(path[-1])
