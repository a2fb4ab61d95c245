"""What the ``schedcore`` command shows with rich: its console, a cook's live progress and
summary, the types table. Imported by the commands that print this way, never by
``schedcore --version`` or ``--help`` (rich takes longer to import than they take to run)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .events import CookMessage, ItemAdded, ItemStateChanged
from .workitem import WorkItemState

if TYPE_CHECKING:
    from .cookstate import CookResult

__all__ = ["CookProgress", "Live", "OutputConsole", "Table", "Text", "escape", "summary",
           "to_devnull"]

REPORTED_LINES = 5  # lines of the text a failed item's job reported, in the summary

SHORT_NAMES = {
    "Waiting": "waiting", "Scheduled": "scheduled", "Cooking": "cooking",
    "CookedSuccess": "cooked", "CookedCache": "cached", "CookedFail": "failed",
    "CookedCancel": "canceled", "Uncooked": "not run",
}
STATE_STYLES = {
    "Waiting": "grey62", "Scheduled": "yellow", "Cooking": "cyan", "CookedSuccess": "green",
    "CookedCache": "dark_green", "CookedFail": "red", "CookedCancel": "magenta",
    "Uncooked": "grey42",
}


class OutputConsole(Console):
    """rich's console, but when the reader of the output goes away (``schedcore cook ... |
    head``) only the output ends: a cook runs to its end and exits with its status. rich
    would raise SystemExit, which on the engine's thread left a cook that never ended."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        to_devnull(self.file)


def to_devnull(stream) -> None:
    """What is left to write to ``stream`` goes nowhere: its reader went away."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def short_reason(item) -> str:
    """One line of why: a traceback's first and last lines."""
    lines = [line for line in item.reason.splitlines() if line.strip()] or ["failed"]
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1].strip()}"


class CookProgress:
    """Counts by state and a bar, redrawn by ``rich.live`` ten times a second; failures are
    printed as they happen. Fed by engine events (engine thread); only counters change there."""

    def __init__(self, console: Console):
        self.console = console
        self.counts: dict[WorkItemState, int] = dict.fromkeys(WorkItemState, 0)
        self.total = 0
        self.started = time.monotonic()

    def __call__(self, event) -> None:
        if isinstance(event, ItemStateChanged):
            self.counts[event.old] -= 1
            self.counts[event.new] += 1
            if event.new == WorkItemState.CookedFail:
                item = event.item
                log = item.log_file or item.log_uri
                self.console.print(f"[red]FAILED[/] {escape(item.name)}: "
                                   f"{escape(short_reason(item))}"
                                   + (f"\n       log: {escape(log)}" if log else ""),
                                   highlight=False)
        elif isinstance(event, ItemAdded):
            self.total += 1
            self.counts[event.state] += 1
        elif isinstance(event, CookMessage):
            style = "red" if event.level == "error" else "yellow"
            self.console.print(f"[{style}]{event.level}:[/] {escape(event.text)}",
                               highlight=False)

    def __rich__(self):
        done = sum(n for state, n in self.counts.items() if state.is_final
                   or state == WorkItemState.Uncooked)
        filled = 20 * done // max(self.total, 1)
        line = Text.assemble(
            ("cooking ", "bold"),
            ("━" * filled, "green" if done == self.total else "cyan"), ("━" * (20 - filled),
                                                                       "grey23"),
            f" {done}/{self.total} ", (f"{time.monotonic() - self.started:.1f}s  ", "grey62"),
            *((f"{SHORT_NAMES.get(state.name, state.name)} {n}  ",
               STATE_STYLES.get(state.name, "")) for state, n in self.counts.items() if n))
        line.no_wrap, line.overflow = True, "ellipsis"  # one line, cut when narrow
        return line


def summary(result: CookResult, console: Console) -> None:
    table = Table(title="Cook summary", title_justify="left", show_edge=False)
    table.add_column("node")
    states = [s for s in WorkItemState if any(i.state == s for i in result.items)]
    for state in states:
        table.add_column(state.name, justify="right", style=STATE_STYLES.get(state.name))
    per_node: dict[str, dict] = {}
    for item in result.items:
        per_node.setdefault(item.node, dict.fromkeys(states, 0))[item.state] += 1
    for node, counts in per_node.items():
        table.add_row(Text(node), *(str(counts[s] or "") for s in states))
    if not per_node and result.errors and not result.canceled:
        # nothing cooked: the errors were just printed, as they came
        console.print(f"[red]the cook failed[/]: {len(result.errors)} error"
                      f"{'s' * (len(result.errors) != 1)}, no items", highlight=False)
        return
    if per_node:
        console.print(table)
    for item in result.failed:
        console.print(f"[red]failed[/] {escape(item.name)}: {escape(item.reason)}",
                      highlight=False)
        if item.log_uri:
            console.print(f"       log: {escape(item.log_file or item.log_uri)}",
                          highlight=False)
        reported = item.log.strip().splitlines()[-REPORTED_LINES:]
        if reported:  # what the job said through the result server, beside its log file
            console.print("\n".join(f"       | {escape(line)}" for line in reported),
                          highlight=False)
    not_run = result.not_run
    for item in not_run[:10]:
        console.print(f"[grey62]not run[/] {escape(item.name)}: {escape(item.reason)}",
                      highlight=False)
    if len(not_run) > 10:
        console.print(f"... and {len(not_run) - 10} more items not run")
    for error in result.errors:
        console.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
    verdict = ("[magenta]canceled[/]" if result.canceled else
               "[green]every item cooked[/]" if result.ok else "[red]the cook failed[/]")
    console.print(f"{verdict}: {sum(result.counts.values())} items", highlight=False)
