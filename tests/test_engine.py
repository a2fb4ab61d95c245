"""The engine's scheduling logic, driven by scripted schedulers: no processes, no sockets."""

from __future__ import annotations

import os
import threading

import psutil
import pytest

from schedcore.engine import Engine
from schedcore.events import CookFinished, ItemAdded, ItemStateChanged
from schedcore.reports import Started, Succeeded
from schedcore.results import ScheduleResult, TickResult
from schedcore.schedulers import Scheduler
from schedcore.workitem import WorkItemState as S

from .conftest import make_network

R = ScheduleResult


class Scripted(Scheduler):
    """A scheduler whose onSchedule and onTick answers come from the test."""

    type_name = "scripted"

    def __init__(self, schedule=None, tick=None, **parms):
        super().__init__("scripted", {"pdg_tickperiod": 0.005, **parms})
        self.calls: list[tuple] = []
        self.schedule = schedule or (lambda sched, item: R.CookSucceeded)
        self.tick = tick or (lambda sched: TickResult.SchedulerReady)
        self.submitted: list = []

    def onStart(self):
        self.calls.append(("onStart",))
        return True

    def onStartCook(self, static, cook_set):
        self.calls.append(("onStartCook", static, list(cook_set)))
        return super().onStartCook(static, cook_set)

    def onSchedule(self, work_item):
        self.calls.append(("onSchedule", work_item.name))
        return self.schedule(self, work_item)

    def onScheduleStatic(self, dependencies, dependents, ready_items):
        self.calls.append(("onScheduleStatic", len(dependencies), len(dependents),
                           [i.name for i in ready_items]))

    def onTick(self):
        self.calls.append(("onTick",))
        return self.tick(self)

    def onStopCook(self, cancel):
        self.calls.append(("onStopCook", cancel))
        return True

    def onStop(self):
        self.calls.append(("onStop",))
        return True

    def names(self, callback):
        return [c[1] for c in self.calls if c[0] == callback]


def chain(tmp_path, count=3):
    """gen (count items) -> after (one per upstream item)."""
    return make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": count}},
        {"name": "after", "type": "genericgenerator", "inputs": ["gen"]},
    ])


def cook(net, scheduler, **kwargs):
    return Engine(net, scheduler=scheduler, **kwargs).run()


def test_cook_succeeded_in_onschedule_follows_the_pdg_order(tmp_path):
    sched = Scripted()
    result = cook(chain(tmp_path), sched)
    assert result.ok and result.counts == {"CookedSuccess": 6}
    kinds = [c[0] for c in sched.calls]
    assert kinds[:2] == ["onStart", "onStartCook"]
    assert sched.calls[1] == ("onStartCook", False, ["gen", "after"])
    assert kinds[-2:] == ["onStopCook", "onStop"] and sched.calls[-2] == ("onStopCook", False)
    assert sorted(sched.names("onSchedule")) == sorted(i.name for i in result.items)


def test_succeeded_items_report_later_from_another_thread(tmp_path):
    """Succeeded: the job reports start and success itself (here from a thread)."""
    def schedule(sched, item):
        def job():
            sched.workItemStartCook(item.id)
            sched.workItemSucceeded(item.name, -1, 0.25)  # by name, as 17.5 did
        threading.Thread(target=job).start()
        return R.Succeeded

    engine = Engine(chain(tmp_path), scheduler=Scripted(schedule))
    seen = []
    engine.events.subscribe(seen.append)
    result = engine.run()
    assert result.ok
    for item in result.items:
        changes = [(e.old, e.new) for e in seen
                   if isinstance(e, ItemStateChanged) and e.item is item]
        assert changes == [(S.Waiting, S.Scheduled), (S.Scheduled, S.Cooking),
                           (S.Cooking, S.CookedSuccess)]
        assert item.cook_duration == 0.25
    assert isinstance(seen[-1], CookFinished)
    added = [e.item.id for e in seen if isinstance(e, ItemAdded)]
    assert added == sorted(added) and len(added) == 6


