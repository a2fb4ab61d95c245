"""What every scenario shares: how it fails, and the checks most of them make of a cook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..workitem import WorkItemState
from . import cook as cooking
from .cook import GRACE, Cook, no_job_started
from .probe import Where
from .target import Target

S = WorkItemState


class Fail(Exception):
    """The scenario failed: ``reason`` in words, ``where`` the callback and line;
    ``no_jobs``: no job of its cook ever started (every later scenario would wait as long)."""

    def __init__(self, reason: str, where: Where | None = None, no_jobs: bool = False):
        super().__init__(reason)
        self.reason, self.where, self.no_jobs = reason, where, no_jobs


class NotSupported(Exception):
    """The scheduler does not do what the scenario needs (for an optional scenario)."""


@dataclass
class Context:
    target: Target
    folder: Path
    timeout: float
    notes: list[str]

    @property
    def period(self) -> float:
        """The target's tick period (what its jobs are sized by)."""
        try:
            return max(0.01, float(self.target.spec.parms.get("pdg_tickperiod", 0.5)))
        except (TypeError, ValueError):
            return 0.5

    def cook(self, nodes: list[dict], static: bool = False, during=None,
             before_stop_cook=None) -> Cook:
        path = cooking.write_network(self.folder, self.target, nodes)
        return cooking.run(path, self.timeout, static, during, before_stop_cook)


@dataclass
class Scenario:
    name: str
    title: str
    run: Callable[[Context], None]
    optional: bool = False


def short(text: str) -> str:
    """A reason on one line: a traceback's first and last lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def healthy(cook: Cook, errors_allowed: bool = False) -> None:
    """What no cook may do: callbacks that raise or answer outside their enums (named with
    their line), items nothing reports, a cook that does not end, processes left running,
    cook errors."""
    if cook.probe.problems:  # the cause of what follows, most often
        problem = cook.probe.problems[0]
        raise Fail(f"{problem.where.callback} {problem.text}", problem.where)
    if cook.hung:
        raise Fail(cook.hung, cook.probe.where("onStopCook"))
    if cook.stuck:
        raise Fail(cook.stuck, cook.probe.where(cook.stuck_in), no_jobs=no_job_started(cook))
    if cook.leftovers:
        stops = cook.probe.called("onStopCook")
        how = f"onStopCook(cancel={stops[-1][1][0]!r})" if stops and stops[-1][1] \
            else "the cook's end"
        shown = ", ".join(cook.leftovers[:3]) + (", ..." if len(cook.leftovers) > 3 else "")
        raise Fail(f"{len(cook.leftovers)} processes of its jobs still ran {GRACE:g} s after "
                   f"{how} returned: {shown}; onStopCook must stop every job with its "
                   f"children and return once they are gone", cook.probe.where("onStopCook"))
    errors = cook.result.errors if cook.result else []
    if errors and not errors_allowed:
        raise Fail(f"the cook failed: {short(errors[0])}")


def expect(cook: Cook, counts: dict[str, int], states: dict[str, S | Callable]) -> None:
    """Each node made ``counts[node]`` items, and each item ended once, in the state
    ``states[node]`` (a state, or a function of the item giving one)."""
    for node, count in counts.items():
        made = cook.items(node)
        if len(made) != count:
            raise Fail(f"node {node} made {len(made)} items; expected {count}")
    for item in cook.items():
        want = states.get(item.node)
        want = want(item) if callable(want) else want
        if want is not None and item.state != want:
            why = f" ({short(item.reason)})" if item.reason else ""
            raise Fail(f"item {item.name} ended {item.state.name}{why}; expected {want.name}")
        finals = cook.probe.finals.get(item.name, [])
        if len(finals) > 1:
            raise Fail(f"item {item.name} reached {len(finals)} final states: "
                       f"{', '.join(s.name for s in finals)}")


def ran_once(cook: Cook) -> None:
    """Every item that cooked ran its job once."""
    for item in cook.items():
        if item.state != S.CookedSuccess:
            continue
        starts = cook.runs.starts(item.name)
        if len(starts) > 1:
            raise Fail(f"item {item.name} ran {len(starts)} times (pids "
                       f"{', '.join(str(s['pid']) for s in starts)}): a scheduler starts one "
                       f"job per work item", cook.probe.where("onSchedule"))
