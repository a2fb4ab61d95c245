"""One cook of a kit network, bounded: watched for items nothing reports, callbacks that do not
return and a cancel that does not end the cook; every process of its jobs stopped afterwards."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import network as network_file
from .. import process
from ..cookstate import CookResult
from ..engine import Engine
from . import jobs
from .probe import Probe
from .target import Target

MIN_TICKS = 3   # an item is lost only after this many ticks too (a loaded machine is slow)
GRACE = 2.0     # seconds a job's processes may take to go once onStopCook returned


@dataclass
class Cook:
    folder: Path
    engine: Engine
    probe: Probe
    runs: jobs.Runs
    timeout: float
    result: CookResult | None = None
    stuck: str | None = None        # why the kit canceled the cook
    stuck_in: str = "onTick"        # the callback that should have moved it on
    hung: str | None = None         # the cook did not end: the kit gave up on it
    leftovers: list[str] = field(default_factory=list)
    canceled_at: float | None = None

    def cancel(self) -> None:
        if self.canceled_at is None:
            self.canceled_at = time.monotonic()
            self.engine.cancel()

    def items(self, node: str | None = None) -> list:
        items = self.result.items if self.result else []
        return [i for i in items if node is None or i.node == node]


def write_network(folder: Path, target: Target, nodes: list[dict], **extra) -> Path:
    """The scenario's network beside its job script: the target's node as the default
    scheduler, so that the file cooks by hand the same way (``schedcore cook FILE``)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs.write_script(folder)
    spec = target.spec.to_json()
    data = {"format": network_file.FORMAT, "version": network_file.VERSION,
            "default_scheduler": spec["name"], "schedulers": [spec, *extra.get("schedulers", [])],
            "nodes": [{"inputs": [], "parms": {}, **node} for node in nodes]}
    path = folder / "check.top.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def run(path: Path, timeout: float, static: bool = False, during=None,
        before_stop_cook=None) -> Cook:
    """Cook the network at ``path``; ``during(cook)`` is called while it cooks,
    ``before_stop_cook(cook, cancel)`` on the engine thread before onStopCook."""
    engine = Engine(network_file.load(path), static=static, workdir=str(path.parent),
                    journal=False)
    probe = Probe()
    for scheduler in engine.schedulers:
        probe.attach(scheduler)
    engine.events.subscribe(probe)
    cook = Cook(path.parent, engine, probe, jobs.Runs(path.parent), timeout)
    if before_stop_cook is not None:
        probe.before_stop_cook = lambda cancel: before_stop_cook(cook, cancel)
    engine.start()
    try:
        _watch(cook, during)
    finally:
        _clean_up(cook)
    return cook


def _watch(cook: Cook, during) -> None:
    engine, timeout = cook.engine, cook.timeout
    while engine.wait(0.05) is None:
        if during is not None and cook.stuck is None:
            during(cook)
        if cook.stuck is None:
            why = lost(cook)
            if why is not None:
                cook.stuck, cook.stuck_in = why
                cook.cancel()
        if cook.canceled_at is not None and time.monotonic() - cook.canceled_at > timeout:
            running = cook.probe.running
            cook.hung = (f"the cook did not end {timeout:g} s after it was canceled"
                         + (f": {running[0]} has not returned for "
                            f"{time.monotonic() - running[1]:.0f} s" if running else "")
                         + "; onStopCook(cancel=True) must stop the jobs and return")
            return
    cook.result = engine.result


def lost(cook: Cook) -> tuple[str, str] | None:
    """Why the cook cannot go on by itself, and the callback that should have moved it on,
    once nothing changed for ``timeout`` seconds and ``MIN_TICKS`` ticks; None while it
    may."""
    probe, now = cook.probe, time.monotonic()
    running = probe.running
    if running and now - running[1] > cook.timeout:
        return (f"{running[0]} has not returned for {now - running[1]:.0f} s: a callback "
                f"runs on the engine thread and must not block", running[0])
    since, ticks = probe.last_change
    if now - since < cook.timeout or probe.ticks - ticks < MIN_TICKS:
        return None
    flying = sorted(probe.in_flight().items(), key=lambda entry: entry[1])
    if flying:
        name, (start, start_ticks) = flying[0]
        news, callback = _job_news(cook, name)
        return (f"item {name} was scheduled {now - start:.0f} s ({probe.ticks - start_ticks} "
                f"ticks) ago and nothing reported it{news}", callback)
    live = probe.live()
    if not live:
        return None
    name = live[0]
    answers = probe.answers(name)
    if answers:
        return (f"item {name} has waited {now - since:.0f} s ({probe.ticks - ticks} ticks): "
                f"onSchedule answered {_name(answers[-1])} {len(answers)} times and never "
                f"took it", "onSchedule")
    busy = [c for c in probe.called("onTick") if _name(c[2]) == "SchedulerBusy"]
    return (f"item {name} has waited {now - since:.0f} s ({probe.ticks - ticks} ticks) and "
            f"onSchedule was never called for it"
            + (": onTick keeps answering SchedulerBusy" if busy else ""),
            "onTick" if busy else "onSchedule")


def _job_news(cook: Cook, name: str) -> tuple[str, str]:
    """What became of an item's job, and the callback to look at."""
    end = cook.runs.end_of(name)
    if end is not None:
        return (f"; its job ended {time.time() - end['t']:.0f} s ago with exit code "
                f"{end['code']}: does onTick poll its jobs and report their outcome "
                f"(workItemSucceeded / workItemFailed)?", "onTick")
    starts = cook.runs.starts(name)
    if starts:
        return f"; its job (pid {starts[-1]['pid']}) is still running", "onTick"
    return ("; its job never started: does onSchedule start work_item.command (or hand it "
            "to the farm)?", "onSchedule")


def no_job_started(cook: Cook) -> bool:
    """Items were scheduled and not one job of the cook ever started."""
    return bool(cook.probe.called("onSchedule")) and not cook.runs.records()


def _name(value) -> str:
    return getattr(value, "name", repr(value))


def _clean_up(cook: Cook) -> None:
    """Leave nothing running: the jobs' processes (said in ``leftovers`` when they outlived
    the cook's end by more than ``GRACE``), and reap the job processes the scheduler
    started and never waited for."""
    if cook.result is not None:
        found = _leftovers_after(cook, GRACE)
        cook.leftovers = [jobs.describe(p) for p in found]
        jobs.kill(found)
    marker = {process.MARKER: cook.engine.cook_id}
    if cook.hung or cook.stuck:
        jobs.kill(jobs.leftovers(cook.runs.pids(), marker))
    for scheduler in cook.engine.schedulers:
        _reap(scheduler)


def _leftovers_after(cook: Cook, grace: float) -> list:
    marker = {process.MARKER: cook.engine.cook_id}
    deadline = time.monotonic() + grace
    while True:
        found = jobs.leftovers(cook.runs.pids(), marker)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _reap(scheduler) -> None:
    """Wait for the ``Popen`` objects a scheduler keeps (in its attributes, dicts and lists),
    so that none is collected still running (it warns) or left a zombie."""
    for value in list(vars(scheduler).values()):
        members = value.values() if isinstance(value, dict) else \
            value if isinstance(value, list | tuple) else (value,)
        for member in list(members):
            if isinstance(member, subprocess.Popen):
                try:
                    member.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill_tree(member)