@pytest.mark.parametrize("journal", [True, False])
def test_reports_posted_without_waking_are_read_in_order_and_soon(tmp_path, journal):
    """A scheduler may post reports that need not wake the engine at once (its queue of jobs
    is full); they are read in the order posted, and never wait for the next tick: with
    a tick every 60 s the cook still ends with no tick at all."""
    def schedule(sched, item):
        def job():
            sched.post_report(Started(item.id), wake=False)
            sched.post_report(Succeeded(item.id, 0.5), wake=False)
        threading.Timer(0.01, job).start()  # once the engine waits
        return R.Succeeded

    sched = Scripted(schedule, pdg_tickperiod=60)
    engine = Engine(chain(tmp_path), scheduler=sched, journal=journal)
    seen = []
    engine.events.subscribe(seen.append)
    result = engine.run()
    assert result.ok and result.counts == {"CookedSuccess": 6}
    assert sched.names("onTick") == []
    for item in result.items:
        changes = [(e.old, e.new) for e in seen
                   if isinstance(e, ItemStateChanged) and e.item is item]
        assert changes == [(S.Waiting, S.Scheduled), (S.Scheduled, S.Cooking),
                           (S.Cooking, S.CookedSuccess)]


def test_cook_failed_blocks_downstream_items_and_says_why(tmp_path):
    sched = Scripted(lambda s, item: R.CookFailed if item.name == "gen_2" else R.CookSucceeded)
    result = cook(chain(tmp_path), sched)
    assert not result.ok
    by_name = {i.name: i for i in result.items}
    assert by_name["gen_2"].state == S.CookedFail
    downstream = [i for i in result.items if i.dependencies == (by_name["gen_2"],)][0]
    assert downstream.state == S.Uncooked
    assert downstream.reason == "upstream item gen_2 failed"
    assert downstream.name not in sched.names("onSchedule")
    assert result.counts == {"CookedSuccess": 4, "CookedFail": 1, "Uncooked": 1}


def _fail_gen(sched, item):
    return R.CookFailed if item.node == "gen" else R.CookSucceeded


@pytest.mark.parametrize("below", [
    {"type": "genericgenerator"},
    {"type": "pythonscript"},
    {"type": "genericgenerator", "parms": {"generatewhen": "eachupstreamcooked"}},
    {"type": "filepattern", "parms": {"pattern": "*.none"}},
])
def test_every_failed_item_above_a_wait_for_all_ends_the_cook(tmp_path, below):
    """gen (both items fail) -> waitforall -> a node of each kind: the cook ends, the
    partition and what is below it Uncooked, each saying which upstream item stopped it."""
    net = make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}},
        {"name": "wait", "type": "waitforall", "inputs": ["gen"]},
        {"name": "below", "inputs": ["wait"], **below},
    ])
    sched = Scripted(_fail_gen)
    engine = Engine(net, scheduler=sched)
    engine.start()
    result = engine.wait(30)
    assert result is not None, "the cook did not end"
    states = {i.name: (i.state, i.reason) for i in result.items}
    assert states["gen_1"][0] == states["gen_2"][0] == S.CookedFail
    assert states["wait_3"] == (S.Uncooked, "upstream item gen_1 failed")
    below_items = [i for i in result.items if i.node == "below"]
    for item in below_items:  # a dynamic node makes none: nothing cooked above it
        assert (item.state, item.reason) == (S.Uncooked, "upstream item wait_3 did not run")
    assert sched.names("onStopCook") == [False]
    assert not result.ok and not result.errors


def test_a_failure_after_another_dependency_cooked_blocks_once(tmp_path):
    """The partition's first dependency succeeds, the second fails, a third succeeds late:
    the partition is blocked once, the late success changes nothing."""
    order = []

    def schedule(sched, item):
        order.append(item.name)
        return R.Succeeded

    net = make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 3}},
        {"name": "wait", "type": "waitforall", "inputs": ["gen"]},
    ])
    sched = Scripted(schedule)
    engine = Engine(net, scheduler=sched)
    engine.start()
    while len(order) < 3:
        threading.Event().wait(0.01)
    sched.workItemSucceeded(1, -1, 0.1)
    sched.workItemFailed(2)
    sched.workItemFailed(2)  # a duplicate report
    sched.workItemSucceeded(3, -1, 0.1)
    result = engine.wait(30)
    assert result is not None, "the cook did not end"
    assert result.counts == {"CookedSuccess": 2, "CookedFail": 1, "Uncooked": 1}
    assert not result.errors


