"""The scenarios every scheduler must pass: real jobs on this machine, in small networks."""

from __future__ import annotations

from pathlib import Path

from ..results import ScheduleResult
from . import jobs
from .scenario import Context, Fail, S, Scenario, expect, healthy, ran_once
from .uris import read_uris


def commands(ctx: Context) -> None:
    slow = min(2.0, max(0.6, 3 * ctx.period))  # a job that lasts several ticks
    cook = ctx.cook([
        {"name": "ok", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": jobs.command()}},
        {"name": "fail", "type": "genericgenerator",
         "parms": {"command": jobs.command("--exit", "3")}},
        {"name": "slow", "type": "genericgenerator",
         "parms": {"command": jobs.command("--sleep", f"{slow:g}")}},
    ])
    healthy(cook)
    expect(cook, {"ok": 2, "fail": 1, "slow": 1},
           {"ok": S.CookedSuccess, "fail": S.CookedFail, "slow": S.CookedSuccess})
    ran_once(cook)


def partition(ctx: Context) -> None:
    dynamic = {"generatewhen": "eachupstreamcooked", "command": jobs.command()}
    failing = jobs.command("--index", "@pdg_index", "--fail-index", "1", "--exit", "3")
    cook = ctx.cook([
        {"name": "a", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": jobs.command()}},
        {"name": "a_all", "type": "waitforall", "inputs": ["a"]},
        {"name": "a_after", "type": "genericgenerator", "inputs": ["a_all"], "parms": dynamic},
        {"name": "f", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": failing}},
        {"name": "f_all", "type": "waitforall", "inputs": ["f"]},
        {"name": "f_after", "type": "genericgenerator", "inputs": ["f_all"], "parms": dynamic},
    ])
    healthy(cook, errors_allowed=True)
    expect(cook, {"a": 2, "a_all": 1, "a_after": 1, "f": 2, "f_all": 1, "f_after": 0},
           {"a": S.CookedSuccess, "a_all": S.CookedSuccess, "a_after": S.CookedSuccess,
            "f": lambda i: S.CookedFail if i.index == 1 else S.CookedSuccess,
            "f_all": S.Uncooked})
    ran_once(cook)


RESULT_SCRIPT = '''\
import os
with open(os.path.join({folder!r}, "server_%d.txt" % work_item.index), "w") as handle:
    handle.write(os.environ.get("PDG_RESULT_SERVER", ""))  # what the kit's message names
path = os.path.join({folder!r}, "out_%d.txt" % work_item.index)
with open(path, "w") as handle:
    handle.write(work_item.name)
work_item.addOutputFile(path, "file/check")
work_item.setIntAttrib("checked", work_item.attribValue("wedgeindex") * 10)
'''


def results(ctx: Context) -> None:
    script = RESULT_SCRIPT.format(folder=str(ctx.folder))
    cook = ctx.cook([
        {"name": "w", "type": "wedge", "parms": {"wedgecount": 3}},
        {"name": "py", "type": "pythonscript", "inputs": ["w"], "parms": {"script": script}},
    ])
    try:
        healthy(cook)
        expect(cook, {"w": 3, "py": 3}, {"py": S.CookedSuccess})
    except Fail as failed:
        raise Fail(failed.reason + _no_server(ctx), failed.where) from None
    for item in cook.items("py"):
        index = item.attribValue("wedgeindex")
        if item.attribValue("checked") != index * 10:
            raise Fail(f"item {item.name} has checked={item.attribValue('checked')!r}; its job "
                       f"set {index * 10} (attributes reported through the result server "
                       f"must land on the item that reported them)")
        outputs = [o for o in item.outputFiles if o.tag == "file/check"]
        if len(outputs) != 1 or _text(outputs[0].path) != item.name:
            raise Fail(f"item {item.name} has outputs {[o.path for o in item.outputFiles]}; "
                       f"its job reported {ctx.folder / f'out_{item.index}.txt'}")


def _no_server(ctx: Context) -> str:
    """Why jobs could not report, when the scheduler kept the result server's address from
    them (its jobs wrote what they were given)."""
    given = [p.read_text() for p in ctx.folder.glob("server_*.txt")]
    if given and not any(given):
        return ("; its jobs had no $PDG_RESULT_SERVER, so they could not report: give jobs "
                "the PDG_* variables (addCommonJobEnvVars, or jobEnvironment), or "
                "workItemResultServerAddr() as PDG_RESULT_SERVER")
    return ""


def _text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def deferred(ctx: Context) -> None:
    cook = ctx.cook([{"name": "many", "type": "genericgenerator",
                      "parms": {"itemcount": 12, "command": jobs.command("--sleep", "0.05")}}])
    healthy(cook)
    expect(cook, {"many": 12}, {"many": S.CookedSuccess})
    ran_once(cook)
    answers = [v for name, _, v in cook.probe.calls if name == "onSchedule"]
    later = sum(v in (ScheduleResult.Deferred, ScheduleResult.FullDeferred) for v in answers)
    ctx.notes.append(f"{later} Deferred/FullDeferred answers" if later else "never deferred")


def static(ctx: Context) -> None:
    cook = ctx.cook([
        {"name": "a", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": jobs.command()}},
        {"name": "b", "type": "genericgenerator", "inputs": ["a"],
         "parms": {"command": jobs.command()}},
    ], static=True)
    healthy(cook)
    calls = cook.probe.called("onScheduleStatic")
    if len(calls) != 1:
        raise Fail(f"onScheduleStatic was called {len(calls)} times in a static cook")
    if len(calls[0][1][0]) != 4:
        raise Fail(f"onScheduleStatic got {len(calls[0][1][0])} items; the network has 4")
    expect(cook, {"a": 2, "b": 2}, {"a": S.CookedSuccess, "b": S.CookedSuccess})
    ran_once(cook)


def uris(ctx: Context) -> None:
    found: list[tuple] = []
    cook = ctx.cook([
        {"name": "ok", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": jobs.command()}},
        {"name": "fail", "type": "genericgenerator",
         "parms": {"command": jobs.command("--exit", "3")}},
    ], before_stop_cook=lambda cook, cancel: found.extend(read_uris(cook)))
    healthy(cook)
    for name, kind, uri, error in found:
        if error:
            raise Fail(f"the {kind} URI of {name} cannot be read: {uri}: {error}",
                       cook.probe.where("getLogURI" if kind == "log" else "getStatusURI"))
    kinds = {kind for _, kind, _, _ in found}
    missing = [k for k in ("log", "status") if k not in kinds]
    if missing:
        ctx.notes.append(f"no {' or '.join(missing)} URIs (\"\" is allowed)")


CORE = [
    Scenario("commands", "commands that succeed, fail and outlast several ticks", commands),
    Scenario("partition", "wait for all and a dynamic node below, also after a failure",
             partition),
    Scenario("results", "outputs and attributes a job reports land on its item", results),
    Scenario("deferred", "more items than slots: deferred items all cook, once", deferred),
    Scenario("static", "a static cook (onScheduleStatic)", static),
    Scenario("uris", "log and status URIs of every scheduled item readable", uris),
]
