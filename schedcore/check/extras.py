"""Scenarios of cancel, priorities, shared servers and Submit As Job."""

from __future__ import annotations

import json
import time

from .. import submit
from ..errors import SchedcoreError
from ..schedulers import Scheduler
from . import jobs
from .probe import Probe
from .scenario import Context, Fail, NotSupported, S, Scenario, expect, healthy


def cancel(ctx: Context) -> None:
    def cancel_once_running(cook):
        if cook.runs.starts():
            cook.cancel()
    cook = ctx.cook([{"name": "long", "type": "genericgenerator",
                      "parms": {"itemcount": 3,
                                "command": jobs.command("--sleep", "600", "--child")}}],
                    during=cancel_once_running)
    healthy(cook, errors_allowed=True)
    if cook.canceled_at is None:
        raise Fail("the cook ended before any job started; its jobs sleep 600 s")
    if not [c for c in cook.probe.called("onStopCook") if c[1] and c[1][0] is True]:
        raise Fail("onStopCook(cancel=True) was not called after the cancel")
    for item in cook.items():
        if item.state != S.CookedCancel:
            raise Fail(f"item {item.name} ended {item.state.name} after the cancel; expected "
                       f"CookedCancel", cook.probe.where("onStopCook"))


def priorities(ctx: Context) -> None:
    cook = ctx.cook([
        {"name": f"p{p}", "type": "genericgenerator",
         "parms": {"itemcount": 2, "priority": p, "command": jobs.command("--sleep", "0.3")}}
        for p in (0, 5, 10)])
    healthy(cook)
    expect(cook, {"p0": 2, "p5": 2, "p10": 2}, dict.fromkeys(("p0", "p5", "p10"), S.CookedSuccess))
    starts = sorted(cook.runs.starts(), key=lambda r: r["t"])
    width = _concurrency(cook.runs.records())
    priority = {r["item"]: int(r["item"].split("_")[0][1:]) for r in starts}
    for n, record in enumerate(starts):
        below = [r["item"] for r in starts[:n] if priority[r["item"]] < priority[record["item"]]]
        if len(below) >= width:
            order = ", ".join(r["item"] for r in starts)
            raise Fail(f"{record['item']} (priority {priority[record['item']]}) started after "
                       f"{', '.join(below)} of lower priority with {width} job(s) at once; "
                       f"start order: {order}")
    ctx.notes.append(f"{width} job(s) at once")


def _concurrency(records: list[dict]) -> int:
    """The most jobs that ran at once, from their starts and ends."""
    events = sorted((r["t"], 1 if r["event"] == "start" else -1) for r in records)
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return max(1, peak)


SEND = "work_item.setIntAttrib('sent', work_item.index + 1)\n"


def shared_server(ctx: Context) -> None:
    cook = ctx.cook([
        {"name": "server", "type": "pythonserver", "parms": {"sessions": 2}},
        {"name": "send", "type": "commandsend", "inputs": ["server"],
         "parms": {"script": SEND}},
        {"name": "end", "type": "commandserverend", "inputs": ["send"]},
    ])
    healthy(cook)
    expect(cook, {"server": 3, "send": 2, "end": 1},
           {"server": S.CookedSuccess, "send": S.CookedSuccess, "end": S.CookedSuccess})
    for item in cook.items("send"):
        if item.attribValue("sent") != item.index + 1:
            raise Fail(f"{item.name}: the command sent to the shared server did not set its "
                       f"attribute")


def submit_as_job(ctx: Context) -> None:
    path = _submit_network(ctx)
    instance = ctx.target.cls.create(ctx.target.spec.name, ctx.target.spec.values(),
                                     str(ctx.folder))
    instance.parms.set("pdg_workingdir", str(ctx.folder))
    if getattr(ctx.target.cls, "submitAsJob", None) is Scheduler.submitAsJob:
        ctx.notes.append("it defines no submitAsJob: the base class's default ran (a "
                         "`schedcore cook` started on this machine, not on its farm)")
    probe = Probe()
    probe.attach(instance)
    instance.setWorkingDir(str(ctx.folder), str(ctx.folder))
    try:
        uri = instance.submitAsJob(path.name, "")
    except Exception as exc:
        problem = probe.problems[-1] if probe.problems else None
        raise Fail(f"submitAsJob raised {type(exc).__name__}: {exc}",
                   problem.where if problem else None) from None
    if not uri:
        raise NotSupported("submitAsJob returned \"\"")
    uri = uri[0] if isinstance(uri, tuple | list) else uri
    status = _follow(str(uri), 4 * ctx.timeout)
    if status.get("state") != "finished" or not status.get("ok"):
        errors = "; ".join(map(str, status.get("errors") or [])) or json.dumps(status)[:200]
        raise Fail(f"the submitted cook ({uri}) did not cook: {status.get('state')}: {errors}",
                   probe.where("submitAsJob"))


def _submit_network(ctx: Context):
    """A network the submitted job cooks with a Local Scheduler: the job needs no type that
    only this process has loaded."""
    ctx.folder.mkdir(parents=True, exist_ok=True)
    jobs.write_script(ctx.folder)
    path = ctx.folder / "submitted.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1, "default_scheduler": "local",
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {}}],
        "nodes": [{"name": "ok", "type": "genericgenerator", "inputs": [],
                   "parms": {"command": jobs.command()}}]}), encoding="utf-8")
    return path


def _follow(uri: str, timeout: float) -> dict:
    """The submitted cook's last status, once over or after ``timeout`` seconds (when its
    process is stopped)."""
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            status = submit.read_status(uri)
        except SchedcoreError as exc:
            status = {"state": "unreadable", "errors": [str(exc)]}
        if status.get("state") not in ("queued", "cooking", "unreadable"):
            return status
        time.sleep(0.2)
    pid = status.get("pid")
    if isinstance(pid, int):
        jobs.kill(_process(pid))
    status["errors"] = [f"still {status.get('state')} after {timeout:g} s"]
    return status


def _process(pid: int) -> list:
    import psutil
    try:
        return [psutil.Process(pid)]
    except psutil.Error:
        return []


EXTRAS = [
    Scenario("cancel", "cancel mid-cook: jobs and their children gone, items canceled",
             cancel),
    Scenario("priorities", "higher priority items start first", priorities, optional=True),
    Scenario("shared-server", "a shared server, commands sent to it, its end", shared_server,
             optional=True),
    Scenario("submit-as-job", "Submit As Job: the network cooked as one job", submit_as_job,
             optional=True),
]