def test_failed_and_canceled_results(tmp_path):
    answers = {"gen_1": R.Failed, "gen_2": R.CookCanceled, "gen_3": False}
    result = cook(chain(tmp_path), Scripted(lambda s, i: answers.get(i.name, True)))
    states = {i.name: (i.state, i.reason) for i in result.items}
    assert states["gen_1"] == (S.CookedFail, "scripted: onSchedule returned Failed")
    assert states["gen_2"][0] == S.CookedCancel
    assert states["gen_3"][0] == S.CookedFail
    assert all(i.state == S.Uncooked for i in result.items if i.node == "after")


def test_deferred_items_are_asked_again(tmp_path):
    asked: dict[str, int] = {}

    def schedule(sched, item):
        asked[item.name] = asked.get(item.name, 0) + 1
        return R.Deferred if asked[item.name] < 3 else R.CookSucceeded

    result = cook(chain(tmp_path, 2), Scripted(schedule))
    assert result.ok
    assert set(asked.values()) == {3}


def test_full_deferred_stops_scheduling_until_the_next_wake(tmp_path):
    """One slot: FullDeferred while it is taken; onTick finishes the running item."""
    running = []
    peak = [0]

    def schedule(sched, item):
        if running:
            return R.FullDeferred
        running.append(item)
        peak[0] = max(peak[0], len(running))
        return R.Succeeded

    def tick(sched):
        if running:
            sched.workItemSucceeded(running.pop().id)
        return TickResult.SchedulerReady

    sched = Scripted(schedule, tick)
    result = cook(chain(tmp_path, 4), sched)
    assert result.ok and peak[0] == 1
    full = list(sched.names("onSchedule"))
    assert len(full) > 8  # items were asked again after FullDeferred


def test_max_items_limits_onschedule_calls_between_ticks(tmp_path):
    sched = Scripted(pdg_maxitems=3)
    result = cook(chain(tmp_path, 10), sched)
    assert result.ok
    run = 0
    for call in sched.calls:
        if call[0] == "onSchedule":
            run += 1
            assert run <= 3
        elif call[0] == "onTick":
            run = 0


@pytest.mark.parametrize("journal", [False, True])
def test_max_items_paces_without_waiting_for_the_tick_period(tmp_path, journal):
    """pdg_maxitems paces onSchedule, it does not cap throughput: when the budget ran out and
    items are ready the next tick comes at once, never after pdg_tickperiod (an hour here)."""
    sched = Scripted(pdg_maxitems=5, pdg_tickperiod=3600)
    engine = Engine(chain(tmp_path, 200), scheduler=sched, journal=journal)
    waits = []
    wakeups = engine._wakeups

    class Counted:  # the engine's waits for a message or its next tick, counted
        get_nowait, put = wakeups.get_nowait, wakeups.put

        def get(self, timeout=None):
            waits.append(timeout)
            return wakeups.get(timeout=timeout)

    engine._wakeups = Counted()
    engine.start()
    result = engine.wait(30)
    if result is None:  # it waited for a tick: end it, then fail
        engine.cancel()
        engine.wait(30)
    assert result is not None and result.ok, "the cook waited for the tick period"
    assert len(list(sched.names("onSchedule"))) == 400
    assert waits == []  # every item cooks in onSchedule: nothing to wait for
    run = 0
    for call in sched.calls:  # and the limit still holds between ticks
        if call[0] == "onSchedule":
            run += 1
            assert run <= 5
        elif call[0] == "onTick":
            run = 0


def test_scheduler_busy_holds_onschedule_until_a_tick_says_ready(tmp_path):
    ticks = []

    def tick(sched):
        ticks.append(1)
        return TickResult.SchedulerBusy if len(ticks) <= 3 else TickResult.SchedulerReady

    def schedule(sched, item):  # wait for the first tick, then cook at once
        return R.CookSucceeded if ticks else R.FullDeferred

    sched = Scripted(schedule, tick)
    assert cook(chain(tmp_path, 2), sched).ok
    calls = [c[0] for c in sched.calls]
    tick_at = [i for i, c in enumerate(calls) if c == "onTick"]
    assert "onSchedule" not in calls[tick_at[0]:tick_at[3]]  # busy: nothing scheduled
    assert "onSchedule" in calls[tick_at[3]:]


