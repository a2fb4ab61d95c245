"""Figures of a cook by node: counts, failures, durations, CPU and memory (for the HTML
report and the cook history)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .trace import ItemTrace
from .workitem import WorkItemState

S = WorkItemState


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """One node's items in one cook. Durations are the seconds its jobs ran (``realtime``:
    start to end; items cooked without a job have none)."""

    node: str
    count: int
    failed: int
    canceled: int
    not_run: int
    p50: float | None
    p95: float | None
    max: float | None
    cpu: float  # CPU seconds of its jobs, summed
    peak_rss: int | None  # the largest of its jobs', in bytes
    total: float  # seconds its jobs ran, summed

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def node_figures(entries: Iterable[ItemTrace]) -> list[NodeFigures]:
    """Each node's figures, in the order its first item comes."""
    by_node: dict[str, list[ItemTrace]] = {}
    for entry in entries:
        by_node.setdefault(entry.node, []).append(entry)
    return [_figures(node, items) for node, items in by_node.items()]


def figures_of_result(result: Any) -> list[NodeFigures]:
    """``node_figures`` of a cook's result (``figures_of_items`` of its items)."""
    return figures_of_items(result.items, getattr(result, "timeline", None))


def figures_of_items(items: Iterable[Any], timeline: Any = None) -> list[NodeFigures]:
    """``node_figures`` of work items (a cook's, or some of them, also while it cooks), read
    without a record each (a cook of a million items computes them as it ends); ``timeline``
    is the cook's times of its items (``usage.Timeline``), for items without a job's own."""
    rows: dict[str, list] = {}  # node -> [count, failed, canceled, not run, durations, cpu,
    for item in items:  # peaks]
        row = rows.get(item.node)
        if row is None:
            row = rows[item.node] = [0, 0, 0, 0, [], 0.0, []]
        row[0] += 1
        state = item.state
        if state is S.CookedFail:
            row[1] += 1
        elif state is S.CookedCancel:
            row[2] += 1
        elif not state.is_final:
            row[3] += 1
        usage = item.usage
        ran = usage.wall if usage is not None and usage.wall is not None \
            else timeline.ran(item.id) if timeline is not None else None
        if ran is not None:
            row[4].append(ran)
        if usage is not None:
            row[5] += usage.cpu or 0.0
            if usage.peak_rss is not None:
                row[6].append(usage.peak_rss)
    return [NodeFigures(node=str(node), count=count, failed=failed, canceled=canceled,
                        not_run=not_run, p50=percentile(durations, 0.5),
                        p95=percentile(durations, 0.95), max=max(durations, default=None),
                        cpu=cpu, peak_rss=max(peaks, default=None), total=sum(durations))
            for node, (count, failed, canceled, not_run, durations, cpu, peaks)
            in rows.items()]


def _figures(node: str, items: list[ItemTrace]) -> NodeFigures:
    durations = [d for e in items if (d := e.usage.realtime) is not None]
    peaks = [e.usage.peak_rss for e in items if e.usage.peak_rss is not None]
    return NodeFigures(
        node=node, count=len(items),
        failed=sum(e.state == S.CookedFail for e in items),
        canceled=sum(e.state == S.CookedCancel for e in items),
        not_run=sum(not e.state.is_final for e in items),
        p50=percentile(durations, 0.5), p95=percentile(durations, 0.95),
        max=max(durations, default=None),
        cpu=sum(e.usage.cpu or 0.0 for e in items),
        peak_rss=max(peaks, default=None), total=sum(durations))
