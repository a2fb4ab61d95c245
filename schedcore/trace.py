"""A cook's trace: one row per item, in the columns Nextflow's trace file uses.

``entries_of`` reads them from a finished cook's result, ``entries_of_journal`` from the
journal of the last cook of a network (``schedcore trace``); ``write_trace`` writes the
tab-separated file (atomically). Values are formatted as Nextflow formats them (times
``2026-01-31 13:05:09.123``, durations ``1m 3s``, ``%cpu`` ``98.5%``, memory ``1.2 GB``) and
"-" stands for what nobody measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import journal as journal_file
from .network import write_atomic
from .usage import ItemUsage, UsageError, usage_of
from .workitem import WorkItemState

S = WorkItemState

COLUMNS = ("task_id", "native_id", "name", "process", "status", "exit", "submit", "start",
           "complete", "duration", "realtime", "%cpu", "peak_rss", "attempt", "hostname",
           "slot")

# a finished cook's states in Nextflow's words (an item that never ran was never submitted)
STATUS = {S.CookedSuccess: "COMPLETED", S.CookedCache: "CACHED", S.CookedFail: "FAILED",
          S.CookedCancel: "ABORTED", S.Cooking: "RUNNING", S.Scheduled: "SUBMITTED",
          S.Waiting: "NEW", S.Uncooked: "NEW", S.Dirty: "NEW", S.Undefined: "NEW"}


@dataclass(frozen=True, slots=True)
class ItemTrace:
    """One item as a trace, a report and the cook history see it."""

    id: int
    name: str
    node: str
    state: WorkItemState
    usage: ItemUsage
    reason: str = ""
    log_uri: str = ""
    log: str = ""  # what was reported to the cook for it (its log when it has no file)

    @property
    def duration(self) -> float | None:
        """Seconds from its handing to the scheduler to its end (Nextflow's duration)."""
        usage = self.usage
        if usage.submit is None or usage.end is None:
            return usage.realtime
        return max(0.0, usage.end - usage.submit)


def entries_of(result: Any) -> list[ItemTrace]:
    """The items of a cook's result (``CookResult``), in id order."""
    timeline = getattr(result, "timeline", None)
    return [ItemTrace(item.id, item.name, str(item.node), item.state,
                      usage_of(item, timeline), item.reason, item.log_uri, item.log)
            for item in sorted(result.items, key=lambda i: i.id)]


def entries_of_journal(path: str | Path) -> list[ItemTrace]:
    """The items the journal at ``path`` recorded as they ended, the last row of each
    winning (a resumed cook's rows follow the earlier cook's); [] when it has none. Rows
    written before journals kept usage give their items without it."""
    ended: dict[int, dict] = {}
    for kind, text in journal_file.rows(path, ("state", "usage")):
        try:
            data = json.loads(text)
            item_id = data["id"]
        except (ValueError, KeyError, TypeError):
            continue  # a row of a journal that kept no ids: nothing to place it by
        if not isinstance(item_id, int) or not isinstance(data, dict):
            continue
        if kind == "state":
            ended[item_id] = data
        elif item_id in ended:
            ended[item_id] = {**ended[item_id], "usage": data.get("usage")}
    return [entry for item_id, data in sorted(ended.items())
            if (entry := _entry(item_id, data)) is not None]


def _entry(item_id: int, data: dict) -> ItemTrace | None:
    try:
        state = WorkItemState[data["state"]]
        node = str(data["node"])
    except (KeyError, TypeError):
        return None
    if not state.is_final:
        return None
    try:
        measured = ItemUsage.from_json(data.get("usage") or {})
    except UsageError:
        measured = ItemUsage()
    times = data.get("t")
    cook = ItemUsage()
    if isinstance(times, list) and len(times) == 3 \
            and all(t is None or isinstance(t, int | float) for t in times):
        handed, started, ended = (None if t is None else t / 1000 for t in times)
        cook = ItemUsage(submit=handed, start=started, end=ended)
    return ItemTrace(item_id, f"{node}_{item_id}", node, state, cook.merged(measured),
                     str(data.get("reason", "")))


# == formats (Nextflow's) ================================================================
def format_time(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    millis = int(round((epoch % 1) * 1000)) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) + f".{millis:03d}"


def format_duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m 5s``, ``2h 3m 4s``, ``1d 2h 3m 4s``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{int(round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size or parts:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    parts.append(f"{whole}s")
    return " ".join(p for p in parts if not p.startswith("0") or p == parts[-1])


def format_memory(size: int | None) -> str:
    """``512 B``, ``12.5 MB``, ``1.2 GB`` (units of 1024, as Nextflow writes them)."""
    if size is None:
        return "-"
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    text = f"{value:.1f}".removesuffix(".0") if unit != "B" else str(int(value))
    return f"{text} {unit}"


def cpu_percent(usage: ItemUsage) -> float | None:
    """CPU seconds over the seconds the job ran, in percent (200% is two cores busy)."""
    cpu, real = usage.cpu, usage.realtime
    if cpu is None or not real:
        return None
    return 100.0 * cpu / real


def exit_status(usage: ItemUsage) -> str:
    """The exit code; a job killed by signal N is 128+N, as a shell says it."""
    if usage.exit_code is not None:
        return str(usage.exit_code)
    if usage.signal is not None:
        return str(128 + usage.signal)
    return "-"


def row(entry: ItemTrace) -> list[str]:
    usage = entry.usage
    percent = cpu_percent(usage)
    return [str(entry.id), usage.native_id or "-", entry.name, entry.node,
            STATUS.get(entry.state, entry.state.name), exit_status(usage),
            format_time(usage.submit), format_time(usage.start), format_time(usage.end),
            format_duration(entry.duration), format_duration(usage.realtime),
            "-" if percent is None else f"{percent:.1f}%", format_memory(usage.peak_rss),
            "-" if usage.attempt is None else str(usage.attempt), usage.host or "-",
            usage.slot or "-"]


def _cell(text: str) -> str:
    """Tabs and line ends would split a row: spaces in their place."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def trace_text(entries: Iterable[ItemTrace]) -> str:
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(_cell(c) for c in row(entry)) for entry in entries]
    return "\n".join(lines) + "\n"


def write_trace(path: str | Path, entries: Sequence[ItemTrace]) -> None:
    """Write the trace to ``path`` atomically (a failure leaves the old file intact)."""
    write_atomic(Path(path), trace_text(entries))