def test_scheduler_cancel_cook_from_ontick(tmp_path):
    sched = Scripted(lambda s, item: R.Succeeded,
                     lambda s: TickResult.SchedulerCancelCook)
    result = cook(chain(tmp_path), sched)
    assert result.canceled and not result.ok
    assert ("onStopCook", True) in sched.calls
    assert {i.state for i in result.items} == {S.CookedCancel}


def test_cancel_from_another_thread(tmp_path):
    scheduled = threading.Event()

    def schedule(sched, item):
        scheduled.set()
        return R.Succeeded  # and never reports: only a cancel ends this cook

    engine = Engine(chain(tmp_path), scheduler=Scripted(schedule))
    thread = engine.start()
    assert scheduled.wait(10)
    engine.cancel()
    result = engine.wait(10)
    assert not thread.is_alive()
    assert result.canceled
    assert {i.state for i in result.items} == {S.CookedCancel}
    assert all(i.reason for i in result.items)


def test_exception_in_onschedule_fails_the_item_with_its_traceback(tmp_path):
    def schedule(sched, item):
        if item.name == "gen_1":
            raise ValueError("no farm today")
        return R.CookSucceeded

    result = cook(chain(tmp_path), Scripted(schedule))
    failed = result.failed
    assert [i.name for i in failed] == ["gen_1"]
    assert "scripted: onSchedule raised" in failed[0].reason
    assert "ValueError: no farm today" in failed[0].reason
    assert "in schedule" in failed[0].reason  # the user's own function is in the traceback
    assert result.counts["CookedSuccess"] == 4


def test_return_value_outside_the_allowed_ones(tmp_path):
    result = cook(chain(tmp_path, 1), Scripted(lambda s, i: "yes"))
    reason = result.failed[0].reason
    assert "onSchedule returned 'yes'; allowed: pdg.scheduleResult.CookCanceled" in reason
    assert "True, False or None" in reason


def test_onstartcook_false_or_raising_fails_the_cook_cleanly(tmp_path):
    class NoStart(Scripted):
        def onStartCook(self, static, cook_set):
            super().onStartCook(static, cook_set)
            raise RuntimeError("license server down")

    sched = NoStart()
    result = cook(chain(tmp_path), sched)
    assert not result.ok
    assert "onStartCook raised" in result.errors[0]
    assert "RuntimeError: license server down" in result.errors[0]
    assert sched.names("onSchedule") == []
    assert ("onStopCook", True) in sched.calls


def test_ontick_raising_stops_the_cook_with_the_traceback(tmp_path):
    def tick(sched):
        raise KeyError("broken tick")

    result = cook(chain(tmp_path), Scripted(lambda s, i: R.Succeeded, tick))
    assert not result.ok
    assert any("onTick raised" in e and "KeyError: 'broken tick'" in e for e in result.errors)


def test_priority_orders_ready_items(tmp_path):
    net = make_network(tmp_path, [
        {"name": "low", "type": "genericgenerator", "parms": {"itemcount": 2}},
        {"name": "high", "type": "genericgenerator", "parms": {"itemcount": 2, "priority": 5}},
    ])
    sched = Scripted()
    cook(net, sched)
    assert sched.names("onSchedule")[:2] == ["high_3", "high_4"]


def test_static_cook_gives_the_whole_graph(tmp_path):
    sched = Scripted()
    result = cook(chain(tmp_path), sched, static=True)
    assert result.ok
    static = [c for c in sched.calls if c[0] == "onScheduleStatic"]
    assert static == [("onScheduleStatic", 6, 6, ["gen_1", "gen_2", "gen_3"])]
    assert sched.calls.index(static[0]) < sched.calls.index(("onSchedule", "gen_1"))
    assert sched.calls[1] == ("onStartCook", True, ["gen", "after"])


def test_dynamic_generation_makes_items_as_upstream_items_cook(tmp_path):
    net = make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 3}},
        {"name": "dyn", "type": "wedge", "inputs": ["gen"],
         "parms": {"wedgecount": 2, "generatewhen": "eachupstreamcooked"}},
        {"name": "all", "type": "waitforall", "inputs": ["dyn"]},
    ])
    engine = Engine(net, scheduler=Scripted(
        lambda s, i: R.CookFailed if i.name == "gen_2" else R.CookSucceeded))
    order = []
    engine.events.subscribe(lambda e: order.append(e.item.name)
                            if isinstance(e, ItemAdded) else None)
    result = engine.run()
    # dyn items appear only after their upstream item cooked: never before gen_3 exists
    assert order[:3] == ["gen_1", "gen_2", "gen_3"]
    dyn = [i for i in result.items if i.node == "dyn"]
    assert len(dyn) == 4  # none from the failed gen_2
    assert any("no items made from gen_2, which failed" in w for w in result.warnings)
    # the Wait for All stands for every item of dyn, and those of gen_2 never came: as in a
    # static cook (where it depends on them), it does not run, and names what failed
    partition = [i for i in result.items if i.node == "all"][0]
    assert partition.state == S.Uncooked
    assert partition.reason == "upstream item gen_2 failed"
    assert partition.attribValue("partitionsize") == 4


def test_cook_up_to_a_node(tmp_path):
    result = Engine(chain(tmp_path), upto="gen", scheduler=Scripted()).run()
    assert {i.node for i in result.items} == {"gen"}


def test_reports_for_unknown_items_are_ignored_with_a_warning(tmp_path):
    def schedule(sched, item):
        sched.workItemSucceeded(9999)
        sched.workItemSucceeded("nonsense")
        return R.CookSucceeded

    result = cook(chain(tmp_path, 1), Scripted(schedule))
    assert all(i.state == S.CookedSuccess for i in result.items)
    assert "success report for unknown work item 9999 ignored" in result.warnings
    assert "success report for unknown work item 'nonsense' ignored" in result.warnings


def test_a_raising_subscriber_does_not_stop_the_cook(tmp_path):
    engine = Engine(chain(tmp_path), scheduler=Scripted())

    def broken(event):
        raise RuntimeError("subscriber bug")

    engine.events.subscribe(broken)
    assert engine.run().ok
    assert broken not in engine.events.subscribers


def test_a_subscriber_that_exits_does_not_leave_a_cook_without_end(tmp_path):
    """rich raises SystemExit when its reader went away (`| head`): the engine's thread went
    with it, and the cook never ended (SIGTERM neither)."""
    engine = Engine(chain(tmp_path), scheduler=Scripted())

    def exits(event):
        raise SystemExit(1)

    engine.events.subscribe(exits)
    engine.start()
    result = engine.wait(60)
    assert result is not None and result.ok and exits not in engine.events.subscribers


def test_an_interrupt_on_the_cooks_thread_still_ends_the_cook_and_its_jobs(tmp_path):
    """Ctrl-C in a cook run on the main thread: the cook ends (its jobs killed, its items
    canceled, whoever waits told) before the KeyboardInterrupt goes on."""
    net = make_network(tmp_path, [{"name": "long", "type": "genericgenerator",
                                   "parms": {"itemcount": 2, "command": "sleep 60"}}])
    engine = Engine(net)
    started: list[int] = []

    def interrupt(event):
        if isinstance(event, ItemStateChanged) and event.new == S.Cooking:
            started.append(event.item.id)
            if len(started) == 2:
                raise KeyboardInterrupt

    engine.events.subscribe(interrupt)
    with pytest.raises(KeyboardInterrupt):
        engine.run()
    assert engine.wait(0) is engine.result
    assert {i.state for i in engine.result.items} == {S.CookedCancel}
    assert not [p for p in psutil.process_iter(["name", "ppid"])
                if p.info["name"] == "sleep" and p.info["ppid"] == os.getpid()]
    assert "it was interrupted (KeyboardInterrupt)" in engine.result.errors[0]


def test_a_tick_period_set_in_onstartcook_is_used(tmp_path):
    """Houdini's farm schedulers set pdg_tickperiod in onStartCook; jobs here report only from
    onTick, so the cook ends only if the new period is used (the first is 1,000 s)."""
    class Polling(Scripted):
        def onStartCook(self, static, cook_set):
            self["pdg_tickperiod"] = 0.01
            self.running = []
            return super().onStartCook(static, cook_set)

        def onSchedule(self, work_item):
            self.running.append(work_item.id)
            return R.Succeeded

        def onTick(self):
            for item_id in self.running:
                self.workItemSucceeded(item_id, -1, 0.0)
            self.running = []
            return TickResult.SchedulerReady

    engine = Engine(chain(tmp_path, 2), scheduler=Polling(pdg_tickperiod=1000))
    engine.start()
    result = engine.wait(30)
    if result is None:
        engine.cancel()
        engine.wait()
    assert result is not None and result.ok


def test_a_generator_followed_by_599_wait_for_all_nodes_cooks(tmp_path):
    """Each Wait for All cooks in the engine as the one above it ends: a long run of them is
    a loop, not a recursion (before: "internal error of the engine", a RecursionError)."""
    nodes = [{"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}}]
    nodes += [{"name": f"wait{n}", "type": "waitforall",
               "inputs": [nodes[-1]["name"] if n == 1 else f"wait{n - 1}"]}
              for n in range(1, 600)]
    result = cook(make_network(tmp_path, nodes), Scripted())
    assert not result.errors
    assert result.ok and result.counts == {"CookedSuccess": 601}


def test_a_failure_above_a_chain_of_1100_nodes_blocks_it_all(tmp_path):
    nodes = [{"name": "top", "type": "genericgenerator", "parms": {"command": "false"}}]
    nodes += [{"name": f"n{n}", "type": "genericgenerator",
               "inputs": ["top" if n == 1 else f"n{n - 1}"]} for n in range(1, 1101)]
    sched = Scripted(lambda s, item: R.CookFailed if item.node == "top" else R.CookSucceeded)
    result = cook(make_network(tmp_path, nodes), sched)
    assert not result.errors
    assert result.counts == {"CookedFail": 1, "Uncooked": 1100}
    by_node = {i.node: i for i in result.items}
    assert by_node["n1"].reason == f"upstream item {by_node['top'].name} failed"
    assert by_node["n1100"].reason == f"upstream item {by_node['n1099'].name} did not run"
    assert sched.names("onSchedule") == [by_node["top"].name]


def test_a_chain_of_1100_dynamic_nodes_cooks(tmp_path):
    """Items made as the one above cooks, each cooked in onSchedule: no recursion either."""
    nodes = [{"name": "top", "type": "genericgenerator"}]
    nodes += [{"name": f"n{n}", "type": "genericgenerator",
               "parms": {"generatewhen": "eachupstreamcooked"},
               "inputs": ["top" if n == 1 else f"n{n - 1}"]} for n in range(1, 1101)]
    result = cook(make_network(tmp_path, nodes), Scripted())
    assert not result.errors
    assert result.ok and result.counts == {"CookedSuccess": 1101}


def test_a_wait_for_all_made_from_no_items_below_a_failure_does_not_run(tmp_path):
    """gen (both items fail) -> dyn (dynamic: makes no items) -> wait -> after: the
    partition has nothing to wait for, yet it is below a failure; it and what is below it
    stay Uncooked, as in a static cook (before: wait and after cooked)."""
    net = make_network(tmp_path, [
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}},
        {"name": "dyn", "type": "genericgenerator", "inputs": ["gen"],
         "parms": {"generatewhen": "eachupstreamcooked"}},
        {"name": "wait", "type": "waitforall", "inputs": ["dyn"]},
        {"name": "after", "type": "genericgenerator", "inputs": ["wait"]},
    ])
    sched = Scripted(_fail_gen)
    result = cook(net, sched)
    states = {i.node: (i.state, i.reason) for i in result.items}
    assert states["wait"] == (S.Uncooked, "upstream item gen_1 failed")
    assert states["after"][0] == S.Uncooked
    assert "after" not in {n.split("_")[0] for n in sched.names("onSchedule")}
    assert not result.ok
